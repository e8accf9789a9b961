/* Unit tests of natd/fastpath.c: which flows become fast-path entries and
 * what the entries say (real packets through xlate, on the core natd
 * builds from configuration text), how the counters the program keeps
 * are merged back into the bindings, and when entries are withdrawn
 * (binding gone, permission lapsed, idle, filtering reloaded). The
 * kernel's map is a fake behind -Wl,--wrap=bpf_map_*_elem. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/fp_layout.h"
#include "fastpath.h"
#include "natdenv.h"
#include "pktbuild.h"
#include "xlate.h"

/* ---- the fake map ---- */

#define FAKE_N 64
static struct {
	bool used;
	struct fp_key k;
	struct fp_val v;
} fake[FAKE_N];

static int fake_find(const void *key)
{
	for (int i = 0; i < FAKE_N; i++)
		if (fake[i].used && !memcmp(&fake[i].k, key, sizeof(struct fp_key)))
			return i;
	return -1;
}

int __wrap_bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags);
int __wrap_bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)
{
	int i = fake_find(key);

	(void)fd, (void)flags;
	for (int j = 0; i < 0 && j < FAKE_N; j++)
		if (!fake[j].used)
			i = j;
	if (i < 0) {
		errno = E2BIG;
		return -1;
	}
	fake[i].used = true;
	memcpy(&fake[i].k, key, sizeof(fake[i].k));
	memcpy(&fake[i].v, value, sizeof(fake[i].v));
	return 0;
}

int __wrap_bpf_map_lookup_elem(int fd, const void *key, void *value);
int __wrap_bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	int i = fake_find(key);

	(void)fd;
	if (i < 0) {
		errno = ENOENT;
		return -1;
	}
	memcpy(value, &fake[i].v, sizeof(fake[i].v));
	return 0;
}

int __wrap_bpf_map_delete_elem(int fd, const void *key);
int __wrap_bpf_map_delete_elem(int fd, const void *key)
{
	int i = fake_find(key);

	(void)fd;
	if (i < 0) {
		errno = ENOENT;
		return -1;
	}
	fake[i].used = false;
	return 0;
}

static int fake_count(void)
{
	int n = 0;
	for (int i = 0; i < FAKE_N; i++)
		n += fake[i].used;
	return n;
}

/* The entry of the flow src:sp -> dst:dp (ports in host order), or NULL. */
static struct fp_val *entry(uint8_t proto, uint8_t icmp_type, const char *src, uint16_t sp,
			    const char *dst, uint16_t dp)
{
	struct fp_key k = {pb_addr(src), pb_addr(dst), htons(sp), htons(dp), proto, icmp_type, {0}};
	int i = fake_find(&k);
	return i < 0 ? NULL : &fake[i].v;
}

/* ---- the environment ---- */

#define PHB "10.1.0.10"
#define PHA "203.0.113.10"
#define PHC "203.0.113.20"

static const char *const CONF_EIF =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"20000-20999\"; }; }\n"
	");\n"
	"timeouts: { udp = 60; };\n";

static const char *const CONF_APDF =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"20000-20999\"; }; }\n"
	");\n"
	"timeouts: { udp = 60; };\n"
	"table: { filtering = \"address-and-port-dependent\"; };\n";

struct env {
	struct natdenv nd;
	struct fastpath *fp;
	uint8_t pkt[PB_MAX];
};

static struct env *env_new(const char *conf)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	memset(fake, 0, sizeof(fake));
	natdenv_init(&e->nd, conf);
	assert_non_null(e->fp = fp_new(1024, 3, e->nd.core->bt, &e->nd.core->st));
	fp_hook(e->fp, &e->nd.core->x);
	fp_sync(e->fp, e->nd.core->x.now);
	return e;
}

static void env_free(struct env *e)
{
	fp_close(e->fp);
	natdenv_fini(&e->nd);
	free(e);
}

static enum xlate_verdict send_udp(struct env *e, const char *s, uint16_t sp, const char *d,
				   uint16_t dp)
{
	size_t n = pb_udp(e->pkt, pb_addr(s), sp, pb_addr(d), dp, 100);
	return xlate_packet(&e->nd.core->x, e->pkt, n, sizeof(e->pkt));
}

static enum xlate_verdict send_tcp(struct env *e, const char *s, uint16_t sp, const char *d,
				   uint16_t dp, uint8_t flags)
{
	size_t n = pb_tcp(e->pkt, pb_addr(s), sp, pb_addr(d), dp, flags, 10);
	return xlate_packet(&e->nd.core->x, e->pkt, n, sizeof(e->pkt));
}

/* The external endpoint natd gave PHB:5000 (udp), as the last packet left. */
static uint16_t mapped_port(struct env *e)
{
	return pb_sport(e->pkt);
}

/* ---- derivation ---- */

