#!/bin/sh
# libcontrol.so must export exactly the functions the public headers
# declare: the version script (libcontrol.sym), the headers and the built
# library are compared. A helper that leaks out, or a public function
# missing from the script, fails here.
set -eu

src=${srcdir:-.}
lib=.libs/libcontrol.so
if [ ! -f "$lib" ]; then
	echo "exports.sh: $lib not built" >&2
	exit 99
fi
command -v nm >/dev/null 2>&1 || { echo "exports.sh: no nm" >&2; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations start in column 0 with their return type; typedefs and
# static inline helpers (compiled into the caller, never exported) aside.
grep -hE '^[a-z]' "$src"/include/libcontrol/*.h | grep -v -e '^typedef' -e '^static inline' |
	grep -oE '\bnc_[a-z0-9_]+\(' | tr -d '(' | sort -u >"$tmp/headers"
grep -oE '^[[:space:]]*nc_[a-z0-9_]+;' "$src/libcontrol.sym" | tr -d ' \t;' | sort -u >"$tmp/script"
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/library"

status=0
if ! diff -u "$tmp/headers" "$tmp/script"; then
	echo "exports.sh: public headers (-) and libcontrol.sym (+) differ" >&2
	status=1
fi
if ! diff -u "$tmp/script" "$tmp/library"; then
	echo "exports.sh: libcontrol.sym (-) and what $lib exports (+) differ" >&2
	status=1
fi
[ "$status" = 0 ] && echo "exports.sh: $(wc -l <"$tmp/library") symbols, as declared"
exit $status
