/* sip_via: the Via header, where messages go, branches and loops.
 *
 * Theory of operation. A request received gets its top Via fixed
 * (received=, rport: RFC 3261 §18.2.1, RFC 3581 §4); a request forwarded
 * gets our Via on top with a branch made of the magic cookie, a hash of
 * the request as received (§16.6 step 8) and random bytes; a response
 * forwarded loses our Via (§16.7 step 3). Where a response goes is read
 * from a Via (§18.2.2), where a request goes from a URI (§16.6 step 7).
 * A request is a loop (§16.3 step 4) when one of its Vias is ours and its
 * branch holds the hash we would compute now; a spiral otherwise. The
 * hash is FNV-1a over the fields §16.6 step 8 names.
 */
#include "sip_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Via ---- */

int sip_msg_top_via_fix(osip_message_t *msg, const char *src_ip, uint16_t src_port)
{
	char ip[SIP_HOST_MAX], num[8];
	unsigned char bin[16];
	osip_generic_param_t *rport;
	osip_via_t *via;
	int af, rc;

	if (!msg || !MSG_IS_REQUEST(msg) || !src_ip ||
	    !sip_ip_literal(src_ip, ip, sizeof(ip), &af, bin) || src_port == 0)
		return -EINVAL;
	if (!(via = sip_via_at(msg, 0)) || !via->host)
		return -ENOENT;
	rport = sip_param_get(&via->via_params, "rport");
	if (rport) {
		/* RFC 3581 §4: the server sets rport to the source port */
		snprintf(num, sizeof(num), "%u", (unsigned)src_port);
		if ((rc = sip_param_set(&via->via_params, "rport", num)) < 0)
			return rc;
	}
	/* RFC 3261 §18.2.1: received when sent-by is a name or another
	 * address; RFC 3581 §4: with rport, received is added even when it
	 * is the same. A received the sender wrote itself is overwritten. */
	if (rport || !sip_host_equal(via->host, ip) || sip_param_get(&via->via_params, "received")) {
		if ((rc = sip_param_set(&via->via_params, "received", ip)) < 0)
			return rc;
	}
	osip_message_force_update(msg);
	return 0;
}

static int copy_host(struct sip_target *t, const char *host)
{
	size_t n = host ? strlen(host) : 0;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(t->host))
		return -EINVAL;
	memcpy(t->host, host, n);
	t->host[n] = '\0';
	t->numeric = sip_is_ip_literal(t->host);
	return 0;
}

static int copy_transport(struct sip_target *t, const char *tr)
{
	size_t i, n = tr ? strlen(tr) : 0;

	if (n == 0 || n >= sizeof(t->transport))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!is_tchar((unsigned char)tr[i]))
			return -EINVAL;
		t->transport[i] = (char)(tr[i] >= 'a' && tr[i] <= 'z' ? tr[i] - 32 : tr[i]);
	}
	t->transport[n] = '\0';
	return 0;
}

