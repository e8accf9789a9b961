/* sip_build: responses, ACKs and CANCELs built by the proxy itself and the keys it files
 * messages under.
 *
 * Theory of operation. sip_msg_build_response() is RFC 3261 §8.2.6: the
 * Vias, From, To, Call-ID and CSeq of the request copied, a To tag added
 * above 100, Timestamp copied into a 100; the ACK of a non-2xx (§17.1.1.3)
 * and the CANCEL (§9.1) a client transaction sends. The keys are plain strings: the
 * transaction key of §17.1.3 / §17.2.3 (branch, sent-by, method), the
 * whole Call-ID, and the dialog id of §12 with the two tags in a fixed
 * order so that both directions of a dialog give the same key.
 */
#include "sip_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- responses ---- */

static bool reason_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

int sip_msg_build_response(const osip_message_t *req, int status, const char *reason,
			   const char *to_tag, osip_message_t **out)
{
	char tag[17];
	uint8_t rnd[8];
	osip_message_t *r = NULL;
	osip_header_t *ts;
	int rc, count;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!sip_answerable(req) || status < 100 || status > 699)
		return -EINVAL;
	if (!reason)
		reason = osip_message_get_reason(status);
	if (!reason || !*reason)
		reason = "Unknown";
	if (!reason_ok(reason) || (to_tag && !sip_str_is_token(to_tag)))
		return -EINVAL;

	if (osip_message_init(&r) != 0)
		return -ENOMEM;
	rc = -ENOMEM;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(reason));
	if (!r->sip_version || !r->reason_phrase)
		goto fail;
	/* RFC 3261 §8.2.6.2: Via (all, in order), From, Call-ID, CSeq and To
	 * copied from the request */
	if (osip_list_clone(&req->vias, &r->vias, (int (*)(void *, void **))osip_via_clone) != 0 ||
	    osip_from_clone(req->from, &r->from) != 0 || osip_to_clone(req->to, &r->to) != 0 ||
	    osip_call_id_clone(req->call_id, &r->call_id) != 0 ||
	    osip_cseq_clone(req->cseq, &r->cseq) != 0)
		goto fail;
	/* ... and a To tag unless there is one already; 100 may go without */
	if (status > 100 && !sip_tag_of(r->to)) {
		if (!to_tag) {
			if ((rc = sip_fill_bytes(rnd, sizeof(rnd))) < 0)
				goto fail;
			sip_hex(tag, rnd, sizeof(rnd));
			to_tag = tag;
		}
		if ((rc = sip_param_set(&r->to->gen_params, "tag", to_tag)) < 0)
			goto fail;
	}
	/* RFC 3261 §8.2.6.1: a 100 copies Timestamp */
	rc = -ENOMEM;
	if (status == 100 && (ts = sip_find_header(req, "timestamp", &count)) && ts->hvalue &&
	    osip_message_set_header(r, "timestamp", ts->hvalue) != 0)
		goto fail;
	if (osip_message_set_content_length(r, "0") != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	osip_message_free(r);
	return rc;
}


/* ---- ACK and CANCEL (client transactions) ---- */

/* RFC 3261 §17.1.1.3: the ACK of a non-2xx final response, built from the
 * request as sent (Request-URI, Call-ID, From, CSeq number, top Via only,
 * Route) and the response's To. */
osip_message_t *sip_msg_build_ack(const osip_message_t *req, const osip_message_t *resp)
{
	osip_message_t *ack = NULL;
	osip_to_t *to = NULL;

	if (osip_message_clone(req, &ack) != 0)
		return NULL;
	while (osip_list_size(&ack->vias) > 1) {
		osip_via_t *v = osip_list_get(&ack->vias, 1);
		osip_list_remove(&ack->vias, 1);
		osip_via_free(v);
	}
	osip_list_special_free(&ack->record_routes, (void (*)(void *))osip_record_route_free);
	osip_list_special_free(&ack->contacts, (void (*)(void *))osip_contact_free);
	osip_list_special_free(&ack->bodies, (void (*)(void *))osip_body_free);
	osip_list_special_free(&ack->allows, (void (*)(void *))osip_allow_free);
	osip_list_special_free(&ack->headers, (void (*)(void *))osip_header_free);
	if (ack->content_type) {
		osip_content_type_free(ack->content_type);
		ack->content_type = NULL;
	}
	if (ack->content_length) {
		osip_content_length_free(ack->content_length);
		ack->content_length = NULL;
	}
	osip_free(ack->sip_method);
	ack->sip_method = osip_strdup("ACK");
	osip_free(ack->cseq->method);
	ack->cseq->method = osip_strdup("ACK");
	if (resp->to && osip_to_clone(resp->to, &to) == 0) {
		osip_to_free(ack->to);
		ack->to = to;
	}
	if (!ack->sip_method || !ack->cseq->method) {
		osip_message_free(ack);
		return NULL;
	}
	osip_message_force_update(ack);
	return ack;
}

