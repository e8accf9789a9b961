#!/bin/bash
# fuzz: the libFuzzer harnesses of tests/fuzz/ (IPv4 validation and
# translation, the control-protocol codec, PCP/NAT-PMP, SIP handling, the
# SDP rewriter), each run for a few seconds from its seed corpus by
# tests/fuzz/run. One PASS/FAIL/SKIP line per target; a crash, leak or
# broken invariant is saved under tests/out/fuzz/crashes/. Without clang
# and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev) every
# target is skipped. FUZZ_SECONDS sets the time per target.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# tests/run-tests empties tests/out/fuzz/ (this script's log directory)
# before each run and removes it after a pass: the build is kept beside
# it, so only what changed is rebuilt
out=$("$ROOT/tests/fuzz/run" --seconds "${FUZZ_SECONDS:-11}" \
	--builddir "$ROOT/tests/out/fuzz-build" 2>&1)
rc=$?
seen=0
while IFS= read -r line; do
	if [[ $line =~ ^fuzz:\ ([a-z]+):\ (OK|CRASH|FAIL|SKIP)\ ?(.*)$ ]]; then
		t=${BASH_REMATCH[1]} st=${BASH_REMATCH[2]} detail=${BASH_REMATCH[3]}
		seen=$((seen + 1))
		case $st in
		OK) echo "PASS: fuzz_$t ($detail)" ;;
		SKIP) echo "SKIP: fuzz_$t ${detail:-(skipped)}" ;;
		*) echo "FAIL: fuzz_$t ($st $detail)" ;;
		esac
	else
		echo "$line" >&2
	fi
done <<<"$out"
if ((seen == 0)); then
	echo "FAIL: fuzz (tests/fuzz/run printed no result, exit $rc)"
	exit 1
fi
((rc == 0 || rc == 77)) || exit 1
exit 0
