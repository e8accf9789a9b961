#!/bin/bash
# edge-malformed: natd survives a stream of crafted hostile packets (valid
# IPv4 headers, hostile payloads: bad UDP lengths, cut TCP headers, bad data
# offsets, ICMP errors quoting garbage, unknown ICMP types, orphan and tiny
# fragments, IP options, unknown protocols...), keeps its existing bindings,
# still translates, and counts what it dropped.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
it_topo_up edge

COUNT_IN=${IT_MALFORMED_COUNT:-600}    # from phB (inside), towards phA and the pool
COUNT_OUT=${IT_MALFORMED_COUNT_OUT:-300}  # from phA (outside), towards the pool

# a mapping made before the flood
it_server phA a-echo0 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 6 || true
it_nt phB b-before udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4600 --timeout 3
it_wait a-echo0 4
ext0=$(kv "$IT_OUT/b-before.out" seen_as)
if [[ -z $ext0 ]] || ! in_pool "$ext0"; then
	it_fail malformed_setup "UDP exchange before the flood failed (seen_as='$ext0')"
	exit 1
fi
it_info "mapping before the flood: 10.1.0.10:4600 -> $ext0"
it_stats
before=$IT_STATS

# the flood (bounded in count and time)
it_nt phB b-flood malformed --to "203.0.113.10,198.51.100.1,${ext0%:*}" --count "$COUNT_IN" --pps 3000 --timeout 20 --seed 7 -v
rc_in=$?
it_nt phA a-flood malformed --to "198.51.100.1,${ext0%:*}" --count "$COUNT_OUT" --pps 3000 --timeout 20 --seed 11 -v
rc_out=$?
# aimed at live state: the existing mapping's port, the static forwards
it_nt phA a-flood-map malformed --to "${ext0%:*}" --port "${ext0##*:}" --count 120 --pps 3000 --timeout 20 --seed 13
it_nt phA a-flood-fwd malformed --to 198.51.100.1 --port 5060 --count 80 --pps 3000 --timeout 20 --seed 17
it_nt phB b-flood-fwd malformed --to 203.0.113.10 --src 10.1.0.10 --port 8080 --count 80 --pps 3000 --timeout 20 --seed 19
sent_in=$(( $(kv "$IT_OUT/b-flood.out" sent) + $(kv "$IT_OUT/b-flood-fwd.out" sent) ))
sent_out=$(( $(kv "$IT_OUT/a-flood.out" sent) + $(kv "$IT_OUT/a-flood-map.out" sent) + $(kv "$IT_OUT/a-flood-fwd.out" sent) ))
if [[ $rc_in == 0 && $rc_out == 0 ]]; then
	it_info "sent $sent_in hostile packets from phB and $sent_out from phA ($(kv "$IT_OUT/b-flood.out" kinds) kinds; some aimed at the live mapping and the forwards)"
else
	it_fail malformed_sent "nettool malformed failed (rc $rc_in/$rc_out): $(tail -n 2 "$IT_OUT/b-flood.out" "$IT_OUT/a-flood.out" | tr '\n' ' ')"
fi

# natd must still be there; let it drain its queue (bounded poll on rx_packets)
if it_natd_alive; then
	it_pass natd_survived_malformed
else
	it_fail natd_survived_malformed "natd (pid $IT_NATD_PID) died; last log lines: $(tail -n 3 "$IT_NATD_LOG" | tr '\n' ' ')"
	exit 1
fi
prev=
for _ in $(seq 20); do
	it_stats || break
	[[ $(stat rx_packets) == "$prev" ]] && break
	prev=$(stat rx_packets)
	sleep 0.2
done
after=$IT_STATS

# a fresh exchange works
it_server phA a-echo1 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 6 || true
it_nt phB b-after-new udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4601 --timeout 3
it_wait a-echo1 4
s=$(kv "$IT_OUT/b-after-new.out" seen_as)
if [[ -n $s ]] && in_pool "$s" && [[ $(kv "$IT_OUT/b-after-new.out" reply_from) == 203.0.113.10:7000 ]]; then
	it_pass udp_after_malformed
else
	it_fail udp_after_malformed "new UDP exchange after the flood: $(tr '\n' ' ' <"$IT_OUT/b-after-new.out")"
fi

# the mapping made before the flood is unchanged
it_server phA a-echo2 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 6 || true
it_nt phB b-after-old udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4600 --timeout 3
it_wait a-echo2 4
s=$(kv "$IT_OUT/b-after-old.out" seen_as)
if [[ $s == "$ext0" ]]; then
	it_pass existing_mapping_kept
else
	it_fail existing_mapping_kept "10.1.0.10:4600 now seen as '$s', before the flood $ext0"
fi

# drop counters went up, by reason
if [[ -n $before && -n $after ]]; then
	d0=$(stat dropped "$before")
	d1=$(stat dropped "$after")
	rx=$(( $(stat rx_packets "$after") - $(stat rx_packets "$before") ))
	changed=()
	for k in $(grep -o 'dropped_[a-z0-9_]*=' <<<"$after" | tr -d '='); do
		a=$(stat "$k" "$before")
		b=$(stat "$k" "$after")
		if [[ -n $a && -n $b && $b -gt $a ]]; then changed+=("$k+$((b - a))"); fi
	done
	it_info "natd received $rx packets during the flood; dropped $((d1 - d0)): ${changed[*]}"
	if [[ $((d1 - d0)) -ge $(( (${sent_in:-0} + ${sent_out:-0}) / 4 )) && ${#changed[@]} -ge 4 ]]; then
		it_pass drop_counters_increased
	else
		it_fail drop_counters_increased "dropped went from $d0 to $d1 (${#changed[@]} reasons: ${changed[*]}) for $((sent_in + sent_out)) hostile packets"
	fi
	for k in dropped_udp_len dropped_l4_short dropped_icmp_quote dropped_icmp_type dropped_proto; do
		a=$(stat "$k" "$before"); b=$(stat "$k" "$after")
		if [[ -z $b ]]; then
			it_fail "counter_$k" "natd's stats line has no $k"
		elif [[ $b -gt ${a:-0} ]]; then
			it_pass "counter_$k"
		else
			it_fail "counter_$k" "$k did not increase ($a -> $b)"
		fi
	done
else
	it_fail drop_counters_increased "no stats line from natd (SIGUSR1)"
fi
if it_natd_alive; then it_pass natd_alive_at_end; else it_fail natd_alive_at_end "natd exited"; fi
it_done
