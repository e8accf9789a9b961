/* natmetrics: natd's counters as Prometheus metrics (see natmetrics.h).
 *
 * The counters are read the way `natctl stats` reads them (mgr_stats()
 * then ctl_server_stats(): one list of name=value), so that a counter
 * added there shows up here too: the names in fams[] become labelled
 * families (packets by direction, drops by reason, bindings by kind...),
 * every other one becomes natedge_natd_<name>_total. Gauges (what is held
 * now, not what happened) are listed in gauges[].
 */
#include "natmetrics.h"

#include <ctype.h>
#include <string.h>

#include "binding.h"
#include "core.h"
#include "ctl_server.h"
#include "frag.h"
#include "manager.h"
#include "metrics.h"
#include "pcp.h"
#include "pcp_server.h"

#define P "natedge_natd_"

/* A stats name that belongs to a labelled family: name = prefix + value. */
static const struct fam {
	const char *prefix;   /* of the stats name ("" with exact) */
	const char *exact;    /* or this one name */
	const char *metric;
	const char *label, *value; /* value NULL: the name after prefix */
	enum metrics_type type;
	const char *help;
} fams[] = {
	{"", "rx_packets", P "packets_total", "direction", "rx", METRICS_COUNTER,
	 "Packets read from (rx) and written to (tx) the TUN device."},
	{"", "tx_packets", P "packets_total", "direction", "tx", METRICS_COUNTER, NULL},
	{"", "rx_bytes", P "bytes_total", "direction", "rx", METRICS_COUNTER,
	 "Bytes read from (rx) and written to (tx) the TUN device."},
	{"", "tx_bytes", P "bytes_total", "direction", "tx", METRICS_COUNTER, NULL},
	{"", "translated_out", P "translated_total", "direction", "out", METRICS_COUNTER,
	 "Packets translated: source rewritten (out), destination rewritten (in)."},
	{"", "translated_in", P "translated_total", "direction", "in", METRICS_COUNTER, NULL},
	{"dropped_", NULL, P "drops_total", "reason", NULL, METRICS_COUNTER,
	 "Packets dropped, by reason (natd(8), COUNTERS)."},
	{"", "bindings_dynamic", P "bindings", "kind", "dynamic", METRICS_GAUGE,
	 "Bindings in the table now, by kind."},
	{"", "bindings_static", P "bindings", "kind", "static", METRICS_GAUGE, NULL},
	{"", "bindings_managed", P "bindings", "kind", "managed", METRICS_GAUGE, NULL},
	{"", "ctl_connections_unix", P "control_connections", "transport", "unix", METRICS_GAUGE,
	 "Control clients connected now, by transport."},
	{"", "ctl_connections_tcp", P "control_connections", "transport", "tcp", METRICS_GAUGE, NULL},
	{"", "dropped", NULL, NULL, NULL, 0, NULL}, /* the sum of drops_total: left out */
	{"", "bindings", NULL, NULL, NULL, 0, NULL}, /* the sum of bindings: left out */
};

static const struct {
	const char *name, *help;
} gauges[] = {
	{"capacity", "Bindings the table can hold."},
	{"grants", "Bindings granted over the control channel and held now."},
	{"fastpath_entries", "Flows the eBPF fast path holds in the kernel's map now."},
};

static const struct fam *fam_of(const char *name)
{
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		const struct fam *m = &fams[i];
		if (m->exact ? !strcmp(name, m->exact)
			     : !strncmp(name, m->prefix, strlen(m->prefix)))
			return m;
	}
	return NULL;
}

static void write_stats(FILE *f, const struct nc_stats_r *r)
{
	char metric[96], help[160];

	/* the labelled families, each whole, in fams[] order */
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		const struct fam *m = &fams[i];
		if (!m->metric || !m->help)
			continue;
		metrics_family(f, m->metric, m->type, m->help);
		for (unsigned j = 0; j < r->n; j++) {
			const struct fam *g = fam_of(r->stats[j].name);
			if (!g || !g->metric || strcmp(g->metric, m->metric))
				continue;
			metrics_sample(f, g->metric, g->label,
				       g->value ? g->value : r->stats[j].name + strlen(g->prefix),
				       r->stats[j].value);
		}
	}
	/* the rest, one family each */
	for (unsigned j = 0; j < r->n; j++) {
		const char *name = r->stats[j].name;
		bool gauge = false;

		if (fam_of(name))
			continue;
		snprintf(help, sizeof(help), "natctl stats: %s.", name);
		for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++)
			if (!strcmp(name, gauges[g].name)) {
				gauge = true;
				snprintf(help, sizeof(help), "%s", gauges[g].help);
			}
		snprintf(metric, sizeof(metric), P "%s%s", name, gauge ? "" : "_total");
		metrics_one(f, metric, gauge ? METRICS_GAUGE : METRICS_COUNTER, help, r->stats[j].value);
	}
}