static void test_udp_both_directions(void **state)
{
	struct env *e = env_new(CONF_EIF);
	struct fp_val *v;
	uint16_t m;
	(void)state;

	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	m = mapped_port(e);
	assert_non_null(v = entry(IPPROTO_UDP, 0, PHB, 5000, PHA, 9000));
	assert_int_equal(v->saddr, pb_addr("198.51.100.1"));
	assert_int_equal(ntohs(v->sport), m);
	assert_int_equal(v->daddr, pb_addr(PHA));
	assert_int_equal(ntohs(v->dport), 9000);
	assert_int_equal(fake_count(), 1);
	/* the same flow again: nothing new */
	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	assert_int_equal(fake_count(), 1);

	/* the reply: an inbound entry back to the inside endpoint */
	assert_int_equal(send_udp(e, PHA, 9000, "198.51.100.1", m), XL_FORWARD);
	assert_non_null(v = entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m));
	assert_int_equal(v->saddr, pb_addr(PHA));
	assert_int_equal(ntohs(v->sport), 9000);
	assert_int_equal(v->daddr, pb_addr(PHB));
	assert_int_equal(ntohs(v->dport), 5000);
	assert_int_equal(e->nd.core->st.fastpath_entries, 2);

	/* a packet natd drops teaches nothing: an unbound pool port */
	assert_int_equal(send_udp(e, PHA, 9000, "198.51.100.1", (uint16_t)(m + 1)), XL_DROP);
	assert_int_equal(fake_count(), 2);
	env_free(e);
}

static void test_tcp_established_only(void **state)
{
	struct env *e = env_new(CONF_EIF);
	uint16_t m;
	(void)state;

	assert_int_equal(send_tcp(e, PHB, 6000, PHA, 80, 0x02 /* SYN */), XL_FORWARD);
	m = mapped_port(e);
	assert_int_equal(fake_count(), 0);
	assert_int_equal(send_tcp(e, PHA, 80, "198.51.100.1", m, 0x12 /* SYN+ACK */), XL_FORWARD);
	assert_int_equal(fake_count(), 0);
	/* established both ways: a plain ACK is learnt, each direction */
	assert_int_equal(send_tcp(e, PHB, 6000, PHA, 80, 0x10), XL_FORWARD);
	assert_non_null(entry(IPPROTO_TCP, 0, PHB, 6000, PHA, 80));
	assert_int_equal(send_tcp(e, PHA, 80, "198.51.100.1", m, 0x18), XL_FORWARD);
	assert_non_null(entry(IPPROTO_TCP, 0, PHA, 80, "198.51.100.1", m));
	/* a FIN is natd's; the connection closing is not learnt any more */
	assert_int_equal(send_tcp(e, PHB, 6001, PHA, 80, 0x02), XL_FORWARD);
	assert_int_equal(send_tcp(e, PHB, 6001, PHA, 80, 0x11 /* FIN+ACK */), XL_FORWARD);
	assert_int_equal(send_tcp(e, PHB, 6001, PHA, 80, 0x10), XL_FORWARD);
	assert_null(entry(IPPROTO_TCP, 0, PHB, 6001, PHA, 80));
	env_free(e);
}

static void test_icmp_echo(void **state)
{
	struct env *e = env_new(CONF_EIF);
	struct fp_val *v;
	size_t n;
	uint16_t m;
	(void)state;

	n = pb_icmp_echo(e->pkt, pb_addr(PHB), pb_addr(PHA), 8, 0x1234, 1, 16);
	assert_int_equal(xlate_packet(&e->nd.core->x, e->pkt, n, sizeof(e->pkt)), XL_FORWARD);
	m = pb_sport(e->pkt);
	assert_non_null(v = entry(IPPROTO_ICMP, 8, PHB, 0x1234, PHA, 0x1234));
	assert_int_equal(ntohs(v->sport), m);
	assert_int_equal(ntohs(v->dport), m);
	/* the reply: keyed as a reply (type 0), the inside identifier back */
	n = pb_icmp_echo(e->pkt, pb_addr(PHA), pb_addr("198.51.100.1"), 0, m, 1, 16);
	assert_int_equal(xlate_packet(&e->nd.core->x, e->pkt, n, sizeof(e->pkt)), XL_FORWARD);
	assert_non_null(v = entry(IPPROTO_ICMP, 0, PHA, m, "198.51.100.1", m));
	assert_int_equal(v->daddr, pb_addr(PHB));
	assert_int_equal(ntohs(v->sport), 0x1234);
	/* a request toward the mapping is not a reply: no entry serves it */
	assert_null(entry(IPPROTO_ICMP, 8, PHA, m, "198.51.100.1", m));
	env_free(e);
}

static void test_filtered_remote_not_learnt(void **state)
{
	struct env *e = env_new(CONF_APDF);
	uint16_t m;
	(void)state;

	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	m = mapped_port(e);
	/* a remote the inside host never sent to: filtered, never learnt */
	assert_int_equal(send_udp(e, PHC, 9000, "198.51.100.1", m), XL_DROP);
	assert_null(entry(IPPROTO_UDP, 0, PHC, 9000, "198.51.100.1", m));
	assert_int_equal(send_udp(e, PHA, 9000, "198.51.100.1", m), XL_FORWARD);
	assert_non_null(entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m));
	env_free(e);
}

/* ---- counters and withdrawal ---- */

