/* msg: encoder and decoder of control-channel messages.
 *
 * Theory of operation. The format is described once, as data:
 *  - tlv_defs[] gives every known TLV type its value layout (kind);
 *  - each message type has a schema: the TLVs it may carry, sorted by
 *    type, each with "required", "result" (reply only, present only when
 *    STATUS is OK) and a maximum count;
 *  - struct view maps a message's struct onto TLV types: one pointer per
 *    field a TLV can land in, NULL where the message has no such field.
 * Decoding walks the TLVs once, checks order, duplicates, counts and
 * placement against the schema, decodes each value into the field the view
 * names (value-level checks happen there), then checks required/result
 * presence and finally cross-field consistency (check_body). Encoding runs
 * check_body, then walks the schema in order and emits each TLV whose
 * field is present, through the same value validators. Because the schema
 * is sorted and "absent" is never a valid wire value, the encoder's output
 * is the only encoding the decoder accepts for that struct.
 */
#include <string.h>

#include "wire.h"

#include <libcontrol/msg.h>

enum kind {
	K_FLAG,
	K_U8,
	K_U16,
	K_U32,
	K_U64,
	K_TEXT,
	K_NAME,
	K_EP,
	K_MATCH,
	K_TARGET,
	K_WADDR,
	K_WRANGE,
	K_B32,
	K_U16LIST,
	K_STAT,
	K_COUNTERS,
};

struct tlv_def {
	uint16_t type;
	uint8_t kind;
};

