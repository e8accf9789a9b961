#!/bin/bash
# edge-frag: fragmented UDP through natd, in order and out of order.
# A 3000-byte datagram from phB is sent as hand-made IPv4 fragments (raw
# socket); phA must receive it reassembled from a pool address; phA's echo
# (also fragmented, by phA's kernel) must come back whole to phB.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
it_topo_up edge

SIZE=3000

# frag_case NAME PORT [frag-send options...]
frag_case() {
	local name=$1 port=$2 peer len reply seen ok
	shift 2
	if ! it_server phA "a-$name" udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 8; then
		it_fail "${name}_outbound" "echo server on phA did not start"; return
	fi
	it_nt phB "b-$name" frag-send --to 203.0.113.10:7000 --bind "10.1.0.10:$port" --size "$SIZE" --timeout 3 "$@"
	it_wait "a-$name" 5
	peer=$(kv "$IT_OUT/a-$name.out" peer)
	len=$(kv "$IT_OUT/a-$name.out" len)
	if [[ -n $peer ]] && in_pool "$peer" && [[ $len == "$SIZE" ]]; then
		it_pass "${name}_outbound_reassembled"
	else
		it_fail "${name}_outbound_reassembled" "phA got peer='$peer' len='$len', expected a pool address and $SIZE bytes"
	fi
	reply=$(kv "$IT_OUT/b-$name.out" reply_from)
	seen=$(kv "$IT_OUT/b-$name.out" seen_as)
	ok=$(kv "$IT_OUT/b-$name.out" payload_ok)
	if [[ $reply == 203.0.113.10:7000 && -n $peer && $seen == "$peer" && $ok == 1 ]]; then
		it_pass "${name}_reply_fragmented_inbound"
	else
		it_fail "${name}_reply_fragmented_inbound" "phB got reply_from='$reply' seen_as='$seen' payload_ok='$ok'"
	fi
}

frag_case frag_in_order 4700
frag_case frag_reversed 4701 --reverse
frag_case frag_last_first 4702 --last-first
# small fragments: 38 pieces of 80 bytes, reversed
frag_case frag_small_reversed 4703 --reverse --frag-size 80

# non-first fragments whose first never comes are held, then dropped on
# timeout (fragments.timeout = 2 s in conf/natd-edge-test.conf)
if it_stats; then
	held0=$(stat dropped_frag_timeout)
	it_nt phB b-orphans malformed --to 203.0.113.10 --kinds frag_orphan --count 20 --pps 0
	ok=0
	deadline=$((SECONDS + 10))
	while ((SECONDS < deadline)); do
		if it_stats && [[ $(stat dropped_frag_timeout) -ge $((held0 + 20)) && $(stat frags_held) == 0 ]]; then
			ok=1; break
		fi
		sleep 0.5
	done
	if ((ok)); then
		it_pass frag_orphans_expire
	else
		it_fail frag_orphans_expire "after 20 orphan fragments: dropped_frag_timeout=$(stat dropped_frag_timeout) (was $held0) frags_held=$(stat frags_held)"
	fi
	it_info "fragment counters: frags_translated=$(stat frags_translated) frags_buffered=$(stat frags_buffered) dropped_frag_timeout=$(stat dropped_frag_timeout)"
else
	it_fail frag_orphans_expire "no stats from natd"
fi
it_done
