#!/bin/sh
# The three products of libcontrol depend on each other in one direction
# only (README.md): codec <- client <- natctl. Private headers are kept
# apart by the include path (each part sees include/ and its own folder);
# what the path cannot stop is a codec source, or natd, which links the
# codec alone, including the client's public header. Checked here.
set -eu

src=${srcdir:-.}
top=${top_srcdir:-$src/..}

bad=$(grep -lE '#[[:space:]]*include[[:space:]]*<libcontrol/client\.h>' \
	"$src"/codec/*.[ch] "$top"/natd/*.[ch] 2>/dev/null || true)
if [ -n "$bad" ]; then
	echo "layers.sh: these include <libcontrol/client.h> but may use only the codec's headers:" >&2
	echo "$bad" | sed 's/^/    /' >&2
	exit 1
fi
echo "layers.sh: the codec and natd include no client header"