static const struct tlv_def tlv_defs[] = {
	{NC_T_NAME, K_TEXT},
	{NC_T_REASON, K_TEXT},
	{NC_T_LABEL, K_TEXT},
	{NC_T_OWNER, K_TEXT},
	{NC_T_COUNTERS, K_COUNTERS},
	{NC_T_STATUS, K_U16},
	{NC_T_EPOCH, K_U64},
	{NC_T_AUTH_NONCE, K_B32},
	{NC_T_AUTH_MAC, K_B32},
	{NC_T_BINDING_ID, K_U32},
	{NC_T_KIND, K_U8},
	{NC_T_DIRECTION, K_U8},
	{NC_T_PROTO, K_U8},
	{NC_T_IN_REALM, K_NAME},
	{NC_T_EXT_REALM, K_NAME},
	{NC_T_ENDPOINT, K_EP},
	{NC_T_ALLOC, K_EP},
	{NC_T_WANT_ADDR, K_WADDR},
	{NC_T_WANT_RANGE, K_WRANGE},
	{NC_T_WANT_PORT, K_U16},
	{NC_T_RTP_PAIR, K_FLAG},
	{NC_T_PREFER_FAILURE, K_FLAG},
	{NC_T_LIFETIME, K_U32},
	{NC_T_TRANSIT, K_NAME},
	{NC_T_PEER, K_MATCH},
	{NC_T_FILTER, K_MATCH},
	{NC_T_TARGET, K_TARGET},
	{NC_T_DROP_DEFAULT, K_FLAG},
	{NC_T_MINE, K_FLAG},
	{NC_T_COUNT, K_U32},
	{NC_T_STAT, K_STAT},
	{NC_T_CAP_MSGS, K_U16LIST},
	{NC_T_CAP_TLVS, K_U16LIST},
	{NC_T_REALM, K_NAME},
	{NC_T_LIFETIME_MAX, K_U32},
	{NC_T_QUOTA, K_U32},
	{NC_T_EVENT_TYPE, K_U8},
	{NC_T_EVENT_MASK, K_U32},
	{NC_T_LATCH, K_U32},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct tlv_def *tlv_def(uint16_t type)
{
	size_t i;

	for (i = 0; i < NELEM(tlv_defs); i++)
		if (tlv_defs[i].type == type)
			return &tlv_defs[i];
	return NULL;
}

/* Whether integer value x is in the range of TLV type t. */
static bool int_ok(uint16_t t, uint64_t x)
{
	switch (t) {
	case NC_T_STATUS:
		return x <= NC_ST_MAX;
	case NC_T_KIND:
		return x >= NC_KIND_DYNAMIC && x <= NC_KIND_MANAGED;
	case NC_T_DIRECTION:
		return x >= NC_DIR_TERM && x <= NC_DIR_BOTH;
	case NC_T_PROTO:
		return x == NC_PROTO_ICMP || x == NC_PROTO_TCP || x == NC_PROTO_UDP;
	case NC_T_LIFETIME:
		return x >= 1 && x <= NC_LIFETIME_MAX;
	case NC_T_EVENT_TYPE:
		return x >= NC_EV_CREATED && x <= NC_EV_EXPIRED;
	case NC_T_EVENT_MASK:
		return x >= 1 && x <= NC_EV_ALL;
	case NC_T_LATCH:
		return x >= 1 && x <= NC_LATCH_MAX;
	case NC_T_COUNT:
		return true;
	default: /* EPOCH, BINDING_ID, WANT_PORT, LIFETIME_MAX, QUOTA */
		return x >= 1;
	}
}

/* ---- schemas ---- */

#define REQ 0x1 /* required (a result: required when STATUS is OK) */
#define RES 0x2 /* a result: present only when STATUS is OK */

struct rule {
	uint16_t type;
	uint8_t flags;
	uint16_t max;
};

#define STATUS_RULES {NC_T_REASON, 0, 1}, {NC_T_STATUS, REQ, 1}, {NC_T_EPOCH, REQ, 1}

static const struct rule r_hello[] = {{NC_T_NAME, 0, 1}};
static const struct rule r_hello_r[] = {
	{NC_T_NAME, RES, 1}, STATUS_RULES, {NC_T_AUTH_NONCE, RES, 1}};
static const struct rule r_auth[] = {{NC_T_AUTH_NONCE, REQ, 1}, {NC_T_AUTH_MAC, REQ, 1}};
static const struct rule r_auth_r[] = {STATUS_RULES, {NC_T_AUTH_MAC, REQ | RES, 1}};
static const struct rule r_caps_r[] = {
	STATUS_RULES,
	{NC_T_TRANSIT, RES, NC_LIST_MAX},
	{NC_T_CAP_MSGS, REQ | RES, 1},
	{NC_T_CAP_TLVS, REQ | RES, 1},
	{NC_T_REALM, RES, NC_LIST_MAX},
	{NC_T_LIFETIME_MAX, REQ | RES, 1},
	{NC_T_QUOTA, RES, 1},
};
static const struct rule r_bind[] = {
	{NC_T_LABEL, 0, 1},
	{NC_T_DIRECTION, REQ, 1},
	{NC_T_PROTO, REQ, 1},
	{NC_T_IN_REALM, REQ, 1},
	{NC_T_EXT_REALM, REQ, 1},
	{NC_T_ENDPOINT, REQ, 1},
	{NC_T_WANT_ADDR, 0, 1},
	{NC_T_WANT_RANGE, 0, 1},
	{NC_T_WANT_PORT, 0, 1},
	{NC_T_RTP_PAIR, 0, 1},
	{NC_T_PREFER_FAILURE, 0, 1},
	{NC_T_LIFETIME, 0, 1},
	{NC_T_TRANSIT, 0, 1},
	{NC_T_PEER, 0, 1},
	{NC_T_FILTER, 0, NC_FILTER_MAX},
	{NC_T_TARGET, 0, NC_TARGET_MAX},
	{NC_T_DROP_DEFAULT, 0, 1},
	{NC_T_LATCH, 0, 1},
};
static const struct rule r_bind_r[] = {
	STATUS_RULES,
	{NC_T_BINDING_ID, REQ | RES, 1},
	{NC_T_ALLOC, REQ | RES, 1},
	{NC_T_LIFETIME, REQ | RES, 1},
};
static const struct rule r_refresh[] = {
	{NC_T_EPOCH, REQ, 1}, {NC_T_BINDING_ID, REQ, 1}, {NC_T_LIFETIME, 0, 1}};
static const struct rule r_refresh_r[] = {STATUS_RULES, {NC_T_LIFETIME, REQ | RES, 1}};
static const struct rule r_release[] = {{NC_T_EPOCH, REQ, 1}, {NC_T_BINDING_ID, REQ, 1}};
static const struct rule r_status[] = {STATUS_RULES};
static const struct rule r_list[] = {
	{NC_T_BINDING_ID, 0, 1}, {NC_T_KIND, 0, 1}, {NC_T_MINE, 0, 1}};
#define ITEM_RULES                                                                            \
	{NC_T_LABEL, 0, 1}, {NC_T_OWNER, 0, 1}, {NC_T_COUNTERS, 0, 1},                       \
		{NC_T_BINDING_ID, REQ, 1}, {NC_T_KIND, REQ, 1}, {NC_T_DIRECTION, REQ, 1},     \
		{NC_T_PROTO, REQ, 1}, {NC_T_IN_REALM, REQ, 1}, {NC_T_EXT_REALM, REQ, 1},      \
		{NC_T_ENDPOINT, REQ, 1}, {NC_T_ALLOC, REQ, 1}, {NC_T_LIFETIME, 0, 1},         \
		{NC_T_TRANSIT, 0, 1}, {NC_T_PEER, 0, 1}, {NC_T_FILTER, 0, NC_FILTER_MAX},     \
		{NC_T_TARGET, 0, NC_TARGET_MAX}, {NC_T_DROP_DEFAULT, 0, 1}
static const struct rule r_item[] = {ITEM_RULES, {NC_T_LATCH, 0, 1}};
static const struct rule r_event[] = {ITEM_RULES, {NC_T_EVENT_TYPE, REQ, 1}, {NC_T_LATCH, 0, 1}};
static const struct rule r_list_r[] = {STATUS_RULES, {NC_T_COUNT, REQ | RES, 1}};
static const struct rule r_stats_r[] = {STATUS_RULES, {NC_T_STAT, RES, NC_STATS_MAX}};
static const struct rule r_watch[] = {{NC_T_EVENT_MASK, 0, 1}};
static const struct rule r_ha[] = {{NC_T_NAME, 0, 1}};

#define MAX_RULES 24
_Static_assert(NELEM(r_event) <= MAX_RULES, "MAX_RULES too small");

struct schema {
	uint16_t type;
	const char *name;
	const struct rule *rules;
	uint8_t nrules;
};

#define S(t, r) {NC_MSG_##t, #t, r, NELEM(r)}
#define S0(t) {NC_MSG_##t, #t, NULL, 0}
static const struct schema schemas[] = {
	S(HELLO, r_hello),         S(HELLO_R, r_hello_r),     S(AUTH, r_auth),
	S(AUTH_R, r_auth_r),       S0(CAPS),                  S(CAPS_R, r_caps_r),
	S(BIND, r_bind),           S(BIND_R, r_bind_r),       S(REFRESH, r_refresh),
	S(REFRESH_R, r_refresh_r), S(RELEASE, r_release),     S(RELEASE_R, r_status),
	S(LIST, r_list),           S(LIST_ITEM, r_item),      S(LIST_R, r_list_r),
	S0(STATS),                 S(STATS_R, r_stats_r),     S(WATCH, r_watch),
	S(WATCH_R, r_status),      S(EVENT, r_event),         S(ERROR, r_status),
	S(HA, r_ha),               S(HA_R, r_stats_r),
};

static const struct schema *schema_of(uint16_t type)
{
	size_t i;

	for (i = 0; i < NELEM(schemas); i++)
		if (schemas[i].type == type)
			return &schemas[i];
	return NULL;
}

static bool is_reply(uint16_t type)
{
	return (type & NC_MSG_REPLY) != 0;
}

/* ---- views ---- */

struct view {
	struct nc_status *st;
	char *name;
	char *owner;
	bool *has_counters;
	struct nc_counters *counters;
	struct nc_spec *spec;
	struct nc_bind *bind;
	uint64_t *epoch;
	uint8_t *nonce;
	bool *has_nonce; /* NULL: the nonce is always present */
	uint8_t *mac;
	uint32_t *id;
	uint8_t *kind;
	struct nc_ep *alloc;
	uint32_t *lifetime;
	bool *mine;
	uint32_t *count;
	struct nc_stats_r *stats;
	struct nc_caps_r *caps;
	uint8_t *event;
	uint32_t *mask;
};

static void view_item(struct nc_item *it, struct view *v)
{
	v->id = &it->id;
	v->kind = &it->kind;
	v->spec = &it->spec;
	v->alloc = &it->alloc;
	v->lifetime = &it->lifetime;
	v->owner = it->owner;
	v->has_counters = &it->has_counters;
	v->counters = &it->counters;
}

/* Point v at the fields of body, a struct of the kind msg.h names for type. */
static void view_of(uint16_t type, void *body, struct view *v)
{
	memset(v, 0, sizeof(*v));
	if (is_reply(type)) {
		v->st = body; /* struct nc_status is every reply's first member */
		v->epoch = &v->st->epoch;
	}
	switch (type) {
	case NC_MSG_HELLO:
		v->name = ((struct nc_hello *)body)->name;
		break;
	case NC_MSG_HELLO_R: {
		struct nc_hello_r *r = body;

		v->name = r->name;
		v->nonce = r->nonce;
		v->has_nonce = &r->has_nonce;
		break;
	}
	case NC_MSG_AUTH: {
		struct nc_auth *a = body;

		v->nonce = a->nonce;
		v->mac = a->mac;
		break;
	}
	case NC_MSG_AUTH_R:
		v->mac = ((struct nc_auth_r *)body)->mac;
		break;
	case NC_MSG_CAPS_R:
		v->caps = body;
		break;
	case NC_MSG_BIND: {
		struct nc_bind *b = body;

		v->bind = b;
		v->spec = &b->spec;
		v->lifetime = &b->lifetime;
		break;
	}
	case NC_MSG_BIND_R: {
		struct nc_bind_r *r = body;

		v->id = &r->id;
		v->alloc = &r->alloc;
		v->lifetime = &r->lifetime;
		break;
	}
	case NC_MSG_REFRESH: {
		struct nc_refresh *r = body;

		v->epoch = &r->epoch;
		v->id = &r->id;
		v->lifetime = &r->lifetime;
		break;
	}
	case NC_MSG_REFRESH_R:
		v->lifetime = &((struct nc_refresh_r *)body)->lifetime;
		break;
	case NC_MSG_RELEASE: {
		struct nc_release *r = body;

		v->epoch = &r->epoch;
		v->id = &r->id;
		break;
	}
	case NC_MSG_LIST: {
		struct nc_list *l = body;

		v->id = &l->id;
		v->kind = &l->kind;
		v->mine = &l->mine;
		break;
	}
	case NC_MSG_LIST_ITEM:
		view_item(body, v);
		break;
	case NC_MSG_LIST_R:
		v->count = &((struct nc_list_r *)body)->count;
		break;
	case NC_MSG_STATS_R:
	case NC_MSG_HA_R:
		v->stats = body;
		break;
	case NC_MSG_HA:
		v->name = ((struct nc_ha *)body)->op;
		break;
	case NC_MSG_WATCH:
		v->mask = &((struct nc_watch *)body)->mask;
		break;
	case NC_MSG_EVENT: {
		struct nc_event *e = body;

		v->event = &e->event;
		view_item(&e->item, v);
		break;
	}
	default: /* CAPS, STATS: empty; RELEASE_R, WATCH_R, ERROR: status only */
		break;
	}
}

/* ---- decoding values into the view ---- */

static int get_int(uint16_t t, const uint8_t *p, size_t len, size_t size, uint64_t *x)
{
	if (len != size)
		return NC_E_BADLEN;
	*x = size == 1 ? p[0] : size == 2 ? nc_ld16(p) : size == 4 ? nc_ld32(p) : nc_ld64(p);
	return int_ok(t, *x) ? 0 : NC_E_RANGE;
}

static int get_target(const uint8_t *p, size_t len, struct nc_target *tg)
{
	size_t mlen;
	int err;

	if (len < 1)
		return NC_E_BADLEN;
	if (!(mlen = nc_match_len(p[0])))
		return NC_E_RANGE;
	if (len <= mlen)
		return NC_E_BADLEN;
	if ((err = nc_get_match(p, mlen, &tg->from)) < 0)
		return err;
	return nc_get_ep(p + mlen, len - mlen, &tg->to);
}

/* WANT_ADDR: family, plen, addr. WANT_RANGE: family, 0, lo, hi. */
static int get_want(uint16_t t, const uint8_t *p, size_t len, struct nc_bind *b)
{
	size_t alen;

	if (b->want != NC_WANT_ANY)
		return NC_E_INCONSISTENT; /* WANT_ADDR and WANT_RANGE */
	if (len < 1)
		return NC_E_BADLEN;
	if (!(alen = nc_af_len(p[0])))
		return NC_E_RANGE;
	if (len != 2 + alen * (t == NC_T_WANT_RANGE ? 2 : 1))
		return NC_E_BADLEN;
	b->want_addr.af = p[0];
	memcpy(b->want_addr.a, p + 2, alen);
	if (t == NC_T_WANT_ADDR) {
		b->want = NC_WANT_PREFIX;
		b->want_plen = p[1];
		return nc_check_prefix(&b->want_addr, p[1]);
	}
	if (p[1] != 0)
		return NC_E_RANGE;
	b->want = NC_WANT_RANGE;
	b->want_hi.af = p[0];
	memcpy(b->want_hi.a, p + 2 + alen, alen);
	return nc_ip_cmp(&b->want_addr, &b->want_hi) <= 0 ? 0 : NC_E_RANGE;
}

static int get_u16list(const uint8_t *p, size_t len, uint16_t *out, unsigned *n)
{
	size_t i;

	if (len == 0 || len % 2)
		return NC_E_BADLEN;
	if (len / 2 > NC_CAP_MAX)
		return NC_E_OVERSIZE;
	for (i = 0; i < len / 2; i++)
		out[i] = nc_ld16(p + 2 * i);
	*n = (unsigned)(len / 2);
	return 0;
}

static int get_stat(const uint8_t *p, size_t len, struct nc_stat *s)
{
	if (len < 8)
		return NC_E_BADLEN;
	s->value = nc_ld64(p);
	return nc_get_str(p + 8, len - 8, true, s->name);
}

/* Decode one known TLV value into the field v names for it. The schema
 * has already checked that the message has that field and the count. */
static int get_field(const struct view *v, const struct tlv_def *d, const uint8_t *p, size_t len)
{
	uint64_t x = 0;
	int err;

	switch (d->kind) {
	case K_FLAG:
		if (len != 0)
			return NC_E_BADLEN;
		break;
	case K_U8:
	case K_U16:
	case K_U32:
	case K_U64: {
		static const size_t sz[] = {[K_U8] = 1, [K_U16] = 2, [K_U32] = 4, [K_U64] = 8};

		if ((err = get_int(d->type, p, len, sz[d->kind], &x)) < 0)
			return err;
		break;
	}
	case K_B32:
		if (len != 32)
			return NC_E_BADLEN;
		break;
	case K_COUNTERS:
		if (len != 32)
			return NC_E_BADLEN;
		break;
	default:
		break;
	}

	switch (d->type) {
	case NC_T_NAME:
		return nc_get_str(p, len, false, v->name);
	case NC_T_REASON:
		return nc_get_str(p, len, false, v->st->reason);
	case NC_T_LABEL:
		return nc_get_str(p, len, false, v->spec->label);
	case NC_T_OWNER:
		return nc_get_str(p, len, false, v->owner);
	case NC_T_COUNTERS:
		v->counters->pkts_in = nc_ld64(p);
		v->counters->bytes_in = nc_ld64(p + 8);
		v->counters->pkts_out = nc_ld64(p + 16);
		v->counters->bytes_out = nc_ld64(p + 24);
		*v->has_counters = true;
		return 0;
	case NC_T_STATUS:
		v->st->code = (uint16_t)x;
		return 0;
	case NC_T_EPOCH:
		*v->epoch = x;
		return 0;
	case NC_T_AUTH_NONCE:
		memcpy(v->nonce, p, NC_NONCE_LEN);
		if (v->has_nonce)
			*v->has_nonce = true;
		return 0;
	case NC_T_AUTH_MAC:
		memcpy(v->mac, p, NC_MAC_LEN);
		return 0;
	case NC_T_BINDING_ID:
		*v->id = (uint32_t)x;
		return 0;
	case NC_T_KIND:
		*v->kind = (uint8_t)x;
		return 0;
	case NC_T_DIRECTION:
		v->spec->dir = (uint8_t)x;
		return 0;
	case NC_T_PROTO:
		v->spec->proto = (uint8_t)x;
		return 0;
	case NC_T_IN_REALM:
		return nc_get_str(p, len, true, v->spec->in_realm);
	case NC_T_EXT_REALM:
		return nc_get_str(p, len, true, v->spec->ext_realm);
	case NC_T_ENDPOINT:
		return nc_get_ep(p, len, &v->spec->ep);
	case NC_T_ALLOC:
		return nc_get_ep(p, len, v->alloc);
	case NC_T_WANT_ADDR:
	case NC_T_WANT_RANGE:
		return get_want(d->type, p, len, v->bind);
	case NC_T_WANT_PORT:
		v->bind->want_port = (uint16_t)x;
		return 0;
	case NC_T_RTP_PAIR:
		v->bind->rtp_pair = true;
		return 0;
	case NC_T_PREFER_FAILURE:
		v->bind->prefer_failure = true;
		return 0;
	case NC_T_LIFETIME:
		*v->lifetime = (uint32_t)x;
		return 0;
	case NC_T_TRANSIT:
		if (v->caps)
			return nc_get_str(p, len, true, v->caps->transits[v->caps->ntransits++]);
		return nc_get_str(p, len, true, v->spec->transit);
	case NC_T_PEER:
		v->spec->has_peer = true;
		return nc_get_match(p, len, &v->spec->peer);
	case NC_T_FILTER:
		return nc_get_match(p, len, &v->spec->filters[v->spec->nfilters++]);
	case NC_T_TARGET:
		return get_target(p, len, &v->spec->targets[v->spec->ntargets++]);
	case NC_T_DROP_DEFAULT:
		v->spec->drop_default = true;
		return 0;
	case NC_T_MINE:
		*v->mine = true;
		return 0;
	case NC_T_COUNT:
		*v->count = (uint32_t)x;
		return 0;
	case NC_T_STAT:
		return get_stat(p, len, &v->stats->stats[v->stats->n++]);
	case NC_T_CAP_MSGS:
		return get_u16list(p, len, v->caps->msgs, &v->caps->nmsgs);
	case NC_T_CAP_TLVS:
		return get_u16list(p, len, v->caps->tlvs, &v->caps->ntlvs);
	case NC_T_REALM:
		return nc_get_str(p, len, true, v->caps->realms[v->caps->nrealms++]);
	case NC_T_LIFETIME_MAX:
		v->caps->lifetime_max = (uint32_t)x;
		return 0;
	case NC_T_QUOTA:
		v->caps->quota = (uint32_t)x;
		return 0;
	case NC_T_EVENT_TYPE:
		*v->event = (uint8_t)x;
		return 0;
	case NC_T_EVENT_MASK:
		*v->mask = (uint32_t)x;
		return 0;
	case NC_T_LATCH:
		v->spec->latch = (uint32_t)x;
		return 0;
	}
	return NC_E_TYPE; /* a tlv_defs[] entry without a case: not reached */
}

/* ---- consistency (decoder and encoder alike) ---- */

static int check_spec(const struct nc_spec *s, bool request)
{
	unsigned i;

	if (s->nfilters > NC_FILTER_MAX || s->ntargets > NC_TARGET_MAX)
		return NC_E_TOOMANY;
	if (request && s->proto != NC_PROTO_UDP && s->proto != NC_PROTO_TCP)
		return NC_E_RANGE; /* only UDP and TCP bindings can be requested */
	if (s->proto != NC_PROTO_ICMP && s->ep.port == 0)
		return NC_E_RANGE;
	for (i = 0; i < s->ntargets; i++)
		if (s->targets[i].to.port == 0)
			return NC_E_RANGE;
	if (s->dir < NC_DIR_TERM || s->dir > NC_DIR_BOTH)
		return 0; /* refused where DIRECTION is checked (missing or out of range) */
	if ((s->nfilters || s->ntargets || s->drop_default) && !(s->dir & NC_DIR_TERM))
		return NC_E_INCONSISTENT;
	if (s->has_peer && !(s->dir & NC_DIR_ORIG))
		return NC_E_INCONSISTENT;
	if (s->drop_default && !s->ntargets)
		return NC_E_INCONSISTENT;
	if (s->latch && !s->nfilters)
		return NC_E_INCONSISTENT;
	return 0;
}

static int check_want(const struct nc_bind *b)
{
	switch (b->want) {
	case NC_WANT_ANY:
		break;
	case NC_WANT_PREFIX:
		if (nc_check_prefix(&b->want_addr, b->want_plen) < 0)
			return NC_E_RANGE;
		break;
	case NC_WANT_RANGE:
		if (!nc_af_len(b->want_addr.af) || b->want_hi.af != b->want_addr.af ||
		    nc_ip_cmp(&b->want_addr, &b->want_hi) > 0)
			return NC_E_RANGE;
		break;
	default:
		return NC_E_RANGE;
	}
	if (b->rtp_pair && (b->want_port & 1))
		return NC_E_INCONSISTENT; /* RTP goes on the even port */
	return 0;
}

static int check_body(uint16_t type, const struct view *v)
{
	bool ok = !v->st || v->st->code == NC_ST_OK;
	int err;

	if (type == NC_MSG_ERROR && ok)
		return NC_E_RANGE; /* ERROR always reports a failure */
	if (v->spec && (err = check_spec(v->spec, type == NC_MSG_BIND)) < 0)
		return err;
	if (v->bind && (err = check_want(v->bind)) < 0)
		return err;
	if (ok && v->alloc && v->alloc->ip.af) {
		uint8_t proto = v->spec ? v->spec->proto : NC_PROTO_UDP;

		if (proto != NC_PROTO_ICMP && v->alloc->port == 0)
			return NC_E_RANGE;
	}
	if (v->stats && v->stats->n > NC_STATS_MAX)
		return NC_E_TOOMANY;
	if (v->caps && (v->caps->nrealms > NC_LIST_MAX || v->caps->ntransits > NC_LIST_MAX))
		return NC_E_TOOMANY;
	return 0;
}

/* ---- framing and header ---- */

int nc_header(const void *buf, size_t len, struct nc_hdr *h)
{
	const uint8_t *p = buf;

	if (!buf || !h)
		return NC_E_INVAL;
	if (len < NC_HDR_LEN)
		return NC_E_SHORT;
	if (p[0] != NC_MAGIC0 || p[1] != NC_MAGIC1)
		return NC_E_MAGIC;
	h->version = p[2];
	h->flags = p[3];
	h->type = nc_ld16(p + 4);
	h->length = nc_ld32(p + 8);
	h->reqid = nc_ld32(p + 12);
	return 0;
}

int nc_frame(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t mlen;

	if (!buf && len)
		return NC_E_INVAL;
	if ((len >= 1 && p[0] != NC_MAGIC0) || (len >= 2 && p[1] != NC_MAGIC1))
		return NC_E_MAGIC;
	if (len < 12)
		return 0;
	mlen = nc_ld32(p + 8);
	if (mlen < NC_HDR_LEN || mlen > NC_MSG_MAX)
		return NC_E_LENGTH;
	return len >= mlen ? (int)mlen : 0;
}

/* ---- decoder ---- */

static const struct rule *find_rule(const struct schema *s, uint16_t type, size_t *idx)
{
	size_t i;

	for (i = 0; i < s->nrules; i++)
		if (s->rules[i].type == type) {
			*idx = i;
			return &s->rules[i];
		}
	return NULL;
}

int nc_decode(const void *buf, size_t len, struct nc_msg *m)
{
	const uint8_t *p = buf;
	const struct schema *s;
	unsigned count[MAX_RULES] = {0};
	struct nc_hdr h;
	struct view v;
	size_t off, i;
	int prev = -1, err;
	bool ok;

	if (!m)
		return NC_E_INVAL;
	if ((err = nc_header(buf, len, &h)) < 0)
		return err;
	if (h.version != NC_PROTO_VERSION)
		return NC_E_VERSION;
	if (h.flags != 0 || p[6] != 0 || p[7] != 0)
		return NC_E_HEADER;
	if (h.length < NC_HDR_LEN || h.length > NC_MSG_MAX)
		return NC_E_LENGTH;
	if (h.length > len)
		return NC_E_SHORT;
	if (h.length < len)
		return NC_E_TRAILING;
	if (!(s = schema_of(h.type)))
		return NC_E_TYPE;
	if (h.reqid == 0 && h.type != NC_MSG_ERROR)
		return NC_E_REQID;

	memset(m, 0, sizeof(*m));
	m->type = h.type;
	m->reqid = h.reqid;
	view_of(h.type, &m->u, &v);

	for (off = NC_HDR_LEN; off < len;) {
		const struct tlv_def *d;
		const struct rule *r;
		uint16_t t, tlen;
		size_t ri;

		if (len - off < 4)
			return NC_E_TRAILING;
		t = nc_ld16(p + off);
		tlen = nc_ld16(p + off + 2);
		off += 4;
		if (tlen > len - off)
			return NC_E_TRUNCATED;
		if ((int)t < prev)
			return NC_E_ORDER;
		if (!(d = tlv_def(t))) {
			if (t & NC_T_CRITICAL)
				return NC_E_CRITICAL;
			m->skipped++;
		} else {
			if (!(r = find_rule(s, t, &ri)))
				return NC_E_MISPLACED;
			if ((int)t == prev && r->max == 1)
				return NC_E_DUPLICATE;
			if (++count[ri] > r->max)
				return NC_E_TOOMANY;
			if ((err = get_field(&v, d, p + off, tlen)) < 0)
				return err;
		}
		prev = t;
		off += tlen;
	}

	ok = !v.st || v.st->code == NC_ST_OK;
	for (i = 0; i < s->nrules; i++) {
		const struct rule *r = &s->rules[i];

		if ((r->flags & RES) && !ok && count[i])
			return NC_E_MISPLACED; /* a result in a failure reply */
		if ((r->flags & REQ) && (ok || !(r->flags & RES)) && !count[i])
			return NC_E_MISSING;
	}
	return check_body(h.type, &v);
}

/* ---- encoder ---- */

static void put_int(struct nc_wr *w, uint16_t t, size_t size, uint64_t x)
{
	size_t off = nc_wr_tlv_begin(w, t);

	if (size == 1)
		nc_wr_u8(w, (uint8_t)x);
	else if (size == 2)
		nc_wr_u16(w, (uint16_t)x);
	else if (size == 4)
		nc_wr_u32(w, (uint32_t)x);
	else
		nc_wr_u64(w, x);
	nc_wr_tlv_end(w, off);
}

/* Emit integer TLV t unless x is its "absent" mark (0 when 0 is not a
 * valid value). Returns TLVs written or NC_E_RANGE. */
static int emit_int(struct nc_wr *w, uint16_t t, size_t size, uint64_t x)
{
	if (x == 0 && !int_ok(t, 0))
		return 0;
	if (!int_ok(t, x))
		return NC_E_RANGE;
	put_int(w, t, size, x);
	return 1;
}

static int emit_str(struct nc_wr *w, uint16_t t, const char *s, size_t size, bool name)
{
	int err;

	if (!s[0])
		return 0;
	return (err = nc_put_str(w, t, s, size, name)) < 0 ? err : 1;
}

static int emit_ep(struct nc_wr *w, uint16_t t, const struct nc_ep *ep)
{
	size_t off;

	if (!ep->ip.af)
		return 0;
	if (nc_check_ep(ep) < 0)
		return NC_E_RANGE;
	off = nc_wr_tlv_begin(w, t);
	nc_put_ep(w, ep);
	nc_wr_tlv_end(w, off);
	return 1;
}

static int emit_match(struct nc_wr *w, uint16_t t, const struct nc_match *m)
{
	size_t off;

	if (nc_check_match(m) < 0)
		return NC_E_RANGE;
	off = nc_wr_tlv_begin(w, t);
	nc_put_match(w, m);
	nc_wr_tlv_end(w, off);
	return 1;
}

static int emit_flag(struct nc_wr *w, uint16_t t, bool on)
{
	if (!on)
		return 0;
	nc_wr_tlv_end(w, nc_wr_tlv_begin(w, t));
	return 1;
}

static int emit_bytes(struct nc_wr *w, uint16_t t, const void *p, size_t n)
{
	size_t off = nc_wr_tlv_begin(w, t);

	nc_wr_bytes(w, p, n);
	nc_wr_tlv_end(w, off);
	return 1;
}

static int emit_u16list(struct nc_wr *w, uint16_t t, const uint16_t *a, unsigned n)
{
	size_t off;
	unsigned i;

	if (n == 0)
		return 0;
	if (n > NC_CAP_MAX)
		return NC_E_OVERSIZE;
	off = nc_wr_tlv_begin(w, t);
	for (i = 0; i < n; i++)
		nc_wr_u16(w, a[i]);
	nc_wr_tlv_end(w, off);
	return 1;
}

static int emit_names(struct nc_wr *w, uint16_t t, char (*names)[NC_NAME_MAX + 1], unsigned n)
{
	unsigned i;
	int err;

	for (i = 0; i < n; i++) {
		if (!names[i][0])
			return NC_E_STRING; /* an empty entry cannot be sent */
		if ((err = nc_put_str(w, t, names[i], NC_NAME_MAX + 1, true)) < 0)
			return err;
	}
	return (int)n;
}

static int emit_want(struct nc_wr *w, uint16_t t, const struct nc_bind *b)
{
	size_t alen = nc_af_len(b->want_addr.af), off;

	if (t == NC_T_WANT_ADDR ? b->want != NC_WANT_PREFIX : b->want != NC_WANT_RANGE)
		return 0;
	off = nc_wr_tlv_begin(w, t);
	nc_wr_u8(w, b->want_addr.af);
	nc_wr_u8(w, t == NC_T_WANT_ADDR ? b->want_plen : 0);
	nc_wr_bytes(w, b->want_addr.a, alen);
	if (t == NC_T_WANT_RANGE)
		nc_wr_bytes(w, b->want_hi.a, alen);
	nc_wr_tlv_end(w, off);
	return 1;
}

/* Emit every TLV of type t that the fields v names hold. Returns the
 * number written or a negative NC_E_*. Values are checked on the way. */
static int emit_field(struct nc_wr *w, const struct view *v, uint16_t t)
{
	const struct nc_spec *s = v->spec;
	unsigned i;
	int err;

	switch (t) {
	case NC_T_NAME:
		return emit_str(w, t, v->name, NC_TEXT_MAX + 1, false);
	case NC_T_REASON:
		return emit_str(w, t, v->st->reason, NC_TEXT_MAX + 1, false);
	case NC_T_LABEL:
		return emit_str(w, t, s->label, NC_TEXT_MAX + 1, false);
	case NC_T_OWNER:
		return emit_str(w, t, v->owner, NC_TEXT_MAX + 1, false);
	case NC_T_COUNTERS: {
		size_t off;

		if (!*v->has_counters)
			return 0;
		off = nc_wr_tlv_begin(w, t);
		nc_wr_u64(w, v->counters->pkts_in);
		nc_wr_u64(w, v->counters->bytes_in);
		nc_wr_u64(w, v->counters->pkts_out);
		nc_wr_u64(w, v->counters->bytes_out);
		nc_wr_tlv_end(w, off);
		return 1;
	}
	case NC_T_STATUS:
		return emit_int(w, t, 2, v->st->code);
	case NC_T_EPOCH:
		return emit_int(w, t, 8, *v->epoch);
	case NC_T_AUTH_NONCE:
		if (v->has_nonce && !*v->has_nonce)
			return 0;
		return emit_bytes(w, t, v->nonce, NC_NONCE_LEN);
	case NC_T_AUTH_MAC:
		return emit_bytes(w, t, v->mac, NC_MAC_LEN);
	case NC_T_BINDING_ID:
		return emit_int(w, t, 4, *v->id);
	case NC_T_KIND:
		return emit_int(w, t, 1, *v->kind);
	case NC_T_DIRECTION:
		return emit_int(w, t, 1, s->dir);
	case NC_T_PROTO:
		return emit_int(w, t, 1, s->proto);
	case NC_T_IN_REALM:
		return emit_str(w, t, s->in_realm, NC_NAME_MAX + 1, true);
	case NC_T_EXT_REALM:
		return emit_str(w, t, s->ext_realm, NC_NAME_MAX + 1, true);
	case NC_T_ENDPOINT:
		return emit_ep(w, t, &s->ep);
	case NC_T_ALLOC:
		return emit_ep(w, t, v->alloc);
	case NC_T_WANT_ADDR:
	case NC_T_WANT_RANGE:
		return emit_want(w, t, v->bind);
	case NC_T_WANT_PORT:
		return emit_int(w, t, 2, v->bind->want_port);
	case NC_T_RTP_PAIR:
		return emit_flag(w, t, v->bind->rtp_pair);
	case NC_T_PREFER_FAILURE:
		return emit_flag(w, t, v->bind->prefer_failure);
	case NC_T_LIFETIME:
		return emit_int(w, t, 4, *v->lifetime);
	case NC_T_TRANSIT:
		if (v->caps)
			return emit_names(w, t, v->caps->transits, v->caps->ntransits);
		return emit_str(w, t, s->transit, NC_NAME_MAX + 1, true);
	case NC_T_PEER:
		return s->has_peer ? emit_match(w, t, &s->peer) : 0;
	case NC_T_FILTER:
		for (i = 0; i < s->nfilters; i++)
			if ((err = emit_match(w, t, &s->filters[i])) < 0)
				return err;
		return (int)s->nfilters;
	case NC_T_TARGET:
		for (i = 0; i < s->ntargets; i++) {
			const struct nc_target *tg = &s->targets[i];
			size_t off;

			if (nc_check_match(&tg->from) < 0 || nc_check_ep(&tg->to) < 0)
				return NC_E_RANGE;
			off = nc_wr_tlv_begin(w, t);
			nc_put_match(w, &tg->from);
			nc_put_ep(w, &tg->to);
			nc_wr_tlv_end(w, off);
		}
		return (int)s->ntargets;
	case NC_T_DROP_DEFAULT:
		return emit_flag(w, t, s->drop_default);
	case NC_T_MINE:
		return emit_flag(w, t, *v->mine);
	case NC_T_COUNT:
		return emit_int(w, t, 4, *v->count);
	case NC_T_STAT:
		for (i = 0; i < v->stats->n; i++) {
			const struct nc_stat *st = &v->stats->stats[i];
			size_t n = strnlen(st->name, sizeof(st->name)), off;

			if (n == sizeof(st->name))
				return NC_E_UNTERMINATED;
			if ((err = nc_str_check((const uint8_t *)st->name, n, true)) < 0)
				return err;
			off = nc_wr_tlv_begin(w, t);
			nc_wr_u64(w, st->value);
			nc_wr_bytes(w, st->name, n + 1);
			nc_wr_tlv_end(w, off);
		}
		return (int)v->stats->n;
	case NC_T_CAP_MSGS:
		return emit_u16list(w, t, v->caps->msgs, v->caps->nmsgs);
	case NC_T_CAP_TLVS:
		return emit_u16list(w, t, v->caps->tlvs, v->caps->ntlvs);
	case NC_T_REALM:
		return emit_names(w, t, v->caps->realms, v->caps->nrealms);
	case NC_T_LIFETIME_MAX:
		return emit_int(w, t, 4, v->caps->lifetime_max);
	case NC_T_QUOTA:
		return emit_int(w, t, 4, v->caps->quota);
	case NC_T_EVENT_TYPE:
		return emit_int(w, t, 1, *v->event);
	case NC_T_EVENT_MASK:
		return emit_int(w, t, 4, *v->mask);
	case NC_T_LATCH:
		return emit_int(w, t, 4, s->latch);
	}
	return NC_E_TYPE; /* a schema rule without a case: not reached */
}

int nc_encode(void *buf, size_t cap, uint16_t type, uint32_t reqid, const void *body)
{
	const struct schema *s;
	struct nc_wr w;
	struct view v;
	size_t i;
	bool ok;
	int err;

	if (!buf)
		return NC_E_INVAL;
	if (!(s = schema_of(type)))
		return NC_E_TYPE;
	if (reqid == 0 && type != NC_MSG_ERROR)
		return NC_E_REQID;
	if (!body && s->nrules)
		return NC_E_INVAL;
	/* The view only reads through its pointers here. */
	view_of(type, (void *)(uintptr_t)body, &v);
	if ((err = check_body(type, &v)) < 0)
		return err;

	nc_wr_init(&w, buf, cap);
	nc_wr_u8(&w, NC_MAGIC0);
	nc_wr_u8(&w, NC_MAGIC1);
	nc_wr_u8(&w, NC_PROTO_VERSION);
	nc_wr_u8(&w, 0);
	nc_wr_u16(&w, type);
	nc_wr_u16(&w, 0);
	nc_wr_u32(&w, 0); /* length, patched below */
	nc_wr_u32(&w, reqid);

	ok = !v.st || v.st->code == NC_ST_OK;
	for (i = 0; i < s->nrules; i++) {
		const struct rule *r = &s->rules[i];
		int n;

		if ((r->flags & RES) && !ok)
			continue; /* results go only with OK */
		if ((n = emit_field(&w, &v, r->type)) < 0)
			return n;
		if (n == 0 && (r->flags & REQ))
			return NC_E_MISSING;
		if ((unsigned)n > r->max)
			return NC_E_TOOMANY;
	}
	if (w.err)
		return w.err;
	w.p[8] = (uint8_t)(w.len >> 24);
	w.p[9] = (uint8_t)(w.len >> 16);
	w.p[10] = (uint8_t)(w.len >> 8);
	w.p[11] = (uint8_t)w.len;
	return (int)w.len;
}

int nc_encode_msg(void *buf, size_t cap, const struct nc_msg *m)
{
	if (!m)
		return NC_E_INVAL;
	return nc_encode(buf, cap, m->type, m->reqid, &m->u);
}

const char *nc_msg_name(uint16_t type)
{
	const struct schema *s = schema_of(type);

	return s ? s->name : NULL;
}

bool nc_msg_is_request(uint16_t type)
{
	return type >= NC_MSG_HELLO && type <= NC_MSG_HA;
}
