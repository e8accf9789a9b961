/* sip_edit: the other edits a stateful proxy makes to a request it
 * forwards: Max-Forwards (RFC 3261 §16.3 step 3, §16.6 step 3), Route and
 * Record-Route (§16.4, §16.6 steps 4 and 6, RFC 5658), and the SDP body
 * (found in a plain or multipart body, replaced in place).
 *
 * Theory of operation. Every edit works on the libosip2 structure directly
 * and then calls osip_message_force_update(), so that sip_msg_to_bytes()
 * rebuilds the text (and Content-Length) from the structure.
 */
#include "sip_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FORWARDS_DEFAULT 70 /* RFC 3261 §16.6 step 3 */

/* ---- Max-Forwards ---- */

int sip_msg_max_forwards(const osip_message_t *msg)
{
	osip_header_t *h;
	int count;

	if (!msg)
		return -EINVAL;
	if (!(h = sip_find_header(msg, "max-forwards", &count)))
		return -ENOENT;
	return sip_max_forwards_value(h->hvalue);
}

int sip_msg_decrement_max_forwards(osip_message_t *msg)
{
	osip_header_t *h;
	char num[12];
	int count, v, rc;

	if (!msg || !MSG_IS_REQUEST(msg))
		return -EINVAL;
	if (!(h = sip_find_header(msg, "max-forwards", &count))) {
		/* RFC 3261 §16.6 step 3: add one, SHOULD be 70 */
		snprintf(num, sizeof(num), "%d", MAX_FORWARDS_DEFAULT);
		/* lower case, as libosip2 stores the names it parses */
		if (osip_message_set_header(msg, "max-forwards", num) != 0)
			return -ENOMEM;
		return 0;
	}
	if ((v = sip_max_forwards_value(h->hvalue)) < 0)
		return v;
	if (v == 0)
		return -ERANGE; /* §16.3 step 3: the caller answers 483 */
	/* RFC 3261 §16.6 step 3: decrement by one */
	snprintf(num, sizeof(num), "%d", v - 1);
	if ((rc = sip_str_replace(&h->hvalue, num)) < 0)
		return rc;
	osip_message_force_update(msg);
	return 0;
}


/* ---- Record-Route and Route ---- */

static bool uri_has_lr(const osip_uri_t *uri)
{
	osip_uri_param_t *p = NULL;

	osip_uri_uparam_get_byname((osip_uri_t *)uri, "lr", &p);
	return p != NULL;
}

