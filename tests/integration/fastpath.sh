#!/bin/bash
# fastpath: natd's eBPF fast path on the "edge" topology.
#   1. a UDP flow of 50 echoes phB -> phA: every datagram and echo
#      arrives; the fast path carried most of them (fastpath_hits); the
#      binding's own counters (natctl list) still count every packet and
#      byte both ways, exactly.
#   2. kill -9 of natd: no program stays attached to the edge's
#      interfaces (tcx links die with natd), so nothing translates for a
#      natd that is gone: phA's datagrams to the old mapping are not
#      delivered; natd starts again and the fast path carries again.
#   3. the BPF object missing: natd says so, counts fastpath_load_failures,
#      and translates on the TUN path alone.
#
#   phA 203.0.113.10 -- [edge: natd + tc program on out0, br-in] -- phB 10.1.0.10
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
OBJ=${NT_FASTPATH_OBJECT:-$(dirname "$NT_NATD")/bpf/nat_tc.bpf.o}
[[ -r $OBJ ]] || it_skip_all "the BPF object $OBJ is not built (configure found no libbpf or clang BPF target)"
command -v bpftool >/dev/null || it_skip_all "bpftool is not installed"
kver=$(uname -r)
if (( ${kver%%.*} < 6 )) || { (( ${kver%%.*} == 6 )) && (( $(cut -d. -f2 <<<"$kver") < 6 )); }; then
	it_skip_all "kernel $kver: the fast path needs Linux 6.6 (tcx)"
fi
export NATD_FASTPATH=1
it_topo_up edge
EDGE=${IT_PREFIX}edge
CONF=$IT_STATE/natd.fastpath.conf
N=50
SIZE=100

if grep -q 'fastpath: .* attached to 2 interfaces' "$IT_OUT/natd.log"; then
	it_pass fastpath_attached
else
	it_fail fastpath_attached "natd did not attach the program: $(grep fastpath "$IT_OUT/natd.log" | tail -n 2)"
fi

# prog_id: the program id natd logged at its last start
prog_id() { grep -o 'fastpath: .* attached to .* program id [0-9]*' "$IT_OUT/natd.log" | tail -n 1 | sed 's/.* //'; }
# attached [ID]: the kernel's links (tcx) to program ID (natd's current one)
attached() {
	local id=${1:-$(prog_id)}
	[[ -n $id ]] || { echo 0; return; }
	bpftool link show 2>/dev/null | grep -c "prog $id\b"
}
# prog_exists ID: the program is still loaded
prog_exists() { bpftool prog show id "$1" >/dev/null 2>&1; }

# flow TAG SPORT DPORT: N echoes phB:SPORT -> phA:DPORT; sets F_GOT (echoes
# phB received) and F_SEEN (the source phA saw).
flow() {
	local tag=$1 sp=$2 dp=$3
	F_GOT='' F_SEEN=''
	it_server phA "s-$tag" udp-echo --bind "203.0.113.10:$dp" --count "$N" --timeout 20 || return 1
	it_nt phB "c-$tag" udp-send --to "203.0.113.10:$dp" --bind "10.1.0.10:$sp" --count "$N" \
		--size "$SIZE" --timeout 2
	it_wait "s-$tag" 5
	F_GOT=$(kv "$IT_OUT/c-$tag.out" received)
	F_SEEN=$(kv "$IT_OUT/s-$tag.out" peer)
}

# binding_counts SPORT: B_PO B_PI B_BO B_BI of phB's binding 10.1.0.10:SPORT
binding_counts() {
	B_PO='' B_PI='' B_BO='' B_BI=''
	it_natctl "list-$1" -- --json list --kind dynamic || return 1
	local line
	line=$(grep -n "\"10.1.0.10:$1\"" "$IT_OUT/list-$1.out" | head -n 1 | cut -d: -f1)
	[[ -n $line ]] || return 1
	B_PO=$(json_get "$IT_OUT/list-$1.out" counters.pkts_out "$line")
	B_PI=$(json_get "$IT_OUT/list-$1.out" counters.pkts_in "$line")
	B_BO=$(json_get "$IT_OUT/list-$1.out" counters.bytes_out "$line")
	B_BI=$(json_get "$IT_OUT/list-$1.out" counters.bytes_in "$line")
}

# stop_natd SIGNAL: signal natd, wait (bounded) until it is gone
stop_natd() {
	local pid=$IT_NATD_PID
	kill "-$1" "$pid"
	nt_poll 10 nt_pid_gone "$pid"
	wait "$pid" 2>/dev/null
}

# start_natd CHECK CONF: natd again on CONF; the test ends if it does not start
start_natd() {
	if nt_natd_start "$IT_STATE" natd "$EDGE" "$2" 2>>"$IT_OUT/topo.log"; then
		it_use_natd natd
		it_pass "$1"
	else
		it_fail "$1" "natd did not start: $(tail -n 3 "$IT_OUT/topo.log")"
		it_done
	fi
}

