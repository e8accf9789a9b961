#!/bin/bash
# fastpath-rerun: the translation tests again with natd's eBPF fast path on
# (NATD_FASTPATH=1: tests/net/lib.sh gives every natd a fastpath group on
# its addressed interfaces). Each script's checks are reported here as
# "<script>/<check>"; then, per script, that natd attached the program
# and never failed to load it, and over all of them that the fast path
# carried packets (most of these scripts send one datagram per flow, which
# natd itself carries: only established flows take the fast path).
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
OBJ=${NT_FASTPATH_OBJECT:-$(dirname "$NT_NATD")/bpf/nat_tc.bpf.o}
[[ -r $OBJ ]] || it_skip_all "the BPF object $OBJ is not built (configure found no libbpf or clang BPF target)"
kver=$(uname -r)
if (( ${kver%%.*} < 6 )) || { (( ${kver%%.*} == 6 )) && (( $(cut -d. -f2 <<<"$kver") < 6 )); }; then
	it_skip_all "kernel $kver: the fast path needs Linux 6.6 (tcx)"
fi

SCRIPTS=(edge-basic edge-frag control transit-forward)
total_hits=0
for s in "${SCRIPTS[@]}"; do
	out=$IT_OUT/$s
	rm -rf "$out"
	mkdir -p "$out"
	it_log "running $s with NATD_FASTPATH=1 (logs in $out)"
	NATD_FASTPATH=1 NT_OUT=$out IT_PREFIX="f$(( $$ % 10000 ))${s:0:2}-" \
		timeout 600 bash "$IT_LIB_DIR/$s.sh" >"$out/run.log" 2>"$out/trace.log"
	rc=$?
	while IFS= read -r line; do
		case $line in
		PASS:\ *) it_pass "$s/${line#PASS: }" ;;
		FAIL:\ *) rest=${line#FAIL: }; it_fail "$s/${rest%% (*}" "${rest#* (}" ;;
		SKIP:\ *) rest=${line#SKIP: }; it_skip "$s/${rest%% (*}" "${rest#* (}" ;;
		INFO:\ *) ;;
		esac
	done <"$out/run.log"
	if [[ $rc != 0 ]] && ! grep -q '^FAIL: ' "$out/run.log"; then
		it_fail "$s" "exited with status $rc without a FAIL line (see $out/trace.log)"
	fi
	# every natd of the script: attached, no load failure, its hits
	hits=0 loaded=0 failed=0
	for log in "$out"/natd*.log; do
		[[ -s $log ]] || continue
		grep -q 'fastpath: .* attached to' "$log" && loaded=$((loaded + 1))
		last=$(grep 'stats: ' "$log" | tail -n 1)
		h=$(stat fastpath_hits "$last")
		f=$(stat fastpath_load_failures "$last")
		hits=$((hits + ${h:-0}))
		failed=$((failed + ${f:-0}))
	done
	if (( loaded > 0 && failed == 0 )); then
		it_pass "$s/fastpath_loaded"
	else
		it_fail "$s/fastpath_loaded" "$loaded natd attached the program, $failed load failures"
	fi
	it_info "$s: fastpath_hits=$hits"
	total_hits=$((total_hits + hits))
done
if (( total_hits > 0 )); then
	it_pass fastpath_carried_packets
else
	it_fail fastpath_carried_packets "fastpath_hits is 0 over ${SCRIPTS[*]}"
fi
it_done
