/* stats: names for the counters and their one-line dump. */
#include "stats.h"

#include <stddef.h>

const char *const stats_drop_names[DROP__N] = {
	[DROP_NONE] = "none",
	[DROP_SHORT] = "short",
	[DROP_TRUNCATED] = "truncated",
	[DROP_VERSION] = "version",
	[DROP_IHL] = "ihl",
	[DROP_TOTLEN] = "totlen",
	[DROP_L4_SHORT] = "l4_short",
	[DROP_UDP_LEN] = "udp_len",
	[DROP_PROTO] = "proto",
	[DROP_ICMP_TYPE] = "icmp_type",
	[DROP_ICMP_QUOTE] = "icmp_quote",
	[DROP_NO_REALM] = "no_realm",
	[DROP_NO_BINDING] = "no_binding",
	[DROP_FILTERED] = "filtered",
	[DROP_ICMP_FILTERED] = "icmp_filtered",
	[DROP_TABLE_FULL] = "table_full",
	[DROP_POOL_EXHAUSTED] = "pool_exhausted",
	[DROP_HOST_QUOTA] = "host_quota",
	[DROP_HOST_RATE] = "host_rate",
	[DROP_FRAG_NOSLOT] = "frag_noslot",
	[DROP_FRAG_SOURCE] = "frag_source_quota",
	[DROP_FRAG_TIMEOUT] = "frag_timeout",
	[DROP_FRAG_UNKNOWN] = "frag_unknown",
	[DROP_SAME_REALM] = "same_realm",
	[DROP_TX_ERROR] = "tx_error",
	[DROP_STANDBY] = "standby",
};

uint64_t stats_dropped_total(const struct natd_stats *s)
{
	uint64_t t = 0;
	for (int i = 1; i < DROP__N; i++)
		t += s->dropped[i];
	return t;
}

void stats_each(const struct natd_stats *s, void (*fn)(void *arg, const char *name, uint64_t v),
		void *arg)
{
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
#define F(x) {#x, offsetof(struct natd_stats, x)}
		F(rx_packets), F(rx_bytes), F(tx_packets), F(tx_bytes), F(translated_out),
		F(translated_in), F(hairpinned), F(icmp_errors_translated), F(frags_translated),
		F(frags_buffered), F(bindings_created), F(bindings_expired), F(bindings_removed),
		F(perms_host_quota), F(perms_full), F(frag_records_source_quota),
#undef F
	};
	char name[48];

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		fn(arg, f[i].name, *(const uint64_t *)((const char *)s + f[i].off));
	fn(arg, "dropped", stats_dropped_total(s));
	for (int i = 1; i < DROP__N; i++) {
		snprintf(name, sizeof(name), "dropped_%s", stats_drop_names[i]);
		fn(arg, name, s->dropped[i]);
	}
}

struct printer {
	FILE *f;
	const char *sep;
};

static void print_one(void *arg, const char *name, uint64_t v)
{
	struct printer *p = arg;
	fprintf(p->f, "%s%s=%llu", p->sep, name, (unsigned long long)v);
	p->sep = " ";
}

void stats_print(const struct natd_stats *s, FILE *f)
{
	struct printer p = {f, ""};
	stats_each(s, print_one, &p);
}
