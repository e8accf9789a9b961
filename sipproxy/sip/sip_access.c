/* sip_access: what the rest of sipproxy reads from a message, and the few
 * whole-field edits it makes, so that no file outside sipproxy/sip/ touches
 * a libosip2 structure.
 *
 * Theory of operation. sip_msg_t, sip_uri_t and sip_contact_t are libosip2's
 * own types under our names: no wrapper and no copy, so an accessor costs a
 * call and a field load. Getters return borrowed strings (valid until the
 * message is edited or freed) or NULL when the field is absent, and accept
 * a NULL message, URI or Contact where a caller would otherwise have to
 * test first. Setters return 0 or a negative errno and never log. Strings
 * that libosip2 allocates for us (sip_uri_to_str(), sip_msg_cred_text())
 * are freed with sip_str_free().
 */
#include "sip_priv.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* ---- the message ---- */

void sip_msg_free(sip_msg_t *m)
{
	osip_message_free(m);
}

int sip_msg_clone(const sip_msg_t *m, sip_msg_t **out)
{
	*out = NULL;
	if (!m)
		return -EINVAL;
	return osip_message_clone(m, out) == 0 ? 0 : -ENOMEM;
}

void sip_str_free(char *s)
{
	osip_free(s);
}

bool sip_msg_is_request(const sip_msg_t *m)
{
	return m && MSG_IS_REQUEST(m);
}

const char *sip_msg_method(const sip_msg_t *m)
{
	return m && MSG_IS_REQUEST(m) ? m->sip_method : NULL;
}

bool sip_msg_method_is(const sip_msg_t *m, const char *method)
{
	return m && MSG_IS_REQUEST(m) && m->sip_method && !strcmp(m->sip_method, method);
}

int sip_msg_status(const sip_msg_t *m)
{
	return m ? m->status_code : 0;
}

const char *sip_msg_reason(const sip_msg_t *m)
{
	return m ? m->reason_phrase : NULL;
}

int sip_msg_set_status(sip_msg_t *m, int status, const char *reason)
{
	if (!m || !MSG_IS_RESPONSE(m))
		return -EINVAL;
	osip_message_set_status_code(m, status);
	osip_free(m->reason_phrase);
	m->reason_phrase = osip_strdup(reason ? reason : osip_message_get_reason(status));
	return m->reason_phrase ? 0 : -ENOMEM;
}

/* ---- headers kept as text ---- */

int sip_msg_add_header(sip_msg_t *m, const char *name, const char *value)
{
	if (!m || !name || !value)
		return -EINVAL;
	return osip_message_set_header(m, name, value) == 0 ? 0 : -ENOMEM;
}

const char *sip_msg_header(const sip_msg_t *m, const char *name, int *count)
{
	osip_header_t *h;
	int dummy;

	if (!count)
		count = &dummy;
	*count = 0;
	if (!m || !name)
		return NULL;
	h = sip_find_header(m, name, count);
	return h ? h->hvalue : NULL;
}

/* ---- From, To, Call-ID, CSeq ---- */

const char *sip_msg_from_tag(const sip_msg_t *m)
{
	return m ? sip_tag_of(m->from) : NULL;
}

const char *sip_msg_to_tag(const sip_msg_t *m)
{
	return m ? sip_tag_of(m->to) : NULL;
}

const sip_uri_t *sip_msg_from_uri(const sip_msg_t *m)
{
	return m && m->from ? m->from->url : NULL;
}

const sip_uri_t *sip_msg_to_uri(const sip_msg_t *m)
{
	return m && m->to ? m->to->url : NULL;
}

const char *sip_msg_call_id_number(const sip_msg_t *m)
{
	return m && m->call_id ? m->call_id->number : NULL;
}

const char *sip_msg_call_id_host(const sip_msg_t *m)
{
	return m && m->call_id ? m->call_id->host : NULL;
}

const char *sip_msg_cseq_number(const sip_msg_t *m)
{
	return m && m->cseq ? m->cseq->number : NULL;
}

const char *sip_msg_cseq_method(const sip_msg_t *m)
{
	return m && m->cseq ? m->cseq->method : NULL;
}

/* ---- Request-URI, Routes, Vias ---- */

const sip_uri_t *sip_msg_req_uri(const sip_msg_t *m)
{
	return m && MSG_IS_REQUEST(m) ? m->req_uri : NULL;
}

int sip_msg_set_req_uri(sip_msg_t *m, const char *uri)
{
	sip_uri_t *u = NULL;
	int rc;

	if (!m || !MSG_IS_REQUEST(m) || !uri)
		return -EINVAL;
	if ((rc = sip_uri_parse(uri, &u)) < 0)
		return rc;
	osip_uri_free(m->req_uri);
	m->req_uri = u;
	return 0;
}

int sip_msg_route_count(const sip_msg_t *m)
{
	return m ? osip_list_size(&m->routes) : 0;
}

const sip_uri_t *sip_msg_route_uri(const sip_msg_t *m, int pos)
{
	osip_route_t *r = m && pos >= 0 ? osip_list_get(&m->routes, pos) : NULL;

	return r ? r->url : NULL;
}

const char *sip_msg_via_branch(const sip_msg_t *m, int pos)
{
	osip_via_t *via = m ? sip_via_at(m, pos) : NULL;
	osip_generic_param_t *b = via ? sip_param_get(&via->via_params, "branch") : NULL;

	return b ? b->gvalue : NULL;
}

