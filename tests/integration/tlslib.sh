# tests/integration/tlslib.sh -- sourced after lib.sh and siplib.sh by the
# tests (and the demo) that run scenario 3 with mutual TLS on the transit
# link. Prefix tls_.
#
# tls_transit_conf OUT ROLE PKI: sip_conf_transit_ingress/egress (ROLE) into
# OUT, then: the transit listener speaks TLS only (port 5061, no UDP or TCP
# towards the transit LAN), the routes to the other proxy are "transport =
# tls" to port 5061, and a tls group: this proxy's certificate and key
# (PKI/ROLE.{crt,key}, tests/lib/tls-pki.sh), the test CA, and the other
# proxy as a mutual-TLS peer (its address and certificate name: each proxy
# authenticates the other by certificate). The egress's peer entry covers
# the whole transit LAN (10.20.0.0/24): anything there that connects must
# show the ingress's certificate. TLS_CONF_EXTRA is appended (e.g. a
# status_socket). The trusted peers stay as sip_conf_transit_* sets them
# (SIP_TRUSTED_INGRESS / SIP_TRUSTED_EGRESS).
tls_transit_conf() {
	local out=$1 role=$2 pki=$3 me peer peer_name peer_prefix extra
	if [[ $role == ingress ]]; then
		me=10.20.0.1 peer=10.20.0.2 peer_name=egress.b.example.net peer_prefix=10.20.0.2/32
	else
		me=10.20.0.2 peer=10.20.0.1 peer_name=ingress.a.example.net peer_prefix=10.20.0.0/24
	fi
	extra="tls: { cert = \"$pki/$role.crt\"; key = \"$pki/$role.key\"; ca = \"$pki/ca.crt\";
  peers = ( { prefix = \"$peer_prefix\"; name = \"$peer_name\"; mutual = true; } ); };
${TLS_CONF_EXTRA:-}"
	if [[ $role == ingress ]]; then
		SIP_CONF_EXTRA_INGRESS=$extra sip_conf_transit_ingress "$out"
	else
		SIP_CONF_EXTRA_EGRESS=$extra sip_conf_transit_egress "$out"
	fi
	sed -i -E \
		-e "s/^(  \{ address = \"$me\"; realm = \"transit\";) \}/\1 transports = [ \"tls\" ]; }/" \
		-e "s/next_hop = \"$peer(:5060)?\"; \}/next_hop = \"$peer:5061\"; transport = \"tls\"; }/" "$out"
}

# tls_listening NS ADDR:PORT: something listens on TCP ADDR:PORT in NS
tls_listening() { ip netns exec "$1" ss -Hltn "src $2" 2>/dev/null | grep -q .; }

# tls_conf_check CONF: sipproxy -n accepts CONF (PASS, 0); a sipproxy
# without TLS (the tls group unknown) skips the whole test; any other
# complaint is a FAIL (1). The output in CONF.check.
tls_conf_check() {
	local name
	name=conf_$(basename "$1" .conf)_valid
	if "$SIP_PROXY" -n -c "$1" >"$1.check" 2>&1; then
		it_pass "$name"
		return 0
	fi
	grep -q ': tls: unknown setting' "$1.check" &&
		it_skip_all "this sipproxy has no TLS transport: sipproxy -n says $(head -n 1 "$1.check")"
	it_fail "$name" "sipproxy -n rejects $1: $(head -n 3 "$1.check" | tr '\n' ' ')"
	return 1
}
