#!/bin/bash
# edge-expiry: a UDP binding disappears after its timeout.
# natd runs with conf/natd-edge-test.conf but timeouts.udp = 3 (below the
# RFC 4787 minimum: natd accepts it with a warning).
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd

UDP_TIMEOUT=3
conf=$IT_OUT/natd-expiry.conf
sed -E "s/^([[:space:]]*udp[[:space:]]*=[[:space:]]*)[0-9]+;/\1$UDP_TIMEOUT;/" \
	"$NT_ROOT/conf/natd-edge-test.conf" >"$conf"
if ! grep -Eq "^[[:space:]]*udp[[:space:]]*=[[:space:]]*$UDP_TIMEOUT;" "$conf"; then
	it_fail expiry_config "could not set timeouts.udp in $conf"
	exit 1
fi
it_topo_up edge "$conf"

if grep -qi 'warn' "$IT_NATD_LOG" && grep -qi 'udp' "$IT_NATD_LOG"; then
	it_info "natd warned about the short udp timeout: $(grep -i -m1 'udp' "$IT_NATD_LOG")"
fi

# 0. an operator watching: `natctl watch` announces dynamic bindings too.
# Ready once it reports the refresh of a sentinel managed binding.
CTL=$(it_ctl_socket)
it_natctl w-sentinel -- bind --dir term --in-realm inside --ext-realm outside \
	--endpoint 10.1.0.10:6498 --lifetime 600 >/dev/null 2>&1
SENT_ID=$(grep -o '^id=[0-9]*\|\bid [0-9]*\|"id":[0-9]*' "$IT_OUT/w-sentinel.out" | grep -o '[0-9]*' | head -n1)
timeout 40 "$NT_NATCTL" -s "$CTL" --json watch --events created,refreshed,expired --timeout 35 \
	>"$IT_OUT/watch.out" 2>"$IT_OUT/watch.err" &
IT_PIDS+=("$!")
watch_ready() {
	it_natctl w-poke -- refresh "$SENT_ID" --lifetime 600 >/dev/null 2>&1
	grep -q "\"event\":\"refreshed\",\"id\":$SENT_ID," "$IT_OUT/watch.out" 2>/dev/null
}
[[ -n $SENT_ID ]] && nt_poll 5 watch_ready || it_log "natctl watch not confirmed ready (sentinel '$SENT_ID')"

# 1. a UDP exchange creates a binding
it_server phA a-echo1 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 6 || true
it_nt phB b-send1 udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4500 --timeout 3
it_wait a-echo1 4
ext=$(kv "$IT_OUT/b-send1.out" seen_as)
if [[ -z $ext ]] || ! in_pool "$ext"; then
	it_fail expiry_setup "the first UDP exchange failed (seen_as='$ext')"
	exit 1
fi
it_info "phB 10.1.0.10:4500 mapped to $ext"
it_stats
created0=$(stat bindings_created)
bindings0=$(stat bindings)
expired0=$(stat bindings_expired)
nobind0=$(stat dropped_no_binding)
if [[ -n $created0 && $created0 -ge 1 && $(stat bindings) -ge 1 ]]; then
	it_pass binding_created
else
	it_fail binding_created "stats after the exchange: bindings=$(stat bindings) bindings_created=$created0"
fi

# 2. before expiry the mapping accepts inbound packets (from the same remote)
it_server phB b-listen1 udp-echo --bind 10.1.0.10:4500 --count 1 --timeout 3 --no-reply || true
it_nt phA a-probe1 udp-send --to "$ext" --bind 203.0.113.10:7000 --timeout 0.5 --payload before-expiry
it_wait b-listen1 4
if [[ $(kv "$IT_OUT/b-listen1.out" received) == 1 ]]; then
	it_pass mapping_open_before_expiry
else
	it_fail mapping_open_before_expiry "phA -> $ext was not delivered to 10.1.0.10:4500 before the timeout"
fi

# 3. wait (bounded) for natd to report the binding expired
expired_ok=0
deadline=$((SECONDS + UDP_TIMEOUT + 12))
while ((SECONDS < deadline)); do
	if it_stats && [[ $(stat bindings_expired) -gt ${expired0:-0} ]]; then
		expired_ok=1
		break
	fi
	sleep 0.5
done
if ((expired_ok)); then
	it_pass binding_expired_counter
	it_info "after expiry: bindings=$(stat bindings) (was $bindings0) bindings_expired=$(stat bindings_expired)"
	if [[ -n $bindings0 && $(stat bindings) -lt $bindings0 ]]; then
		it_pass bindings_gauge_decreased
	else
		it_fail bindings_gauge_decreased "bindings=$(stat bindings) after expiry, $bindings0 before"
	fi
else
	it_fail binding_expired_counter "bindings_expired stayed at '$(stat bindings_expired)' (was ${expired0:-?}) for $((UDP_TIMEOUT + 12))s"
fi

# 3b. the watcher saw the dynamic binding come and go
watch_saw() { grep -q "\"event\":\"$1\".*\"alloc\":\"$ext\".*\"owner\":\"dynamic\"" "$IT_OUT/watch.out"; }
if nt_poll 3 watch_saw created; then
	it_pass watch_dynamic_created
else
	it_fail watch_dynamic_created "natctl watch showed no created event for $ext (owner dynamic): $(head -c 400 "$IT_OUT/watch.out")"
fi
if nt_poll 3 watch_saw expired; then
	it_pass watch_dynamic_expired
else
	it_fail watch_dynamic_expired "natctl watch showed no expired event for $ext: $(grep -c . "$IT_OUT/watch.out") lines"
fi

# 4. after expiry the old external address:port delivers nothing
it_server phB b-listen2 udp-echo --bind 10.1.0.10:4500 --count 1 --timeout 2 --no-reply || true
it_nt phA a-probe2 udp-send --to "$ext" --bind 203.0.113.10:7000 --timeout 0.5 --payload after-expiry
it_wait b-listen2 4
if [[ $(kv "$IT_OUT/b-listen2.out" received) == 0 ]]; then
	it_pass expired_mapping_not_delivered
else
	it_fail expired_mapping_not_delivered "phA -> $ext still reached 10.1.0.10:4500 after expiry"
fi
if it_stats && [[ $(stat dropped_no_binding) -gt ${nobind0:-0} ]]; then
	it_pass expired_mapping_counted_as_no_binding
else
	it_fail expired_mapping_counted_as_no_binding "dropped_no_binding '$(stat dropped_no_binding)' (was ${nobind0:-?})"
fi

# 5. a new exchange still works
it_server phA a-echo2 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 6 || true
it_nt phB b-send2 udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4500 --timeout 3
it_wait a-echo2 4
if [[ -n $(kv "$IT_OUT/b-send2.out" seen_as) ]] && in_pool "$(kv "$IT_OUT/b-send2.out" seen_as)"; then
	it_pass new_binding_after_expiry
else
	it_fail new_binding_after_expiry "$(tr '\n' ' ' <"$IT_OUT/b-send2.out")"
fi
it_done