int sip_msg_via_target(const osip_message_t *msg, int pos, bool use_maddr, struct sip_target *t)
{
	char b1[SIP_HOST_MAX], b2[8];
	const char *maddr, *received, *rport_s;
	uint16_t sent_port = 0, rport = 0;
	osip_via_t *via;
	int rc;

	if (!msg || !t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if (!(via = sip_via_at(msg, pos)))
		return -ENOENT;
	if ((rc = copy_transport(t, via->protocol)) < 0)
		return rc;
	t->reliable = strcmp(t->transport, "UDP") != 0;
	if (via->port) {
		if (!sip_parse_port(via->port, &sent_port))
			return -EINVAL;
		t->explicit_port = true;
	} else {
		sent_port = sip_default_port(t->transport);
	}
	t->port = sent_port;

	maddr = use_maddr ? sip_param_value(sip_param_get(&via->via_params, "maddr"), b1, sizeof(b1)) : NULL;
	if (maddr && !t->reliable)
		/* RFC 3261 §18.2.2: maddr, with the sent-by port (a trusted
		 * sender only: from anyone else it is a reflection) */
		return copy_host(t, maddr);

	received = sip_param_value(sip_param_get(&via->via_params, "received"), b1, sizeof(b1));
	if (received) {
		/* RFC 3261 §18.2.2: the received address, sent-by port ... */
		if ((rc = copy_host(t, received)) < 0)
			return rc;
		rport_s = sip_param_value(sip_param_get(&via->via_params, "rport"), b2, sizeof(b2));
		if (rport_s && !t->reliable) {
			/* ... RFC 3581 §4: or rport when it has a value */
			if (!sip_parse_port(rport_s, &rport))
				return -EINVAL;
			t->port = rport;
			t->explicit_port = true;
		}
		return 0;
	}
	/* RFC 3261 §18.2.2: else sent-by (a name goes to RFC 3263 §6) */
	return copy_host(t, via->host);
}

int sip_msg_response_target(const osip_message_t *resp, struct sip_target *t)
{
	if (!resp || !MSG_IS_RESPONSE(resp))
		return -EINVAL;
	/* the top Via is ours; the response goes where the next one says */
	return sip_msg_via_target(resp, 1, false, t);
}

int sip_msg_uri_target(const osip_uri_t *uri, struct sip_target *t)
{
	osip_uri_param_t *p = NULL;
	const char *host;
	bool sips;
	int rc;

	if (!uri || !t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if (!sip_uri_is_sip(uri, &sips))
		return -EINVAL;
	/* RFC 3263 §4.1: the transport param, else UDP for sip, TLS for sips */
	osip_uri_uparam_get_byname((osip_uri_t *)uri, "transport", &p);
	if ((rc = copy_transport(t, p && p->gvalue ? p->gvalue : sips ? "TLS" : "UDP")) < 0)
		return rc;
	t->reliable = strcmp(t->transport, "UDP") != 0;
	/* RFC 3261 §16.6 step 7 / §19.1.1: maddr overrides the host */
	p = NULL;
	osip_uri_uparam_get_byname((osip_uri_t *)uri, "maddr", &p);
	host = p && p->gvalue ? p->gvalue : uri->host;
	if ((rc = copy_host(t, host)) < 0)
		return rc;
	if (uri->port) {
		if (!sip_parse_port(uri->port, &t->port))
			return -EINVAL;
		t->explicit_port = true;
	} else {
		t->port = sips ? 5061 : sip_default_port(t->transport);
	}
	return 0;
}

/* ---- branch, loop detection ---- */

struct fnv {
	uint64_t h;
};

static void fnv_add(struct fnv *f, const char *s)
{
	/* FNV-1a; a 0 byte ends each field so fields cannot run together */
	do {
		f->h ^= (unsigned char)(s ? *s : 0);
		f->h *= 0x100000001b3ull;
	} while (s && *s++);
}

static int fnv_add_alloc(struct fnv *f, int rc, char *s)
{
	if (rc != 0)
		return sip_osip_rc(rc);
	fnv_add(f, s);
	osip_free(s);
	return 0;
}

/* The §16.6 step 8 hash with the Via at via_pos standing for the "topmost
 * Via" of the request as it was received (-1: none). */
static int loop_hash(const osip_message_t *req, int via_pos, char *buf, size_t len)
{
	struct fnv f = {0xcbf29ce484222325ull};
	osip_via_t *via = sip_via_at(req, via_pos);
	osip_header_t *h;
	char *s = NULL;
	uint8_t out[8];
	int i, n, rc;

	if (len < SIP_LOOP_KEY_LEN + 1)
		return -ENOSPC;
	if (!req->req_uri || !req->call_id || !req->cseq)
		return -EINVAL;
	fnv_add(&f, sip_tag_of(req->to));
	fnv_add(&f, sip_tag_of(req->from));
	fnv_add(&f, req->call_id->number);
	fnv_add(&f, req->call_id->host);
	rc = osip_uri_to_str(req->req_uri, &s);
	if ((rc = fnv_add_alloc(&f, rc, s)) < 0)
		return rc;
	/* the Via as sent-by and branch: later received/rport edits by the
	 * hop that added it must not change the hash */
	fnv_add(&f, via ? via->protocol : NULL);
	fnv_add(&f, via ? via->host : NULL);
	fnv_add(&f, via ? via->port : NULL);
	fnv_add(&f, via ? sip_via_branch(via) : NULL);
	fnv_add(&f, req->cseq->number);
	n = osip_list_size(&req->headers);
	for (i = 0; i < n; i++) {
		h = osip_list_get(&req->headers, i);
		if (h && h->hname && !strcasecmp(h->hname, "proxy-require"))
			fnv_add(&f, h->hvalue);
	}
	n = osip_list_size(&req->proxy_authorizations);
	for (i = 0; i < n; i++) {
		s = NULL;
		rc = osip_authorization_to_str(osip_list_get(&req->proxy_authorizations, i), &s);
		if ((rc = fnv_add_alloc(&f, rc, s)) < 0)
			return rc;
	}
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(f.h >> (56 - 8 * i));
	sip_hex(buf, out, sizeof(out));
	return 0;
}

int sip_msg_loop_key(const osip_message_t *req, char *buf, size_t len)
{
	if (!req || !buf || !MSG_IS_REQUEST(req))
		return -EINVAL;
	return loop_hash(req, 0, buf, len);
}

static bool is_hex_key(const char *s)
{
	size_t i;

	for (i = 0; i < SIP_LOOP_KEY_LEN; i++)
		if (!is_digit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

int sip_msg_make_branch(char *buf, size_t len, const char *loop_key,
			const uint8_t *entropy, size_t entropy_len)
{
	uint8_t rnd[16];
	size_t need;
	int rc;

	if (!buf)
		return -EINVAL;
	if (loop_key && (strlen(loop_key) != SIP_LOOP_KEY_LEN || !is_hex_key(loop_key)))
		return -EINVAL;
	if (entropy) {
		if (entropy_len < 8 || entropy_len > sizeof(rnd))
			return -EINVAL;
		memcpy(rnd, entropy, entropy_len);
	} else {
		entropy_len = 12;
		if ((rc = sip_fill_bytes(rnd, entropy_len)) < 0)
			return rc;
	}
	need = BRANCH_COOKIE_LEN + (loop_key ? SIP_LOOP_KEY_LEN + 1 : 0) + 2 * entropy_len + 1;
	if (len < need)
		return -ENOSPC;
	/* RFC 3261 §8.1.1.7: the magic cookie, then something unique */
	memcpy(buf, BRANCH_COOKIE, BRANCH_COOKIE_LEN);
	need = BRANCH_COOKIE_LEN;
	if (loop_key) {
		memcpy(buf + need, loop_key, SIP_LOOP_KEY_LEN);
		need += SIP_LOOP_KEY_LEN;
		buf[need++] = '.';
	}
	sip_hex(buf + need, rnd, entropy_len);
	return 0;
}

int sip_msg_add_via(osip_message_t *msg, const char *transport, const char *host,
		    uint16_t port, const char *branch)
{
	struct sip_target t; /* scratch for the checks */
	char gen[SIP_BRANCH_MAX], num[8];
	osip_via_t *via = NULL;
	int rc;

	if (!msg || !MSG_IS_REQUEST(msg))
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	if ((rc = copy_transport(&t, transport)) < 0 || (rc = copy_host(&t, host)) < 0)
		return rc;
	if (strpbrk(t.host, " \t;,\"<>\r\n"))
		return -EINVAL;
	if (!branch) {
		if ((rc = sip_msg_make_branch(gen, sizeof(gen), NULL, NULL, 0)) < 0)
			return rc;
		branch = gen;
	} else if (strncmp(branch, BRANCH_COOKIE, BRANCH_COOKIE_LEN) || !sip_str_is_token(branch)) {
		return -EINVAL;
	}
	if (osip_via_init(&via) != 0)
		return -ENOMEM;
	rc = -ENOMEM;
	via_set_version(via, osip_strdup("2.0"));
	via_set_protocol(via, osip_strdup(t.transport));
	via_set_host(via, osip_strdup(t.host)); /* libosip2 adds [] for IPv6 */
	if (!via->version || !via->protocol || !via->host)
		goto fail;
	if (port) {
		snprintf(num, sizeof(num), "%u", (unsigned)port);
		via_set_port(via, osip_strdup(num));
		if (!via->port)
			goto fail;
	}
	if ((rc = sip_param_set(&via->via_params, "branch", branch)) < 0)
		goto fail;
	/* RFC 3261 §16.6 step 8: ours goes on top */
	if (osip_list_add(&msg->vias, via, 0) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	osip_message_force_update(msg);
	return 0;
fail:
	osip_via_free(via);
	return rc;
}

int sip_msg_pop_via(osip_message_t *msg)
{
	osip_via_t *via;

	if (!msg)
		return -EINVAL;
	if (!(via = sip_via_at(msg, 0)))
		return -ENOENT;
	osip_list_remove(&msg->vias, 0);
	osip_via_free(via);
	osip_message_force_update(msg);
	return 0;
}

int sip_msg_via_count(const osip_message_t *msg)
{
	return msg ? osip_list_size(&msg->vias) : -EINVAL;
}

bool sip_msg_is_looped(const osip_message_t *req, const char *host, uint16_t port)
{
	char key[SIP_LOOP_KEY_LEN + 1];
	const char *b;
	osip_via_t *via;
	int i, n;

	if (!req || !host || !MSG_IS_REQUEST(req))
		return false;
	n = osip_list_size(&req->vias);
	for (i = 0; i < n; i++) {
		via = sip_via_at(req, i);
		/* RFC 3261 §16.3 step 4: a Via with our sent-by ... */
		if (!via || !sip_host_equal(via->host, host) || sip_via_port(via) != port)
			continue;
		b = sip_via_branch(via);
		if (!b || strlen(b) < BRANCH_COOKIE_LEN + SIP_LOOP_KEY_LEN + 1 ||
		    strncmp(b, BRANCH_COOKIE, BRANCH_COOKIE_LEN) ||
		    b[BRANCH_COOKIE_LEN + SIP_LOOP_KEY_LEN] != '.')
			continue;
		/* ... whose branch holds the hash we would compute now (§16.6
		 * step 8). When we forwarded it the "topmost Via" was the one
		 * just below ours, so that one stands in for it. */
		if (loop_hash(req, i + 1 < n ? i + 1 : -1, key, sizeof(key)) == 0 &&
		    !memcmp(b + BRANCH_COOKIE_LEN, key, SIP_LOOP_KEY_LEN))
			return true;
	}
	return false;
}

