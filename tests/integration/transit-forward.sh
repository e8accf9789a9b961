#!/bin/bash
# transit-forward: scenario 3's media path across two NATs, set up with
# static forwards (no control channel yet): twice-NAT at each NAT.
#
#   phA 203.0.113.10 -- [natA] -- transit 10.20.0.0/24 -- [natB] -- phB 192.0.2.10
#
# A -> B: phA sends to 198.51.100.1:6000 (natA, access side)
#         natA: -> 10.20.2.1:5000 (natB's transit pool), source from natA's transit pool 10.20.1.0/28
#         natB: -> 192.0.2.10:5000, source from natB's access pool 198.51.100.128/28
# B -> A: phB sends to 198.51.100.129:6000 (natB) -> 10.20.1.1:5000 (natA) -> 203.0.113.10:5000
# Each phone must see only addresses of the NAT in front of it.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd

conf_a=$IT_OUT/natdA.conf
conf_b=$IT_OUT/natdB.conf
nt_gen_conf transit-a "$conf_a" && nt_gen_conf transit-b "$conf_b" || { it_fail transit_config "cannot generate configs"; exit 1; }
cat >>"$conf_a" <<'EOF'
forwards = (
  { proto = "udp"; external = "198.51.100.1:6000"; realm = "access";
    internal = "10.20.2.1:5000"; internal_realm = "transit"; },
  { proto = "udp"; external = "10.20.1.1:5000"; realm = "transit";
    internal = "203.0.113.10:5000"; internal_realm = "access"; }
);
EOF
cat >>"$conf_b" <<'EOF'
forwards = (
  { proto = "udp"; external = "10.20.2.1:5000"; realm = "transit";
    internal = "192.0.2.10:5000"; internal_realm = "access"; },
  { proto = "udp"; external = "198.51.100.129:6000"; realm = "access";
    internal = "10.20.1.1:5000"; internal_realm = "transit"; }
);
EOF
it_topo_up transit "$conf_a" "$conf_b"

A_ACCESS_POOL='^198\.51\.100\.([0-9]|1[0-5])$'        # natA towards phA
B_ACCESS_POOL='^198\.51\.100\.(12[89]|13[0-9]|14[0-3])$'  # natB towards phB

# A -> B
it_server phB b-echo udp-echo --bind 192.0.2.10:5000 --count 1 --timeout 8 || true
it_nt phA a-send udp-send --to 198.51.100.1:6000 --bind 203.0.113.10:7000 --payload rtp-a-to-b --timeout 3
it_wait b-echo 5
peer=$(kv "$IT_OUT/b-echo.out" peer)
if [[ ${peer%:*} =~ $B_ACCESS_POOL ]]; then
	it_pass transit_a_to_b_delivered
else
	it_fail transit_a_to_b_delivered "phB saw source '$peer', expected an address of natB's pool 198.51.100.128/28"
fi
reply=$(kv "$IT_OUT/a-send.out" reply_from)
if [[ $reply == 198.51.100.1:6000 && $(kv "$IT_OUT/a-send.out" payload_ok) == 1 ]]; then
	it_pass transit_a_to_b_reply
else
	it_fail transit_a_to_b_reply "phA got reply_from='$reply', expected 198.51.100.1:6000"
fi

# B -> A
it_server phA a-echo udp-echo --bind 203.0.113.10:5000 --count 1 --timeout 8 || true
it_nt phB b-send udp-send --to 198.51.100.129:6000 --bind 192.0.2.10:7000 --payload rtp-b-to-a --timeout 3
it_wait a-echo 5
peer=$(kv "$IT_OUT/a-echo.out" peer)
if [[ ${peer%:*} =~ $A_ACCESS_POOL ]]; then
	it_pass transit_b_to_a_delivered
else
	it_fail transit_b_to_a_delivered "phA saw source '$peer', expected an address of natA's pool 198.51.100.0/28"
fi
reply=$(kv "$IT_OUT/b-send.out" reply_from)
if [[ $reply == 198.51.100.129:6000 && $(kv "$IT_OUT/b-send.out" payload_ok) == 1 ]]; then
	it_pass transit_b_to_a_reply
else
	it_fail transit_b_to_a_reply "phB got reply_from='$reply', expected 198.51.100.129:6000"
fi

for n in natdA natdB; do
	it_use_natd "$n"
	if it_natd_alive; then it_pass "${n}_running"; else it_fail "${n}_running" "exited; see $n.log"; fi
	it_stats && it_info "$n: $(stats_nonzero)"
done
it_done
