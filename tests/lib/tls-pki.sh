#!/bin/bash
# tests/lib/tls-pki.sh -- the test PKI of the SIP TLS tests, the TLS benchmark
# and the demo, made with tests/lib/mkcerts.sh (openssl command line).
#
#   tls-pki.sh DIR
#
# makes, if missing (an existing DIR/ca.crt is kept, so a run can add to it):
#   DIR/ca.crt, ca.key            the test CA every proxy and phone trusts
#   DIR/ingress.{crt,key}         scenario 3's ingress proxy: ingress.a.example.net,
#                                 a.example.net, 203.0.113.1, 10.20.0.1
#   DIR/egress.{crt,key}          scenario 3's egress proxy: egress.b.example.net,
#                                 b.example.net, 10.20.0.2, 192.0.2.1
#   DIR/edge.{crt,key}            the edge proxy of scenarios 1-2: edge.test,
#                                 203.0.113.1, 10.1.0.1
#   DIR/alice.{crt,key}, bob.*    two phones (client and server: a phone
#                                 that listens for TLS presents one)
#   DIR/wrong-ca.crt, wrong-ca.key  a second CA nobody trusts, and
#   DIR/rogue.{crt,key}           signed by it, with both proxies' names
#                                 and addresses (10.20.0.3 too): the right
#                                 names from the wrong CA
#   DIR/NAME.pem                  key + certificate in one file for each leaf
#                                 (baresip's sip_certificate wants that)
# Keys are EC P-256, certificates valid two days (mkcerts.sh's choice), keys
# mode 0600. Prints the directory. Exit 0, or non-zero with openssl's words.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: tls-pki.sh DIR" >&2; exit 2; }
dir=$1
mk() { "$here/mkcerts.sh" "$@"; }
leaf() { # NAME SAN...: signed by ca unless made already
	local name=$1
	shift
	[ -s "$dir/$name.crt" ] || mk "$dir" "$name" "$@"
}
mk "$dir"
leaf ingress ingress.a.example.net a.example.net 203.0.113.1 10.20.0.1
leaf egress egress.b.example.net b.example.net 10.20.0.2 192.0.2.1
leaf edge edge.test 203.0.113.1 10.1.0.1
leaf alice alice.edge.test 203.0.113.10
leaf bob bob.edge.test 10.1.0.10
[ -s "$dir/rogue.crt" ] || mk -c wrong-ca "$dir" rogue ingress.a.example.net egress.b.example.net \
	a.example.net b.example.net 10.20.0.1 10.20.0.2 10.20.0.3 192.0.2.1
for n in ingress egress edge alice bob rogue; do
	(umask 077 && cat "$dir/$n.key" "$dir/$n.crt" >"$dir/$n.pem")
done
echo "$dir"