# ------------------------------------------------------------ 1. a flow
flow f1 41000 9000
if [[ $F_GOT == "$N" ]] && in_pool "$F_SEEN"; then
	it_pass udp_flow_delivered
else
	it_fail udp_flow_delivered "phB got $F_GOT of $N echoes; phA saw source '$F_SEEN'"
fi
it_stats
hits=$(stat fastpath_hits)
if [[ -n $hits ]] && (( hits >= N )); then
	it_pass fastpath_carried_packets
else
	it_fail fastpath_carried_packets "fastpath_hits=$hits after $((2 * N)) packets: $(stats_nonzero)"
fi
it_info "fastpath: $(tr ' ' '\n' <<<"$IT_STATS" | grep '^fastpath_' | tr '\n' ' ')"
# every packet counted on the binding, fast path or not (IP bytes: 28 + payload)
want_bytes=$(( N * (28 + SIZE) ))
if binding_counts 41000 && [[ $B_PO == "$N" && $B_PI == "$N" && $B_BO == "$want_bytes" && $B_BI -gt 0 ]]; then
	it_pass binding_counters_exact
else
	it_fail binding_counters_exact "pkts_out=$B_PO pkts_in=$B_PI bytes_out=$B_BO bytes_in=$B_BI, want $N $N $want_bytes >0"
fi

# ------------------------------------------------------------ 2. kill -9
n=$(attached)
if [[ $n == 2 ]]; then it_pass program_on_both_interfaces
else it_fail program_on_both_interfaces "bpftool link show lists $n links to program $(prog_id)"; fi
OLD_ID=$(prog_id)
M=$F_SEEN
cp "$IT_OUT/natd.log" "$IT_OUT/natd.before-kill.log"
stop_natd KILL
gone() { [[ $(attached "$1") == 0 ]] && ! prog_exists "$1"; }
if [[ -n $OLD_ID ]] && nt_poll 5 gone "$OLD_ID"; then
	it_pass kill9_no_stale_program
else
	it_fail kill9_no_stale_program "program '$OLD_ID' still loaded or linked: $(bpftool link show 2>&1 | tr '\n' ' ')"
fi
# the old mapping carries nothing without natd (the TUN is gone too)
it_server phB s-stale udp-echo --bind 10.1.0.10:41000 --count 1 --timeout 1.5 --no-reply
it_nt phA c-stale udp-send --to "$M" --bind 203.0.113.10:9000 --timeout 0.3 --count 3
it_wait s-stale 4
if [[ $(kv "$IT_OUT/s-stale.out" received) == 0 ]]; then
	it_pass kill9_old_mapping_not_translated
else
	it_fail kill9_old_mapping_not_translated "phB received phA's datagram to $M with natd dead"
fi
start_natd natd_restarted "$CONF"
n=$(attached)
if [[ $n == 2 && $(prog_id) != "$OLD_ID" ]]; then it_pass restart_attached_once
else it_fail restart_attached_once "$n links to program $(prog_id) after the restart (before: $OLD_ID)"; fi
flow f2 41002 9002
it_stats
hits=$(stat fastpath_hits)
if [[ $F_GOT == "$N" ]] && [[ -n $hits ]] && (( hits >= N )); then
	it_pass restart_fastpath_carries
else
	it_fail restart_fastpath_carries "phB got $F_GOT of $N echoes, fastpath_hits=$hits"
fi

# ------------------------------------------------------------ 3. no object
OLD_ID=$(prog_id)
stop_natd TERM
if nt_poll 5 gone "$OLD_ID"; then it_pass exit_detaches
else it_fail exit_detaches "a program is still attached after natd exited"; fi
sed "s|object = \"[^\"]*\"|object = \"$IT_STATE/missing.bpf.o\"|" "$CONF" >"$IT_STATE/nofp.conf"
cp "$IT_OUT/natd.log" "$IT_OUT/natd.before-missing.log"
start_natd natd_starts_without_object "$IT_STATE/nofp.conf"
it_check missing_object_message "natd did not say why it runs without the fast path" \
	grep -q "fastpath: BPF object $IT_STATE/missing.bpf.o: No such file or directory: using the TUN path only" "$IT_OUT/natd.log"
flow f3 41004 9004
it_stats
if [[ $F_GOT == "$N" && $(stat fastpath_hits) == 0 && $(stat fastpath_load_failures) == 1 ]]; then
	it_pass tun_path_alone_works
else
	it_fail tun_path_alone_works "phB got $F_GOT of $N echoes; $(tr ' ' '\n' <<<"$IT_STATS" | grep '^fastpath_' | tr '\n' ' ')"
fi
if binding_counts 41004 && [[ $B_PO == "$N" && $B_PI == "$N" ]]; then
	it_pass tun_path_binding_counters
else
	it_fail tun_path_binding_counters "pkts_out=$B_PO pkts_in=$B_PI, want $N $N"
fi
it_check natd_still_running "natd died" it_natd_alive
it_done
