/* fmt: natctl's output (see fmt.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "fmt.h"

/* ---- values ---- */

static void fmt_ip(char *buf, size_t n, const struct nc_ip *ip)
{
	if (!inet_ntop(ip->af == NC_AF_IP6 ? AF_INET6 : AF_INET, ip->a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
}

void fmt_ep(char *buf, size_t n, const struct nc_ep *ep)
{
	char ip[INET6_ADDRSTRLEN];

	fmt_ip(ip, sizeof(ip), &ep->ip);
	snprintf(buf, n, ep->ip.af == NC_AF_IP6 ? "[%s]:%u" : "%s:%u", ip, ep->port);
}

void fmt_match(char *buf, size_t n, const struct nc_match *m)
{
	char ip[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 8], ports[16] = "";
	bool v6 = m->ip.af == NC_AF_IP6;

	fmt_ip(ip, sizeof(ip), &m->ip);
	if (m->plen == (v6 ? 128 : 32))
		snprintf(pfx, sizeof(pfx), "%s", ip);
	else
		snprintf(pfx, sizeof(pfx), "%s/%u", ip, m->plen);
	if (m->port_lo == m->port_hi)
		snprintf(ports, sizeof(ports), ":%u", m->port_lo);
	else if (m->port_lo != 0 || m->port_hi != 65535)
		snprintf(ports, sizeof(ports), ":%u-%u", m->port_lo, m->port_hi);
	if (v6 && ports[0])
		snprintf(buf, n, "[%s]%s", pfx, ports);
	else
		snprintf(buf, n, "%s%s", pfx, ports);
}

const char *fmt_dir(uint8_t dir)
{
	return dir == NC_DIR_TERM ? "term" : dir == NC_DIR_ORIG ? "orig" : dir == NC_DIR_BOTH ? "both" : "?";
}

const char *fmt_proto(uint8_t proto)
{
	return proto == NC_PROTO_UDP ? "udp" : proto == NC_PROTO_TCP ? "tcp" : proto == NC_PROTO_ICMP ? "icmp" : "?";
}

const char *fmt_kind(uint8_t kind)
{
	switch (kind) {
	case NC_KIND_DYNAMIC:
		return "dynamic";
	case NC_KIND_STATIC:
		return "static";
	case NC_KIND_MANAGED:
		return "managed";
	default:
		return "?";
	}
}

const char *fmt_event(uint8_t event)
{
	switch (event) {
	case NC_EV_CREATED:
		return "created";
	case NC_EV_REFRESHED:
		return "refreshed";
	case NC_EV_RELEASED:
		return "released";
	case NC_EV_EXPIRED:
		return "expired";
	default:
		return "?";
	}
}

/* ---- JSON ---- */

void fmt_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f); /* UTF-8 passes through: the codec checked it */
	}
	fputc('"', f);
}

/* A JSON object or array being written: tracks the commas. */
struct jw {
	FILE *f;
	bool first;
};

static void j_open(struct jw *j, FILE *f, char ch)
{
	j->f = f;
	j->first = true;
	fputc(ch, f);
}

static void j_key(struct jw *j, const char *key)
{
	if (!j->first)
		fputc(',', j->f);
	j->first = false;
	if (key)
		fprintf(j->f, "\"%s\":", key);
}

static void j_str(struct jw *j, const char *key, const char *val)
{
	j_key(j, key);
	fmt_json_str(j->f, val);
}

