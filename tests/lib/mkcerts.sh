#!/bin/sh
# mkcerts.sh: throw-away certificates for the TLS tests, made with the
# openssl command at test time (nothing secret is ever committed).
#
#   mkcerts.sh DIR                      a CA: DIR/ca.crt, DIR/ca.key
#   mkcerts.sh DIR NAME [SAN...]        DIR/NAME.crt and DIR/NAME.key (mode
#                                       0600), signed by DIR/ca (made first
#                                       if missing)
#   mkcerts.sh -c CA DIR NAME [SAN...]  the same with another CA, DIR/CA.crt
#                                       and DIR/CA.key (a "wrong" CA)
#
# A certificate's subject CN is its first SAN, or NAME without any. A SAN
# that looks like an IPv4 or IPv6 address becomes IP:, anything else DNS:
# (or give the prefix yourself: "DNS:x", "IP:y"). Every leaf may serve and
# be a client (extendedKeyUsage serverAuth, clientAuth), so one script
# serves a TLS listener, mutual TLS between proxies and natctl's client
# certificate. Keys are EC P-256 (fast to make and to handshake); validity
# is two days. Prints nothing on success; exits non-zero (with openssl's
# words on stderr) on failure. Used by tests/integration/control-tls.sh,
# the SIP TLS tests and libcontrol's unit tests.
set -eu

ca=ca
if [ "${1:-}" = -c ]; then
	ca=$2
	shift 2
fi
[ $# -ge 1 ] || { echo "usage: mkcerts.sh [-c CA] DIR [NAME [SAN...]]" >&2; exit 2; }
dir=$1
shift
command -v openssl >/dev/null 2>&1 || { echo "mkcerts.sh: no openssl command" >&2; exit 77; }
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/$ca.crt" ] || [ ! -f "$dir/$ca.key" ]; then
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/$ca.key" -out "$dir/$ca.crt" -days 2 -subj "/O=natedge tests/CN=$ca" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>"$dir/$ca.openssl.log" || { cat "$dir/$ca.openssl.log" >&2; exit 1; }
	chmod 644 "$dir/$ca.crt"
	rm -f "$dir/$ca.openssl.log"
fi
[ $# -ge 1 ] || exit 0

name=$1
shift
cn=
san=
for s in "$@"; do
	case $s in
	DNS:* | IP:*) e=$s ;;
	*:*:* | [0-9]*.[0-9]*.[0-9]*.[0-9]*) e="IP:$s" ;;
	*) e="DNS:$s" ;;
	esac
	[ -n "$cn" ] || cn=${e#*:}
	san="${san:+$san,}$e"
done
[ -n "$cn" ] || cn=$name

ext=$dir/$name.ext
{
	echo "basicConstraints=critical,CA:FALSE"
	echo "keyUsage=critical,digitalSignature,keyEncipherment"
	echo "extendedKeyUsage=serverAuth,clientAuth"
	[ -z "$san" ] || echo "subjectAltName=$san"
} >"$ext"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/O=natedge tests/CN=$cn" \
	2>"$dir/$name.openssl.log" &&
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
		-CAcreateserial -out "$dir/$name.crt" -days 2 -extfile "$ext" \
		2>>"$dir/$name.openssl.log" || { cat "$dir/$name.openssl.log" >&2; exit 1; }
chmod 600 "$dir/$name.key"
chmod 644 "$dir/$name.crt"
rm -f "$dir/$name.csr" "$ext" "$dir/$name.openssl.log"