bool sip_msg_via_has_param(const sip_msg_t *m, int pos, const char *name)
{
	osip_via_t *via = m ? sip_via_at(m, pos) : NULL;

	return via && sip_param_get(&via->via_params, name) != NULL;
}

/* ---- URIs ---- */

const char *sip_uri_scheme(const sip_uri_t *u)
{
	return u ? u->scheme : NULL;
}

const char *sip_uri_user(const sip_uri_t *u)
{
	return u ? u->username : NULL;
}

const char *sip_uri_password(const sip_uri_t *u)
{
	return u ? u->password : NULL;
}

const char *sip_uri_host(const sip_uri_t *u)
{
	return u ? u->host : NULL;
}

const char *sip_uri_port(const sip_uri_t *u)
{
	return u ? u->port : NULL;
}

const char *sip_uri_param(const sip_uri_t *u, const char *name)
{
	osip_uri_param_t *p;
	int i, n;

	if (!u || !name)
		return NULL;
	n = osip_list_size(&u->url_params);
	for (i = 0; i < n; i++) {
		p = osip_list_get(&u->url_params, i);
		if (p && p->gname && !strcasecmp(p->gname, name))
			return p->gvalue ? p->gvalue : "";
	}
	return NULL;
}

int sip_uri_parse(const char *text, sip_uri_t **out)
{
	sip_uri_t *u = NULL;
	int rc;

	*out = NULL;
	if (!text)
		return -EINVAL;
	if (osip_uri_init(&u) != 0)
		return -ENOMEM;
	if ((rc = osip_uri_parse(u, text)) != 0) {
		osip_uri_free(u);
		return sip_osip_rc(rc);
	}
	*out = u;
	return 0;
}

int sip_uri_to_str(const sip_uri_t *u, char **out)
{
	int rc;

	*out = NULL;
	if (!u)
		return -EINVAL;
	if ((rc = osip_uri_to_str(u, out)) != 0 || !*out) {
		osip_free(*out);
		*out = NULL;
		return rc ? sip_osip_rc(rc) : -ENOMEM;
	}
	return 0;
}

void sip_uri_free(sip_uri_t *u)
{
	osip_uri_free(u);
}

/* ---- Contacts ---- */

int sip_msg_contact_count(const sip_msg_t *m)
{
	int n = m ? osip_list_size(&m->contacts) : 0;

	return n < 0 ? 0 : n;
}

const sip_contact_t *sip_msg_contact(const sip_msg_t *m, int pos)
{
	return m && pos >= 0 ? osip_list_get(&m->contacts, pos) : NULL;
}

bool sip_contact_is_star(const sip_contact_t *c)
{
	return c && !c->url && c->displayname && !strcmp(c->displayname, "*");
}

const sip_uri_t *sip_contact_uri(const sip_contact_t *c)
{
	return c ? c->url : NULL;
}

int sip_contact_param_count(const sip_contact_t *c)
{
	return c ? osip_list_size(&c->gen_params) : 0;
}

bool sip_contact_param(const sip_contact_t *c, const char *name, const char **value, bool *dup)
{
	const osip_generic_param_t *p, *found = NULL;
	int i, n = c ? osip_list_size(&c->gen_params) : 0;

	for (i = 0; i < n; i++) {
		p = osip_list_get(&c->gen_params, i);
		if (!p || !p->gname || strcasecmp(p->gname, name))
			continue;
		if (found)
			*dup = true;
		else
			found = p;
	}
	*value = found ? found->gvalue : NULL;
	return found != NULL;
}

int sip_msg_add_contact(sip_msg_t *m, const char *value)
{
	if (!m || !value)
		return -EINVAL;
	return osip_message_set_contact(m, value) == 0 ? 0 : -ENOMEM;
}

void sip_msg_truncate_contacts(sip_msg_t *m, int keep)
{
	osip_contact_t *h;

	while (m && osip_list_size(&m->contacts) > keep) {
		h = osip_list_get(&m->contacts, keep);
		osip_list_remove(&m->contacts, keep);
		osip_contact_free(h);
	}
}

/* ---- credentials (Authorization, Proxy-Authorization) ---- */

static osip_list_t *cred_list(const sip_msg_t *m, bool proxy)
{
	return (osip_list_t *)(proxy ? &m->proxy_authorizations : &m->authorizations);
}

int sip_msg_cred_count(const sip_msg_t *m, bool proxy)
{
	return m ? osip_list_size(cred_list(m, proxy)) : 0;
}

int sip_msg_cred_text(const sip_msg_t *m, bool proxy, int pos, char **out)
{
	osip_authorization_t *h;

	*out = NULL;
	if (!m || !(h = osip_list_get(cred_list(m, proxy), pos)))
		return -ENOENT;
	if (osip_authorization_to_str(h, out) != 0 || !*out) {
		osip_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

void sip_msg_cred_remove(sip_msg_t *m, bool proxy, int pos)
{
	osip_authorization_t *h;

	if (!m || !(h = osip_list_get(cred_list(m, proxy), pos)))
		return;
	osip_list_remove(cred_list(m, proxy), pos);
	osip_authorization_free(h);
}
