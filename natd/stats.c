/* stats: names for the counters and their one-line dump. */
#include "stats.h"

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
	[DROP_TABLE_FULL] = "table_full",
	[DROP_POOL_EXHAUSTED] = "pool_exhausted",
	[DROP_FRAG_NOSLOT] = "frag_noslot",
	[DROP_FRAG_TIMEOUT] = "frag_timeout",
	[DROP_FRAG_UNKNOWN] = "frag_unknown",
	[DROP_SAME_REALM] = "same_realm",
	[DROP_TX_ERROR] = "tx_error",
};

uint64_t stats_dropped_total(const struct natd_stats *s)
{
	uint64_t t = 0;
	for (int i = 1; i < DROP__N; i++)
		t += s->dropped[i];
	return t;
}

void stats_print(const struct natd_stats *s, FILE *f)
{
	fprintf(f,
		"rx_packets=%llu rx_bytes=%llu tx_packets=%llu tx_bytes=%llu "
		"translated_out=%llu translated_in=%llu hairpinned=%llu "
		"icmp_errors_translated=%llu frags_translated=%llu frags_buffered=%llu "
		"bindings_created=%llu bindings_expired=%llu bindings_removed=%llu dropped=%llu",
		(unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
		(unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes,
		(unsigned long long)s->translated_out, (unsigned long long)s->translated_in,
		(unsigned long long)s->hairpinned, (unsigned long long)s->icmp_errors_translated,
		(unsigned long long)s->frags_translated, (unsigned long long)s->frags_buffered,
		(unsigned long long)s->bindings_created, (unsigned long long)s->bindings_expired,
		(unsigned long long)s->bindings_removed,
		(unsigned long long)stats_dropped_total(s));
	for (int i = 1; i < DROP__N; i++)
		fprintf(f, " dropped_%s=%llu", stats_drop_names[i],
			(unsigned long long)s->dropped[i]);
}
