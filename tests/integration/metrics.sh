#!/bin/bash
# metrics: the Prometheus endpoints of natd and sipproxy (metrics.listen),
# on the "edge" topology (natd and sipproxy in the edge namespace; phA
# 203.0.113.10 outside, phB 10.1.0.10 inside), scraped with curl from the
# edge namespace's loopback.
#
#   metrics_off_by_default   the shipped conf/natd.conf and conf/sipproxy.conf
#                            check (-n) and leave metrics.listen commented
#                            out; a sipproxy without it listens on no TCP
#                            port but its SIP ones
#   metrics_*_reload_refused a SIGHUP whose file changes metrics.listen is
#                            refused ("needs a restart"), the process lives
#   metrics_natd_packets     after 5 UDP exchanges phB -> phA through natd,
#                            packets_total{direction="rx"} grew by >= 10 and
#                            translated_total{direction="out"} by >= 5
#   metrics_natd_control     natd counted the proxy's BINDs by type/status
#   metrics_sip_*            after a registration and a call through the
#                            proxy: responses_total{class="2xx"} >= 1,
#                            registrations >= 1, the BIND round-trip
#                            histogram's count >= 1 and its +Inf bucket equal
#                            to it
#   metrics_*_format         every sample belongs to a family with # TYPE,
#                            counters end in _total, no family twice
#   metrics_*_404 / _405     another path: 404; POST: 405
#   metrics_conn_cap         16 idle connections fill natd's endpoint: a 17th
#                            is not served, natctl (same loop) still answers
#                            within 1 s, and after evhttp's 5 s timeout the
#                            endpoint serves again
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require
command -v curl >/dev/null || it_skip_all "curl not installed (Debian package curl)"

NATD_M=127.0.0.1:9201
SP_M=127.0.0.1:9202

# ------------------------------------------------ off by default (shipped files)
off=ok
for f in natd sipproxy; do
	bin=$NT_NATD
	[[ $f == sipproxy ]] && bin=$SIP_PROXY
	if ! "$bin" -n -c "$NT_ROOT/conf/$f.conf" >"$IT_OUT/check-$f.out" 2>&1; then
		off="$f -n rejects conf/$f.conf: $(tr '\n' ' ' <"$IT_OUT/check-$f.out")"
	elif grep -Eq '^[[:space:]]*listen[[:space:]]*=[[:space:]]*"[0-9[]' <(sed -n '/^metrics:/,/^};/p' "$NT_ROOT/conf/$f.conf"); then
		off="conf/$f.conf turns metrics on"
	fi
done

# ------------------------------------------------ natd with metrics on
CONF=$IT_OUT/natd-metrics.conf
{
	cat "$NT_ROOT/conf/natd-edge-test.conf"
	printf '\nmetrics: { listen = "%s"; };\n' "$NATD_M"
} >"$CONF"
it_topo_up edge "$CONF"
CTL=$(it_ctl_socket)
nt_poll 5 test -S "$CTL" || { it_fail metrics_control_socket "no socket at $CTL"; exit 1; }
EDGE=$(it_ns edge)