int sip_msg_add_record_route(osip_message_t *msg, const char *uri)
{
	osip_record_route_t *rr = NULL;
	osip_uri_t *u = NULL;
	char *s, *lr;
	size_t n;
	bool sips;
	int rc;

	if (!msg || !uri || !MSG_IS_REQUEST(msg))
		return -EINVAL;
	n = strlen(uri);
	if (n >= 2 && uri[0] == '<' && uri[n - 1] == '>') {
		uri++;
		n -= 2;
	}
	if (!(s = strndup(uri, n)))
		return -ENOMEM;
	rc = osip_uri_init(&u) ? -ENOMEM : osip_uri_parse(u, s) ? -EINVAL : 0;
	free(s);
	/* RFC 3261 §16.6 step 4: a SIP or SIPS URI */
	if (rc == 0 && (!sip_uri_is_sip(u, &sips) || !u->host || !*u->host))
		rc = -EINVAL;
	if (rc < 0)
		goto fail;
	/* ... with the lr parameter (we are a loose router) */
	if (!uri_has_lr(u)) {
		if (!(lr = osip_strdup("lr"))) {
			rc = -ENOMEM;
			goto fail;
		}
		if (osip_uri_uparam_add(u, lr, NULL) != 0) {
			osip_free(lr);
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (osip_record_route_init(&rr) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	osip_record_route_set_url(rr, u);
	u = NULL;
	/* ... inserted ahead of any existing values */
	if (osip_list_add(&msg->record_routes, rr, 0) < 0) {
		osip_record_route_free(rr);
		return -ENOMEM;
	}
	osip_message_force_update(msg);
	return 0;
fail:
	osip_uri_free(u);
	return rc;
}

static osip_uri_t *route_uri(const osip_message_t *msg, int pos)
{
	osip_route_t *r = pos < 0 ? NULL : osip_list_get(&msg->routes, pos);

	return r ? r->url : NULL;
}

static void route_remove(osip_message_t *msg, int pos)
{
	osip_route_t *r = osip_list_get(&msg->routes, pos);

	if (r) {
		osip_list_remove(&msg->routes, pos);
		osip_route_free(r);
	}
}

int sip_msg_route_preprocess(osip_message_t *msg, sip_msg_is_mine_fn *is_mine,
			     void *arg, const osip_uri_t **next_hop)
{
	osip_uri_t *u, *last;
	int n;

	if (!msg || !is_mine || !next_hop || !MSG_IS_REQUEST(msg) || !msg->req_uri)
		return -EINVAL;
	*next_hop = NULL;
	n = osip_list_size(&msg->routes);
	/* RFC 3261 §16.4: a Request-URI we put in a Record-Route means a
	 * strict router upstream: the real Request-URI is the last Route */
	if (n > 0 && is_mine(msg->req_uri, arg)) {
		if (!(last = route_uri(msg, n - 1)))
			return -EINVAL;
		if (osip_uri_clone(last, &u) != 0)
			return -ENOMEM;
		osip_uri_free(msg->req_uri);
		msg->req_uri = u;
		route_remove(msg, n - 1);
	}
	/* RFC 3261 §16.4: if the first Route is us, remove it; a proxy
	 * between two realms records two routes (RFC 5658), so repeat */
	while ((u = route_uri(msg, 0)) && is_mine(u, arg))
		route_remove(msg, 0);
	/* RFC 3261 §16.6 steps 6-7: the next hop is the first Route, else
	 * the Request-URI */
	*next_hop = (u = route_uri(msg, 0)) ? u : msg->req_uri;
	osip_message_force_update(msg);
	return 0;
}

int sip_msg_route_strict_fixup(osip_message_t *msg)
{
	osip_route_t *r = NULL;
	osip_uri_t *top, *old = NULL, *next = NULL;

	if (!msg || !MSG_IS_REQUEST(msg) || !msg->req_uri)
		return -EINVAL;
	if (!(top = route_uri(msg, 0)) || uri_has_lr(top))
		return 0;
	/* RFC 3261 §16.6 step 6: the Request-URI becomes the last Route ... */
	if (osip_uri_clone(msg->req_uri, &old) != 0 || osip_uri_clone(top, &next) != 0 ||
	    osip_route_init(&r) != 0)
		goto nomem;
	osip_route_set_url(r, old);
	old = NULL;
	if (osip_list_add(&msg->routes, r, -1) < 0)
		goto nomem;
	/* ... and the first Route, removed, becomes the Request-URI */
	osip_uri_free(msg->req_uri);
	msg->req_uri = next;
	route_remove(msg, 0);
	osip_message_force_update(msg);
	return 0;
nomem:
	osip_route_free(r);
	osip_uri_free(old);
	osip_uri_free(next);
	return -ENOMEM;
}


/* ---- bodies ---- */

static bool ct_is(const osip_content_type_t *ct, const char *type, const char *subtype)
{
	return ct && ct->type && !strcasecmp(ct->type, type) &&
	       (!subtype || (ct->subtype && !strcasecmp(ct->subtype, subtype)));
}

static osip_body_t *find_sdp(const osip_message_t *msg)
{
	osip_body_t *b;
	int i, n = osip_list_size(&msg->bodies);

	if (ct_is(msg->content_type, "application", "sdp"))
		return osip_list_get(&msg->bodies, 0);
	if (!ct_is(msg->content_type, "multipart", NULL))
		return NULL;
	/* multipart/mixed, /alternative, /related: the application/sdp part */
	for (i = 0; i < n; i++) {
		b = osip_list_get(&msg->bodies, i);
		if (b && ct_is(b->content_type, "application", "sdp"))
			return b;
	}
	return NULL;
}

int sip_msg_get_sdp_body(const osip_message_t *msg, const char **sdp, size_t *len)
{
	osip_body_t *b;

	if (!msg || !sdp || !len)
		return -EINVAL;
	*sdp = NULL;
	*len = 0;
	if (!(b = find_sdp(msg)) || !b->body || !b->length)
		return -ENOENT;
	*sdp = b->body;
	*len = b->length;
	return 0;
}

int sip_msg_set_sdp_body(osip_message_t *msg, const char *sdp, size_t len)
{
	osip_header_t *h;
	osip_body_t *b;
	char *copy, num[16];
	int i, n, rc;

	/* libosip2 cannot write an empty body */
	if (!msg || !sdp || len == 0)
		return -EINVAL;
	if (len > SIP_MSG_MAX_LEN)
		return -EMSGSIZE;
	if (!(b = find_sdp(msg)))
		return -ENOENT;
	if (!(copy = osip_malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, sdp, len);
	copy[len] = '\0';
	/* a part's own Content-Length, rare but legal, follows the new size */
	snprintf(num, sizeof(num), "%zu", len);
	n = b->headers ? osip_list_size(b->headers) : 0;
	for (i = 0; i < n; i++) {
		h = osip_list_get(b->headers, i);
		if (h && h->hname && (!strcasecmp(h->hname, "content-length") ||
				      !strcasecmp(h->hname, "l")) &&
		    (rc = sip_str_replace(&h->hvalue, num)) < 0) {
			osip_free(copy);
			return rc;
		}
	}
	osip_free(b->body);
	b->body = copy;
	b->length = len;
	osip_message_force_update(msg);
	return 0;
}