/* RFC 3261 §9.1: CANCEL from the request as sent. */
osip_message_t *sip_msg_build_cancel(const osip_message_t *req)
{
	osip_message_t *c = sip_msg_build_ack(req, req);

	if (!c)
		return NULL;
	osip_free(c->sip_method);
	c->sip_method = osip_strdup("CANCEL");
	osip_free(c->cseq->method);
	c->cseq->method = osip_strdup("CANCEL");
	if (!c->sip_method || !c->cseq->method) {
		osip_message_free(c);
		return NULL;
	}
	return c;
}

/* ---- keys ---- */

static int key_put(size_t len, int n)
{
	return n < 0 ? -EINVAL : (size_t)n >= len ? -ENOSPC : 0;
}

static const char *key_method(const char *m, bool cancel_as_invite)
{
	/* RFC 3261 §17.2.3: an ACK matches the INVITE transaction; §9.2: a
	 * CANCEL is matched to the INVITE it cancels the same way */
	if (!strcmp(m, "ACK") || (cancel_as_invite && !strcmp(m, "CANCEL")))
		return "INVITE";
	return m;
}

int sip_msg_txn_key(const osip_message_t *msg, bool cancel_as_invite, char *buf, size_t len)
{
	const char *branch, *method;
	osip_via_t *via;
	size_t i, off;
	int rc;

	if (!msg || !buf || !len || !msg->cseq || !msg->cseq->method)
		return -EINVAL;
	if (!(via = sip_via_at(msg, 0)) || !via->host)
		return -EINVAL;
	/* RFC 3261 §17.2.3: only a branch with the magic cookie is unique */
	branch = sip_via_branch(via);
	if (!branch || strncmp(branch, BRANCH_COOKIE, BRANCH_COOKIE_LEN))
		return -ENOTSUP;
	if (MSG_IS_RESPONSE(msg)) {
		/* RFC 3261 §17.1.3: branch and CSeq method */
		method = key_method(msg->cseq->method, cancel_as_invite);
		return key_put(len, snprintf(buf, len, "%s %s", branch, method));
	}
	if (!msg->sip_method)
		return -EINVAL;
	/* RFC 3261 §17.2.3: branch, sent-by and method */
	method = key_method(msg->sip_method, cancel_as_invite);
	off = strlen(branch) + 1;
	rc = key_put(len,
		     snprintf(buf, len, strchr(via->host, ':') ? "%s [%s]:%u %s" : "%s %s:%u %s",
			      branch, via->host, (unsigned)sip_via_port(via), method));
	if (rc == 0) /* host names compare case-insensitively */
		for (i = off; buf[i] && buf[i] != ' '; i++)
			buf[i] = (char)lower((unsigned char)buf[i]);
	return rc;
}

const char *sip_msg_call_id(const osip_message_t *msg, char *buf, size_t len)
{
	if (!buf || !len)
		return "-";
	if (!msg || !msg->call_id || !msg->call_id->number)
		snprintf(buf, len, "-");
	else if (msg->call_id->host)
		snprintf(buf, len, "%s@%s", msg->call_id->number, msg->call_id->host);
	else
		snprintf(buf, len, "%s", msg->call_id->number);
	return buf;
}

int sip_msg_dialog_id(const osip_message_t *msg, char *buf, size_t len)
{
	const char *ft, *tt, *a, *b;

	if (!msg || !buf || !len || !msg->call_id || !msg->call_id->number)
		return -EINVAL;
	ft = sip_tag_of(msg->from);
	tt = sip_tag_of(msg->to);
	if (!ft || !tt || !*ft || !*tt)
		return -ENOENT;
	/* RFC 3261 §12: Call-ID, local and remote tag; a proxy sees both
	 * directions, so the tags go in a fixed order */
	a = strcmp(ft, tt) <= 0 ? ft : tt;
	b = a == ft ? tt : ft;
	return key_put(len,
		       snprintf(buf, len, "%s%s%s;%s;%s", msg->call_id->number,
				msg->call_id->host ? "@" : "",
				msg->call_id->host ? msg->call_id->host : "", a, b));
}