static void j_u64(struct jw *j, const char *key, uint64_t v)
{
	j_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

static void j_bool(struct jw *j, const char *key, bool v)
{
	j_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

static void j_status(struct jw *j, const struct nc_status *st)
{
	char epoch[24];

	j_str(j, "status", nc_status_str(st->code));
	if (st->reason[0])
		j_str(j, "reason", st->reason);
	snprintf(epoch, sizeof(epoch), "%" PRIu64, st->epoch);
	j_str(j, "epoch", epoch);
}

/* ---- replies ---- */

void fmt_status(FILE *f, const struct nc_status *st, bool json)
{
	struct jw j;

	if (!json) {
		fprintf(f, "%s%s%s\n", nc_status_str(st->code), st->reason[0] ? ": " : "", st->reason);
		return;
	}
	j_open(&j, f, '{');
	j_status(&j, st);
	fputs("}\n", f);
}

void fmt_bind_r(FILE *f, const struct nc_bind_r *r, bool json)
{
	char ep[FMT_EP_LEN];
	struct jw j;

	fmt_ep(ep, sizeof(ep), &r->alloc);
	if (!json) {
		fprintf(f, "id %" PRIu32 "\nalloc %s\nlifetime %" PRIu32 "\nepoch %" PRIu64 "\n", r->id,
			ep, r->lifetime, r->st.epoch);
		return;
	}
	j_open(&j, f, '{');
	j_status(&j, &r->st);
	j_u64(&j, "id", r->id);
	j_str(&j, "alloc", ep);
	j_u64(&j, "lifetime", r->lifetime);
	fputs("}\n", f);
}

void fmt_refresh_r(FILE *f, uint32_t id, const struct nc_refresh_r *r, bool json)
{
	struct jw j;

	if (!json) {
		fprintf(f, "id %" PRIu32 "\nlifetime %" PRIu32 "\n", id, r->lifetime);
		return;
	}
	j_open(&j, f, '{');
	j_status(&j, &r->st);
	j_u64(&j, "id", id);
	j_u64(&j, "lifetime", r->lifetime);
	fputs("}\n", f);
}

void fmt_release_r(FILE *f, uint32_t id, const struct nc_status *r, bool json)
{
	struct jw j;

	if (!json) {
		fprintf(f, "released %" PRIu32 "\n", id);
		return;
	}
	j_open(&j, f, '{');
	j_status(&j, r);
	j_u64(&j, "id", id);
	fputs("}\n", f);
}

/* ---- bindings ---- */

/* The conditions of a binding in a few characters, for the table. */
static void rules(char *buf, size_t n, const struct nc_spec *s)
{
	size_t len = 0;

	buf[0] = '\0';
#define ADD(...) (len += (size_t)snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__))
	if (s->nfilters)
		ADD("%sfilter:%u", len ? "," : "", s->nfilters);
	if (s->latch)
		ADD("%slatch:%us", len ? "," : "", (unsigned)s->latch);
	if (s->ntargets)
		ADD("%starget:%u", len ? "," : "", s->ntargets);
	if (s->drop_default)
		ADD("%sdrop", len ? "," : "");
	if (s->has_peer)
		ADD("%speer", len ? "," : "");
	if (s->transit[0])
		ADD("%stransit:%s", len ? "," : "", s->transit);
#undef ADD
	if (!buf[0])
		snprintf(buf, n, "-");
}

void fmt_list_head(FILE *f)
{
	fprintf(f, "%-7s %-7s %-5s %-4s %-12s %-21s %-12s %-21s %6s %9s %11s %9s %11s %-20s %-10s %s\n",
		"ID", "KIND", "PROTO", "DIR", "IN-REALM", "ENDPOINT", "EXT-REALM", "ALLOC", "TTL",
		"PKTS-IN", "BYTES-IN", "PKTS-OUT", "BYTES-OUT", "RULES", "OWNER", "LABEL");
}

static void item_json(struct jw *j, const struct nc_item *it)
{
	const struct nc_spec *s = &it->spec;
	char buf[FMT_MATCH_LEN];
	struct jw a, o;
	unsigned i;

	j_u64(j, "id", it->id);
	j_str(j, "kind", fmt_kind(it->kind));
	j_str(j, "proto", fmt_proto(s->proto));
	j_str(j, "dir", fmt_dir(s->dir));
	j_str(j, "in_realm", s->in_realm);
	fmt_ep(buf, sizeof(buf), &s->ep);
	j_str(j, "endpoint", buf);
	j_str(j, "ext_realm", s->ext_realm);
	fmt_ep(buf, sizeof(buf), &it->alloc);
	j_str(j, "alloc", buf);
	if (it->lifetime)
		j_u64(j, "lifetime", it->lifetime);
	if (s->transit[0])
		j_str(j, "transit", s->transit);
	if (s->has_peer) {
		fmt_match(buf, sizeof(buf), &s->peer);
		j_str(j, "peer", buf);
	}
	if (s->nfilters) {
		j_key(j, "filters");
		j_open(&a, j->f, '[');
		for (i = 0; i < s->nfilters; i++) {
			fmt_match(buf, sizeof(buf), &s->filters[i]);
			j_str(&a, NULL, buf);
		}
		fputc(']', j->f);
	}
	if (s->ntargets) {
		j_key(j, "targets");
		j_open(&a, j->f, '[');
		for (i = 0; i < s->ntargets; i++) {
			j_key(&a, NULL);
			j_open(&o, j->f, '{');
			fmt_match(buf, sizeof(buf), &s->targets[i].from);
			j_str(&o, "match", buf);
			fmt_ep(buf, sizeof(buf), &s->targets[i].to);
			j_str(&o, "to", buf);
			fputc('}', j->f);
		}
		fputc(']', j->f);
	}
	if (s->drop_default)
		j_bool(j, "drop_default", true);
	if (s->latch)
		j_u64(j, "latch", s->latch);
	if (s->label[0])
		j_str(j, "label", s->label);
	if (it->owner[0])
		j_str(j, "owner", it->owner);
	if (it->has_counters) {
		j_key(j, "counters");
		j_open(&o, j->f, '{');
		j_u64(&o, "pkts_in", it->counters.pkts_in);
		j_u64(&o, "bytes_in", it->counters.bytes_in);
		j_u64(&o, "pkts_out", it->counters.pkts_out);
		j_u64(&o, "bytes_out", it->counters.bytes_out);
		fputc('}', j->f);
	}
}

void fmt_item(FILE *f, const struct nc_item *it, bool json)
{
	char ep[FMT_EP_LEN], alloc[FMT_EP_LEN], ttl[12] = "-", r[128];
	char c[4][24] = {"-", "-", "-", "-"};
	const struct nc_spec *s = &it->spec;
	struct jw j;

	if (json) {
		j_open(&j, f, '{');
		item_json(&j, it);
		fputs("}\n", f);
		return;
	}
	fmt_ep(ep, sizeof(ep), &s->ep);
	fmt_ep(alloc, sizeof(alloc), &it->alloc);
	if (it->lifetime)
		snprintf(ttl, sizeof(ttl), "%" PRIu32, it->lifetime);
	if (it->has_counters) {
		snprintf(c[0], sizeof(c[0]), "%" PRIu64, it->counters.pkts_in);
		snprintf(c[1], sizeof(c[1]), "%" PRIu64, it->counters.bytes_in);
		snprintf(c[2], sizeof(c[2]), "%" PRIu64, it->counters.pkts_out);
		snprintf(c[3], sizeof(c[3]), "%" PRIu64, it->counters.bytes_out);
	}
	rules(r, sizeof(r), s);
	fprintf(f, "%-7" PRIu32 " %-7s %-5s %-4s %-12s %-21s %-12s %-21s %6s %9s %11s %9s %11s %-20s %-10s %s\n",
		it->id, fmt_kind(it->kind), fmt_proto(s->proto), fmt_dir(s->dir), s->in_realm, ep,
		s->ext_realm, alloc, ttl, c[0], c[1], c[2], c[3], r, it->owner[0] ? it->owner : "-",
		s->label);
}

void fmt_event_line(FILE *f, const struct nc_event *ev, bool json)
{
	const struct nc_item *it = &ev->item;
	const struct nc_spec *s = &it->spec;
	char ep[FMT_EP_LEN], alloc[FMT_EP_LEN];
	struct jw j;

	if (json) {
		j_open(&j, f, '{');
		j_str(&j, "event", fmt_event(ev->event));
		item_json(&j, it);
		fputs("}\n", f);
		return;
	}
	fmt_ep(ep, sizeof(ep), &s->ep);
	fmt_ep(alloc, sizeof(alloc), &it->alloc);
	fprintf(f, "%-9s %" PRIu32 " %s %s %s %s %s -> %s %s", fmt_event(ev->event), it->id,
		fmt_kind(it->kind), fmt_proto(s->proto), fmt_dir(s->dir), s->in_realm, ep,
		s->ext_realm, alloc);
	if (it->lifetime)
		fprintf(f, " ttl %" PRIu32, it->lifetime);
	if (it->owner[0])
		fprintf(f, " owner %s", it->owner);
	if (s->label[0])
		fprintf(f, " label %s", s->label);
	fputc('\n', f);
}

/* ---- stats and caps ---- */

void fmt_stats(FILE *f, const struct nc_stats_r *r, bool json)
{
	struct jw j, o;
	unsigned i;

	if (!json) {
		for (i = 0; i < r->n; i++)
			fprintf(f, "%-32s %" PRIu64 "\n", r->stats[i].name, r->stats[i].value);
		return;
	}
	j_open(&j, f, '{');
	j_status(&j, &r->st);
	j_key(&j, "stats");
	j_open(&o, f, '{');
	for (i = 0; i < r->n; i++)
		j_u64(&o, r->stats[i].name, r->stats[i].value); /* names are [A-Za-z0-9._-] */
	fputs("}}\n", f);
}

static void names_text(FILE *f, const char *label, const char (*names)[NC_NAME_MAX + 1],
		       unsigned n)
{
	unsigned i;

	fprintf(f, "%-13s", label);
	for (i = 0; i < n; i++)
		fprintf(f, " %s", names[i]);
	fputs(n ? "\n" : " -\n", f);
}

static void names_json(struct jw *j, const char *key, const char (*names)[NC_NAME_MAX + 1],
		       unsigned n)
{
	struct jw a;
	unsigned i;

	j_key(j, key);
	j_open(&a, j->f, '[');
	for (i = 0; i < n; i++)
		j_str(&a, NULL, names[i]);
	fputc(']', j->f);
}

void fmt_caps(FILE *f, const struct nc_caps_r *r, const char *server, bool json)
{
	struct jw j, a;
	unsigned i;

	if (!json) {
		fprintf(f, "%-13s %s\n", "server", server[0] ? server : "-");
		fprintf(f, "%-13s %" PRIu64 "\n", "epoch", r->st.epoch);
		fprintf(f, "%-13s %" PRIu32 "\n", "lifetime-max", r->lifetime_max);
		if (r->quota)
			fprintf(f, "%-13s %" PRIu32 "\n", "quota", r->quota);
		else
			fprintf(f, "%-13s -\n", "quota");
		names_text(f, "realms", r->realms, r->nrealms);
		names_text(f, "transits", r->transits, r->ntransits);
		fprintf(f, "%-13s", "messages");
		for (i = 0; i < r->nmsgs; i++) {
			const char *name = nc_msg_name(r->msgs[i]);

			if (name)
				fprintf(f, " %s", name);
			else
				fprintf(f, " 0x%04x", r->msgs[i]);
		}
		fprintf(f, "\n%-13s", "tlvs");
		for (i = 0; i < r->ntlvs; i++)
			fprintf(f, " 0x%04x", r->tlvs[i]);
		fputc('\n', f);
		return;
	}
	j_open(&j, f, '{');
	j_status(&j, &r->st);
	if (server[0])
		j_str(&j, "server", server);
	j_u64(&j, "lifetime_max", r->lifetime_max);
	if (r->quota)
		j_u64(&j, "quota", r->quota);
	names_json(&j, "realms", r->realms, r->nrealms);
	names_json(&j, "transits", r->transits, r->ntransits);
	j_key(&j, "messages");
	j_open(&a, f, '[');
	for (i = 0; i < r->nmsgs; i++) {
		const char *name = nc_msg_name(r->msgs[i]);
		char hex[8];

		snprintf(hex, sizeof(hex), "0x%04x", r->msgs[i]);
		j_str(&a, NULL, name ? name : hex);
	}
	fputc(']', f);
	j_key(&j, "tlvs");
	j_open(&a, f, '[');
	for (i = 0; i < r->ntlvs; i++)
		j_u64(&a, NULL, r->tlvs[i]);
	fputs("]}\n", f);
}