static void test_counters_merged(void **state)
{
	struct env *e = env_new(CONF_EIF);
	uint32_t now = e->nd.core->x.now, cur = 0;
	struct binding *b;
	struct fp_val *out, *in;
	uint64_t po, bo, pi, bi;
	uint16_t m;
	(void)state;

	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	m = mapped_port(e);
	assert_int_equal(send_udp(e, PHA, 9000, "198.51.100.1", m), XL_FORWARD);
	assert_non_null(b = bind_next(e->nd.core->bt, &cur));
	po = b->pkts_out, bo = b->bytes_out, pi = b->pkts_in, bi = b->bytes_in;
	out = entry(IPPROTO_UDP, 0, PHB, 5000, PHA, 9000);
	in = entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m);
	assert_non_null(out);
	assert_non_null(in);

	/* the program carried 10 packets out and 4 in, 40 s later */
	out->packets += 10, out->bytes += 1280;
	in->packets += 4, in->bytes += 512;
	fp_sync(e->fp, now + 40);
	assert_int_equal(b->pkts_out, po + 10);
	assert_int_equal(b->bytes_out, bo + 1280);
	assert_int_equal(b->pkts_in, pi + 4);
	assert_int_equal(b->bytes_in, bi + 512);
	assert_int_equal(b->last_used, now + 40);
	assert_int_equal(e->nd.core->st.fastpath_hits, 14);
	/* read again with nothing new: nothing added twice */
	fp_sync(e->fp, now + 41);
	assert_int_equal(b->pkts_out, po + 10);
	assert_int_equal(e->nd.core->st.fastpath_hits, 14);

	/* so the binding outlives its timeout from the TUN path's last packet */
	fp_sync(e->fp, now + 61);
	bind_expire(e->nd.core->bt, now + 61, NULL, NULL);
	assert_int_equal(bind_count(e->nd.core->bt), 1);
	assert_int_equal(fake_count(), 2);
	/* and when it does expire (60 s after the fast path's last packet),
	 * its entries leave the map with it */
	bind_expire(e->nd.core->bt, now + 101, NULL, NULL);
	assert_int_equal(bind_count(e->nd.core->bt), 0);
	assert_int_equal(fake_count(), 0);
	assert_int_equal(e->nd.core->st.fastpath_entries, 0);
	env_free(e);
}

static void test_permission_lapse(void **state)
{
	struct env *e = env_new(CONF_APDF);
	uint32_t now = e->nd.core->x.now;
	struct fp_val *out, *in;
	uint16_t m;
	(void)state;

	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	m = mapped_port(e);
	assert_int_equal(send_udp(e, PHA, 9000, "198.51.100.1", m), XL_FORWARD);
	out = entry(IPPROTO_UDP, 0, PHB, 5000, PHA, 9000);
	in = entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m);
	assert_non_null(out);
	assert_non_null(in);
	/* outbound fast-path packets refresh the permission as the TUN path would */
	for (uint32_t t = 20; t <= 100; t += 20) {
		out->packets++, in->packets++;
		fp_sync(e->fp, now + t);
	}
	assert_non_null(entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m));
	/* now only the remote sends: the binding lives on, the permission
	 * lapses 60 s after the last outbound packet, and the inbound entry
	 * goes with it */
	for (uint32_t t = 120; t <= 180; t += 10) {
		in = entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m);
		if (!in)
			break;
		in->packets++;
		fp_sync(e->fp, now + t);
	}
	assert_null(entry(IPPROTO_UDP, 0, PHA, 9000, "198.51.100.1", m));
	/* and the TUN path filters it again */
	e->nd.core->x.now = now + 180;
	assert_int_equal(send_udp(e, PHA, 9000, "198.51.100.1", m), XL_DROP);
	env_free(e);
}

static void test_idle_and_reload(void **state)
{
	struct env *e = env_new(CONF_EIF);
	uint32_t now = e->nd.core->x.now;
	(void)state;

	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	assert_int_equal(send_udp(e, PHB, 5001, PHA, 9000), XL_FORWARD);
	assert_int_equal(fake_count(), 2);
	entry(IPPROTO_UDP, 0, PHB, 5000, PHA, 9000)->packets++;
	fp_sync(e->fp, now + FP_IDLE_S - 1);
	fp_sync(e->fp, now + FP_IDLE_S);
	/* the idle one is gone, the busy one stays */
	assert_int_equal(fake_count(), 1);
	assert_non_null(entry(IPPROTO_UDP, 0, PHB, 5000, PHA, 9000));
	/* a reload of the filtering mode or timeouts: everything forgotten */
	bind_set_policy(e->nd.core->bt, e->nd.conf.bind.timeout, FILTER_APDF);
	assert_int_equal(fake_count(), 0);
	assert_int_equal(e->nd.core->st.fastpath_entries, 0);
	/* and learnt again from the TUN path */
	assert_int_equal(send_udp(e, PHB, 5000, PHA, 9000), XL_FORWARD);
	assert_int_equal(fake_count(), 1);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_both_directions),
		cmocka_unit_test(test_tcp_established_only),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_filtered_remote_not_learnt),
		cmocka_unit_test(test_counters_merged),
		cmocka_unit_test(test_permission_lapse),
		cmocka_unit_test(test_idle_and_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