# scrape NAME ADDR: GET /metrics into $IT_OUT/NAME.prom; 0 on HTTP 200.
scrape() {
	local code
	code=$(ip netns exec "$EDGE" curl -s --max-time 3 -o "$IT_OUT/$1.prom" -w '%{http_code}' "http://$2/metrics")
	[[ $code == 200 ]]
}
# val FILE METRIC [LABELS]: the value of one sample ("" if absent).
val() {
	local m=$2
	[[ -n ${3:-} ]] && m="$m{$3}"
	awk -v m="$m" '$1 == m { print $2; exit }' "$1"
}
# code ADDR PATH [CURL ARGS]: the HTTP status.
code() {
	local a=$1 p=$2
	shift 2
	ip netns exec "$EDGE" curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$@" "http://$a$p"
}
# fmt_check NAME FILE: the exposition is well-formed (see the header).
fmt_check() {
	local why
	why=$(awk '
		/^# TYPE / { if ($3 in type) { print "family " $3 " twice"; exit }
			     type[$3] = $4; if ($4 == "counter" && $3 !~ /_total$/) { print "counter " $3 " without _total"; exit }
			     next }
		/^# HELP / || /^$/ { next }
		{ name = $1; sub(/\{.*/, "", name); fam = name
		  if (!(fam in type)) { sub(/_(bucket|sum|count)$/, "", fam) }
		  if (!(fam in type)) { print "sample " name " has no # TYPE"; exit }
		  if ($2 !~ /^[0-9.e+-]+$/) { print "sample " $1 " value " $2; exit }
		  n++ }
		END { if (!n) print "no samples" }' "$2")
	if [[ -z $why ]]; then it_pass "$1"; else it_fail "$1" "$why"; fi
}

scrape natd0 "$NATD_M" || { it_fail metrics_natd_serves "no 200 from http://$NATD_M/metrics"; exit 1; }
it_pass metrics_natd_serves
fmt_check metrics_natd_format "$IT_OUT/natd0.prom"
rx0=$(val "$IT_OUT/natd0.prom" natedge_natd_packets_total 'direction="rx"')
out0=$(val "$IT_OUT/natd0.prom" natedge_natd_translated_total 'direction="out"')

# five UDP exchanges phB -> phA (each: one datagram out, its echo back in)
it_server phA s-echo udp-echo --bind 203.0.113.10:7000 --count 5 --timeout 15 || it_fail metrics_echo_server "not ready"
for i in 1 2 3 4 5; do
	it_nt phB "c-udp-$i" udp-send --to 203.0.113.10:7000 --bind "10.1.0.10:$((41000 + i))" --timeout 2 --payload "m$i"
done
it_wait s-echo 5
scrape natd1 "$NATD_M"
rx1=$(val "$IT_OUT/natd1.prom" natedge_natd_packets_total 'direction="rx"')
out1=$(val "$IT_OUT/natd1.prom" natedge_natd_translated_total 'direction="out"')
it_check metrics_natd_packets "packets_total{direction=rx} $rx0 -> $rx1, translated_total{direction=out} $out0 -> $out1" \
	test $((${rx1:-0} - ${rx0:-0})) -ge 10 -a $((${out1:-0} - ${out0:-0})) -ge 5
it_check metrics_natd_404 "GET /other: $(code $NATD_M /other)" test "$(code $NATD_M /other)" = 404
it_check metrics_natd_405 "POST /metrics: $(code $NATD_M /metrics -X POST)" test "$(code $NATD_M /metrics -X POST)" = 405

# natd: a reload that changes metrics.listen is refused
sed "s/$NATD_M/127.0.0.1:9299/" "$CONF" >"$IT_OUT/natd-metrics2.conf"
cp "$CONF" "$IT_OUT/natd-metrics.conf.orig"
cp "$IT_OUT/natd-metrics2.conf" "$CONF"
kill -HUP "$IT_NATD_PID"
if nt_poll 5 grep -q "reload refused: 'metrics.listen' changed" "$IT_NATD_LOG" && it_natd_alive && scrape natd2 "$NATD_M"; then
	it_pass metrics_natd_reload_refused
else
	it_fail metrics_natd_reload_refused "no refusal naming metrics.listen in $IT_NATD_LOG, or natd stopped serving"
fi
cp "$IT_OUT/natd-metrics.conf.orig" "$CONF"

# ------------------------------------------------ sipproxy: off by default, then on
sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1
pid=$(sip_proxy_pid proxy)
if [[ $off == ok ]]; then
	extra=$(ip netns exec "$EDGE" ss -Hltnp | grep "pid=$pid," | awk '{print $4}' | grep -v ':5060$' | tr '\n' ' ')
	[[ -n $extra ]] && off="sipproxy without metrics.listen listens on TCP $extra"
fi
if [[ $off == ok ]]; then it_pass metrics_off_by_default; else it_fail metrics_off_by_default "$off"; fi

# SIGHUP with metrics.listen added: refused, the proxy keeps running
cp "$IT_OUT/proxy.conf" "$IT_OUT/proxy-plain.conf"
printf '\nmetrics: { listen = "%s"; };\n' "$SP_M" >>"$IT_OUT/proxy.conf"
kill -HUP "$pid"
if nt_poll 5 grep -q "reload refused: 'metrics.listen' changed" "$IT_OUT/proxy.log" && nt_pid_alive "$pid"; then
	it_pass metrics_sipproxy_reload_refused
else
	it_fail metrics_sipproxy_reload_refused "no refusal naming metrics.listen in proxy.log"
fi
kill -TERM "$pid"
nt_poll 5 nt_pid_gone "$pid"
sip_proxy_start proxym edge "$IT_OUT/proxy.conf" || exit 1

scrape sp0 "$SP_M" || { it_fail metrics_sipproxy_serves "no 200 from http://$SP_M/metrics"; exit 1; }
it_pass metrics_sipproxy_serves

# a registration, then a call phA -> phB (as sip-flows f1)
sip_uac m-reg phB 10.1.0.10 register-auth.xml --service phoneb --auth phoneb --key domain edge.test --proxy 10.1.0.1:5060
sip_wait m-reg 20
sip_assert_call metrics_sip_register m-reg
if sip_uas m-phB phB 10.1.0.10 uas.xml --service phoneb --rtp-port 20010; then
	sip_uac m-phA phA 203.0.113.10 uac.xml --rtp-port 30010 --service phoneb \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait m-phA 40; sip_wait m-phB 15
	sip_assert_call metrics_sip_call m-phA m-phB
else
	it_fail metrics_sip_call "SIPp UAS did not start"
fi

scrape sp1 "$SP_M"
fmt_check metrics_sipproxy_format "$IT_OUT/sp1.prom"
r2xx=$(val "$IT_OUT/sp1.prom" natedge_sipproxy_responses_total 'class="2xx"')
regs=$(val "$IT_OUT/sp1.prom" natedge_sipproxy_registrations)
hcount=$(val "$IT_OUT/sp1.prom" natedge_sipproxy_natd_bind_duration_seconds_count)
hinf=$(val "$IT_OUT/sp1.prom" natedge_sipproxy_natd_bind_duration_seconds_bucket 'le="+Inf"')
binds=$(val "$IT_OUT/sp1.prom" natedge_sipproxy_binds_ok_total)
it_check metrics_sip_responses_2xx "responses_total{class=2xx} = $r2xx" test "${r2xx:-0}" -ge 1
it_check metrics_sip_registrations "registrations = $regs" test "${regs:-0}" -ge 1
it_check metrics_sip_bind_histogram "bind histogram count $hcount, +Inf $hinf, binds_ok $binds" \
	test "${hcount:-0}" -ge 1 -a "${hcount:-0}" = "${hinf:-x}" -a "${hcount:-0}" -ge "${binds:-0}"
it_check metrics_sipproxy_404 "GET /: $(code $SP_M /)" test "$(code $SP_M /)" = 404
it_check metrics_sipproxy_405 "PUT /metrics: $(code $SP_M /metrics -X PUT)" test "$(code $SP_M /metrics -X PUT)" = 405

scrape natd3 "$NATD_M"
nbind=$(val "$IT_OUT/natd3.prom" natedge_natd_control_requests_total 'type="BIND",status="OK"')
it_check metrics_natd_control "control_requests_total{type=BIND,status=OK} = $nbind" test "${nbind:-0}" -ge 1
fmt_check metrics_natd_format_after_traffic "$IT_OUT/natd3.prom"

# ------------------------------------------------ the connection cap
# 16 connections that never send a request (they end with the shell: 8 s)
ip netns exec "$EDGE" bash -c 'for i in $(seq 16); do exec {fd}<>/dev/tcp/127.0.0.1/9201 || exit 1; done; sleep 8' \
	>"$IT_OUT/hold.out" 2>&1 &
HOLD=$!
IT_PIDS+=("$HOLD")
# held: natd's side of the 16 connections is established
held() { (($(ip netns exec "$EDGE" ss -Htn state established "( sport = :9201 )" | wc -l) >= 16)); }
nt_poll 5 held || it_log "the 16 connections did not all establish: $(cat "$IT_OUT/hold.out")"
blocked=$(code $NATD_M /metrics --max-time 2)
ctl_ok=no
t0=$(date +%s%N)
it_natctl cap-stats -- stats >/dev/null 2>&1 && ctl_ok=yes
t1=$(date +%s%N)
(((t1 - t0) / 1000000 < 1000)) || ctl_ok="slow ($(((t1 - t0) / 1000000)) ms)"
served=000
for _ in 1 2 3 4 5 6 7 8 9 10; do
	served=$(code $NATD_M /metrics) # bounded by curl's --max-time 3
	[[ $served == 200 ]] && break
done
it_check metrics_conn_cap "17th request while 16 held: $blocked (want 000); natctl stats meanwhile: $ctl_ok; after the timeout: $served" \
	test "$blocked" = 000 -a "$ctl_ok" = yes -a "$served" = 200
it_info "natctl stats took $(((t1 - t0) / 1000000)) ms while the endpoint was full"
wait "$HOLD" 2>/dev/null

it_check metrics_natd_alive "natd still running" it_natd_alive
sip_assert_proxy_alive metrics_sipproxy_alive proxym
it_done
