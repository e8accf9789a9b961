/* stats: natd's counters, readable while it runs.
 *
 * Plain uint64_t fields bumped on the single-threaded packet path; drops are
 * counted by reason so an operator can tell hostile input from exhaustion.
 */
#ifndef NATD_STATS_H
#define NATD_STATS_H

#include <stdint.h>
#include <stdio.h>

enum drop_reason {
	DROP_NONE = 0,
	DROP_SHORT,          /* fewer bytes than an IPv4 header */
	DROP_TRUNCATED,      /* read filled the whole buffer */
	DROP_VERSION,        /* not IPv4 */
	DROP_IHL,            /* IHL < 5 or header longer than the bytes read */
	DROP_TOTLEN,         /* total length < header or > bytes read */
	DROP_L4_SHORT,       /* L4 header does not fit */
	DROP_UDP_LEN,        /* UDP length field inconsistent */
	DROP_PROTO,          /* protocol natd does not translate */
	DROP_ICMP_TYPE,      /* ICMP type natd does not translate */
	DROP_ICMP_QUOTE,     /* ICMP error quoting something unusable */
	DROP_NO_REALM,       /* source or destination in no configured realm */
	DROP_NO_BINDING,     /* inbound with no binding, or not allowed to create */
	DROP_FILTERED,       /* inbound refused by filtering */
	DROP_ICMP_FILTERED,  /* ICMP error whose sender the binding's filter refuses */
	DROP_TABLE_FULL,     /* binding table at capacity */
	DROP_POOL_EXHAUSTED, /* no free external port */
	DROP_HOST_QUOTA,     /* inside host holds table.max_bindings_per_host */
	DROP_HOST_RATE,      /* inside host over table.new_flows_per_host */
	DROP_FRAG_NOSLOT,    /* out-of-order fragment and no buffer slot */
	DROP_FRAG_SOURCE,    /* out-of-order fragment over its source's share */
	DROP_FRAG_TIMEOUT,   /* buffered fragment never saw its first fragment */
	DROP_FRAG_UNKNOWN,   /* fragment of a datagram natd cannot translate */
	DROP_SAME_REALM,     /* neither address needs translating */
	DROP_TX_ERROR,       /* write to the TUN failed */
	DROP_STANDBY,        /* HA standby: translates nothing until promoted */
	DROP__N
};

extern const char *const stats_drop_names[DROP__N];

struct natd_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t translated_out;   /* source rewritten */
	uint64_t translated_in;    /* destination rewritten */
	uint64_t hairpinned;
	uint64_t icmp_errors_translated;
	uint64_t frags_translated, frags_buffered;
	uint64_t bindings_created, bindings_expired, bindings_removed;
	/* filtering permissions not recorded (the remote's replies will be
	 * filtered): the host's table.permissions_per_host share, or the pool */
	uint64_t perms_host_quota, perms_full;
	/* fragments.*_per_source: first fragments not recorded (their datagram's
	 * rest is then dropped as frag_noslot) */
	uint64_t frag_records_source_quota;
	uint64_t dropped[DROP__N];
};

static inline void stats_drop(struct natd_stats *s, enum drop_reason r)
{
	s->dropped[r < DROP__N ? r : DROP_NONE]++;
}

uint64_t stats_dropped_total(const struct natd_stats *s);

/* Call fn for every counter, by name, in a fixed order. */
void stats_each(const struct natd_stats *s, void (*fn)(void *arg, const char *name, uint64_t v),
		void *arg);

/* Write "name=value" pairs, one line, to f (used by the SIGUSR1 dump). */
void stats_print(const struct natd_stats *s, FILE *f);

#endif