static void write_requests(FILE *f, const struct ctl_server *ctl)
{
	metrics_family(f, P "control_requests_total", METRICS_COUNTER,
		       "Control requests answered, by type and reply status.");
	for (uint16_t t = 0; t < CTL_REQ_TYPES; t++)
		for (uint16_t st = 0; st <= NC_ST_MAX; st++) {
			uint64_t v = ctl_server_replies(ctl, t, st);
			const char *tn = t ? nc_msg_name(t) : "unattributed";
			if (!v)
				continue;
			fprintf(f, P "control_requests_total{type=\"%s\",status=\"%s\"} %llu\n",
				tn ? tn : "?", nc_status_str(st), (unsigned long long)v);
		}
}

static void write_pcp(FILE *f, const struct pcp_server *pcp)
{
	const struct pcp_stats *st = pcp_server_stats(pcp);
	char v[32];

	metrics_family(f, P "pcp_requests_total", METRICS_COUNTER,
		       "PCP and NAT-PMP requests received, by protocol.");
	metrics_sample(f, P "pcp_requests_total", "protocol", "pcp", st->pcp_requests);
	metrics_sample(f, P "pcp_requests_total", "protocol", "natpmp", st->natpmp_requests);
	metrics_family(f, P "pcp_results_total", METRICS_COUNTER, "PCP replies sent, by result code.");
	for (unsigned i = 0; i <= PCP_RESULT_MAX; i++) {
		const char *name = pcp_result_str((uint8_t)i);
		size_t k;
		for (k = 0; name[k] && k < sizeof(v) - 1; k++)
			v[k] = (char)tolower((unsigned char)name[k]);
		v[k] = 0;
		metrics_sample(f, P "pcp_results_total", "result", v, st->pcp_results[i]);
	}
	metrics_one(f, P "pcp_rx_total", METRICS_COUNTER, "PCP / NAT-PMP datagrams received.", st->rx);
	metrics_one(f, P "pcp_tx_total", METRICS_COUNTER, "PCP / NAT-PMP datagrams sent.", st->tx);
	metrics_one(f, P "pcp_tx_errors_total", METRICS_COUNTER, "PCP / NAT-PMP sends that failed.",
		    st->tx_errors);
	metrics_one(f, P "pcp_dropped_total", METRICS_COUNTER,
		    "PCP / NAT-PMP datagrams dropped as the RFCs say.", st->dropped);
	metrics_one(f, P "pcp_rate_limited_total", METRICS_COUNTER,
		    "PCP / NAT-PMP datagrams over pcp.max_rate.", st->rate_limited);
	metrics_one(f, P "pcp_client_rate_limited_total", METRICS_COUNTER,
		    "PCP / NAT-PMP datagrams over pcp.max_client_rate.", st->client_rate_limited);
	metrics_one(f, P "pcp_mapped_total", METRICS_COUNTER, "PCP mappings created.", st->mapped);
	metrics_one(f, P "pcp_refreshed_total", METRICS_COUNTER, "PCP mappings refreshed.", st->refreshed);
	metrics_one(f, P "pcp_released_total", METRICS_COUNTER, "PCP mappings released.", st->released);
}

void natmetrics_write(FILE *f, struct core *k, const struct ctl_server *ctl,
		      const struct pcp_server *pcp)
{
	struct nc_stats_r r;

	mgr_stats(k->mgr, &r);
	if (ctl)
		ctl_server_stats(ctl, &r);
	write_stats(f, &r);
	metrics_one(f, P "fragments_held", METRICS_GAUGE, "Fragments buffered now.", frag_held(k->ft));
	if (ctl)
		write_requests(f, ctl);
	if (pcp)
		write_pcp(f, pcp);
}
