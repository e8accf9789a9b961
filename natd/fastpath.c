/* fastpath: the entries natd keeps in the kernel's flow map, their
 * counters, and the loading of the tc program (theory in fastpath.h).
 *
 * natd mirrors the map in a shadow table of the same capacity: a fixed
 * array of records (key, the slots of the bindings that carried the
 * flow, the counters as last read), a hash index on the key, and two
 * chains per binding slot (flows it carries outbound, flows it carries
 * inbound), so that forgetting a binding costs its own flows only. The
 * map is written only here; the program only bumps the counters in it.
 */
#include "config.h"

#include "fastpath.h"

#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpf/fp_layout.h"
#include "log.h"

#ifdef HAVE_FASTPATH
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

#define NIL UINT32_MAX
#define TCP_FIN_F 0x01
#define TCP_SYN_F 0x02
#define TCP_RST_F 0x04
#define ICMP_ECHOREPLY_T 0
#define ICMP_ECHO_T 8
#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46 /* enum bpf_attach_type, Linux 6.6 (not in Debian 12's headers) */
#endif

struct fp_ent {
	struct fp_key k;
	uint32_t hnext;            /* hash chain, or the free list */
	uint32_t bo, bi;           /* binding slots (outbound, inbound), NIL */
	uint32_t next_bo, next_bi; /* the chains of those bindings */
	uint32_t last_hit;         /* monotonic s: learnt, or counters last moved */
	bool used;
	uint64_t pkts, bytes;      /* the map's counters as last read */
};

struct fastpath {
	int map_fd, stats_fd;
	uint32_t prog_id; /* the kernel's id of the program, for the log */
	int link_fd[FP_MAX_IFS];
	unsigned nlinks;
	void *obj; /* struct bpf_object *, when loaded */
	struct bind_table *bt;
	struct natd_stats *st;
	uint32_t cap, hmask, free_head, bcap, seed, now;
	struct fp_ent *e;
	uint32_t *hash, *head_bo, *head_bi;
	bool refused; /* the kernel refused a write: learn nothing more */
};

/* ---- the kernel's map: the only calls into libbpf on the run ---- */

#ifdef HAVE_FASTPATH
static int map_put(int fd, const struct fp_key *k, const struct fp_val *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) < 0 ? -errno : 0;
}

static int map_get(int fd, const struct fp_key *k, struct fp_val *v)
{
	return bpf_map_lookup_elem(fd, k, v) < 0 ? -errno : 0;
}

static void map_del(int fd, const struct fp_key *k)
{
	(void)bpf_map_delete_elem(fd, k);
}
#else
static int map_put(int fd, const struct fp_key *k, const struct fp_val *v)
{
	(void)fd, (void)k, (void)v;
	return -ENOSYS;
}

static int map_get(int fd, const struct fp_key *k, struct fp_val *v)
{
	(void)fd, (void)k, (void)v;
	return -ENOSYS;
}

static void map_del(int fd, const struct fp_key *k)
{
	(void)fd, (void)k;
}
#endif

/* ---- deriving an entry ---- */

static bool tcp_established(const struct binding *b)
{
	return !b || ((b->tcp & (BTCP_SYN_OUT | BTCP_SYN_IN)) == (BTCP_SYN_OUT | BTCP_SYN_IN) &&
		      !(b->tcp & (BTCP_RST | BTCP_FIN_OUT | BTCP_FIN_IN)));
}

bool fp_derive(const struct xlate_flow *f, struct fp_key *k, struct fp_val *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	if (!f->bo && !f->bi)
		return false;
	switch (f->proto) {
	case IPPROTO_UDP:
		break;
	case IPPROTO_TCP:
		/* the program leaves SYN/FIN/RST to natd; a connection not yet
		 * established both ways, or closing, stays on the TUN path */
		if ((f->tcp_flags & (TCP_FIN_F | TCP_SYN_F | TCP_RST_F)) || !tcp_established(f->bo) ||
		    !tcp_established(f->bi))
			return false;
		break;
	case IPPROTO_ICMP:
		if (f->icmp_type != ICMP_ECHO_T && f->icmp_type != ICMP_ECHOREPLY_T)
			return false;
		k->icmp_type = f->icmp_type;
		break;
	default:
		return false;
	}
	k->proto = f->proto;
	k->saddr = f->src.addr;
	k->daddr = f->dst.addr;
	k->sport = f->src.port;
	k->dport = f->dst.port;
	v->saddr = f->new_src.addr;
	v->daddr = f->new_dst.addr;
	if (f->proto == IPPROTO_ICMP) {
		/* one identifier: the inbound binding's endpoint, else the
		 * outbound one's (xlate's query_rewrite) */
		v->sport = v->dport = f->bi ? f->new_dst.port : f->new_src.port;
	} else {
		v->sport = f->new_src.port;
		v->dport = f->new_dst.port;
	}
	return true;
}

/* ---- the shadow table ---- */

static uint32_t key_hash(const struct fastpath *fp, const struct fp_key *k)
{
	uint64_t h = fp->seed ^ 0x9e3779b97f4a7c15ull;

	h ^= k->saddr;
	h *= 0xff51afd7ed558ccdull;
	h ^= (uint64_t)k->daddr << 13 ^ ((uint64_t)k->sport << 16 | k->dport);
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= (uint64_t)k->proto << 8 ^ k->icmp_type;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	return (uint32_t)h & fp->hmask;
}

static uint32_t find(const struct fastpath *fp, const struct fp_key *k)
{
	for (uint32_t i = fp->hash[key_hash(fp, k)]; i != NIL; i = fp->e[i].hnext)
		if (!memcmp(&fp->e[i].k, k, sizeof(*k)))
			return i;
	return NIL;
}

struct fastpath *fp_new(uint32_t entries, int map_fd, struct bind_table *bt, struct natd_stats *st)
{
	struct fastpath *fp = calloc(1, sizeof(*fp));
	uint32_t hsize = 1;

	if (!fp || entries == 0)
		goto fail;
	while (hsize < entries && hsize < (1u << 30))
		hsize <<= 1;
	fp->map_fd = map_fd;
	fp->stats_fd = -1;
	fp->bt = bt;
	fp->st = st;
	fp->cap = entries;
	fp->hmask = hsize - 1;
	fp->bcap = bind_capacity(bt);
	fp->e = calloc(entries, sizeof(*fp->e));
	fp->hash = malloc(hsize * sizeof(uint32_t));
	fp->head_bo = malloc(fp->bcap * sizeof(uint32_t));
	fp->head_bi = malloc(fp->bcap * sizeof(uint32_t));
	if (!fp->e || !fp->hash || !fp->head_bo || !fp->head_bi)
		goto fail;
	memset(fp->hash, 0xff, hsize * sizeof(uint32_t));
	memset(fp->head_bo, 0xff, fp->bcap * sizeof(uint32_t));
	memset(fp->head_bi, 0xff, fp->bcap * sizeof(uint32_t));
	for (uint32_t i = 0; i < entries; i++)
		fp->e[i].hnext = i + 1 < entries ? i + 1 : NIL;
	fp->free_head = 0;
	if (getrandom(&fp->seed, sizeof(fp->seed), 0) != sizeof(fp->seed))
		fp->seed = 0x6b43a9b5u;
	return fp;
fail:
	fp_close(fp);
	return NULL;
}

void fp_hook(struct fastpath *fp, struct xlate_ctx *x)
{
	x->on_flow = fp_learn;
	x->on_flow_arg = fp;
	bind_set_change_hook(fp->bt, fp_forget, fp);
}

/* Add what the program carried for e since the last read to its
 * bindings, as xlate's query_account() would have per packet. With
 * refresh, an outbound flow also refreshes its remote's permission (not
 * while its binding is being removed). */
static void merge(struct fastpath *fp, struct fp_ent *e, const struct fp_val *v, bool refresh)
{
	uint64_t dp = v->packets - e->pkts, db = v->bytes - e->bytes;
	struct binding *bo = e->bo != NIL ? bind_at(fp->bt, e->bo) : NULL;
	struct binding *bi = e->bi != NIL ? bind_at(fp->bt, e->bi) : NULL;
	struct endpoint remote = {e->k.daddr, e->k.dport};
	int err;

	if (v->packets <= e->pkts)
		return;
	e->pkts = v->packets;
	e->bytes = v->bytes;
	e->last_hit = fp->now;
	fp->st->fastpath_hits += dp;
	if (bo) {
		bo->pkts_out += dp;
		bo->bytes_out += db;
		bind_touch(bo, fp->now);
		if (refresh && (err = bind_permit(fp->bt, bo, remote, fp->now)) < 0) {
			if (err == -EDQUOT)
				fp->st->perms_host_quota++;
			else
				fp->st->perms_full++;
		}
	}
	if (bi) {
		bi->pkts_in += dp;
		bi->bytes_in += db;
		bind_touch(bi, fp->now);
	}
}

static void chain_unlink(struct fastpath *fp, uint32_t *head, uint32_t i, bool by_bo)
{
	for (uint32_t *pp = head; *pp != NIL;
	     pp = by_bo ? &fp->e[*pp].next_bo : &fp->e[*pp].next_bi)
		if (*pp == i) {
			*pp = by_bo ? fp->e[i].next_bo : fp->e[i].next_bi;
			return;
		}
}

/* Remove entry i from the map and the shadow, its last counts merged. */
static void del(struct fastpath *fp, uint32_t i, bool refresh)
{
	struct fp_ent *e = &fp->e[i];
	struct fp_val v;

	if (map_get(fp->map_fd, &e->k, &v) == 0)
		merge(fp, e, &v, refresh);
	map_del(fp->map_fd, &e->k);
	for (uint32_t *pp = &fp->hash[key_hash(fp, &e->k)]; *pp != NIL; pp = &fp->e[*pp].hnext)
		if (*pp == i) {
			*pp = e->hnext;
			break;
		}
	if (e->bo != NIL)
		chain_unlink(fp, &fp->head_bo[e->bo], i, true);
	if (e->bi != NIL)
		chain_unlink(fp, &fp->head_bi[e->bi], i, false);
	e->used = false;
	e->hnext = fp->free_head;
	fp->free_head = i;
	fp->st->fastpath_entries--;
}

void fp_learn(void *arg, const struct xlate_flow *f)
{
	struct fastpath *fp = arg;
	struct fp_key k;
	struct fp_val v;
	uint32_t i, h;
	int err;

	if (fp->refused || !fp_derive(f, &k, &v) || find(fp, &k) != NIL)
		return;
	if ((i = fp->free_head) == NIL) {
		fp->st->fastpath_full++;
		return;
	}
	if ((err = map_put(fp->map_fd, &k, &v)) < 0) {
		fp->st->fastpath_full++;
		if (err == -EPERM || err == -EACCES) {
			log_err("fastpath: the kernel refused a map update (%s): no more flows "
				"learnt, natd carries them on its TUN path",
				strerror(-err));
			fp->refused = true;
		}
		return;
	}
	fp->free_head = fp->e[i].hnext;
	fp->e[i] = (struct fp_ent){.k = k, .bo = NIL, .bi = NIL, .next_bo = NIL, .next_bi = NIL,
				   .last_hit = fp->now, .used = true};
	h = key_hash(fp, &k);
	fp->e[i].hnext = fp->hash[h];
	fp->hash[h] = i;
	if (f->bo) {
		fp->e[i].bo = bind_index(fp->bt, f->bo);
		fp->e[i].next_bo = fp->head_bo[fp->e[i].bo];
		fp->head_bo[fp->e[i].bo] = i;
	}
	if (f->bi) {
		fp->e[i].bi = bind_index(fp->bt, f->bi);
		fp->e[i].next_bi = fp->head_bi[fp->e[i].bi];
		fp->head_bi[fp->e[i].bi] = i;
	}
	fp->st->fastpath_entries++;
}

void fp_forget(void *arg, struct binding *b)
{
	struct fastpath *fp = arg;
	uint32_t idx, i;

	if (!b) {
		for (i = 0; i < fp->cap; i++)
			if (fp->e[i].used)
				del(fp, i, false);
		return;
	}
	idx = bind_index(fp->bt, b);
	if (idx >= fp->bcap)
		return;
	while ((i = fp->head_bo[idx]) != NIL)
		del(fp, i, false);
	while ((i = fp->head_bi[idx]) != NIL)
		del(fp, i, false);
}

#ifdef HAVE_FASTPATH
/* The program's own counters: summed over the CPUs. */
static uint64_t stat_sum(struct fastpath *fp, uint32_t what)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[256], sum = 0;

	if (fp->stats_fd < 0 || ncpu <= 0 || ncpu > 256 ||
	    bpf_map_lookup_elem(fp->stats_fd, &what, vals) < 0)
		return 0;
	for (int c = 0; c < ncpu; c++)
		sum += vals[c];
	return sum;
}
#endif

void fp_sync(struct fastpath *fp, uint32_t now)
{
	struct fp_val v;

	fp->now = now;
	for (uint32_t i = 0; i < fp->cap; i++) {
		struct fp_ent *e = &fp->e[i];
		struct binding *bi;

		if (!e->used)
			continue;
		if (map_get(fp->map_fd, &e->k, &v) < 0) {
			del(fp, i, false); /* not in the map: never carried again */
			continue;
		}
		merge(fp, e, &v, true);
		/* inbound: the binding's filter must still admit the remote
		 * (as the binding's realm sees it), as xlate checks per packet */
		bi = e->bi != NIL ? bind_at(fp->bt, e->bi) : NULL;
		if (bi && !bind_permitted(fp->bt, bi, (struct endpoint){v.saddr, v.sport}, now)) {
			del(fp, i, false);
			continue;
		}
		if (now - e->last_hit >= FP_IDLE_S)
			del(fp, i, false);
	}
#ifdef HAVE_FASTPATH
	fp->st->fastpath_misses = stat_sum(fp, FP_STAT_MISS);
	fp->st->fastpath_passed = stat_sum(fp, FP_STAT_PASS);
#endif
}

/* ---- loading ---- */

#ifdef HAVE_FASTPATH
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG && log_level < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (level == LIBBPF_DEBUG)
		log_debug("fastpath: libbpf: %s", buf);
	else
		log_warn("fastpath: libbpf: %s", buf);
	return 0;
}

/* Linux >= 6.6: tcx links (the attachment dies with natd's descriptor,
 * kill -9 included), and map updates with the map's descriptor alone
 * after natd drops its privileges. */
static const char *kernel_problem(void)
{
	struct utsname u;
	unsigned maj = 0, min = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return "cannot read the kernel version";
	if (maj < 6 || (maj == 6 && min < 6))
		return "the kernel is older than Linux 6.6 (tcx links)";
	return NULL;
}

/* CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN in the effective set. */
static const char *caps_problem(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	bool bpf, net;

	if (syscall(SYS_capget, &h, d) < 0)
		return "cannot read natd's capabilities";
#define HAS(c) (d[(c) / 32].effective & (1u << ((c) % 32)))
	bpf = HAS(39 /* CAP_BPF */) || HAS(CAP_SYS_ADMIN);
	net = HAS(CAP_NET_ADMIN);
#undef HAS
	if (!bpf || !net)
		return "natd lacks CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN: start it as root";
	return NULL;
}

static struct fastpath *load(const struct fp_conf *c, struct bind_table *bt,
			     struct natd_stats *st)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_map *flows, *stats, *ifs;
	struct fastpath *fp = NULL;
	unsigned ifindex[FP_MAX_IFS];
	const char *why;
	int err;

	if ((why = kernel_problem()) || (why = caps_problem())) {
		log_err("fastpath: %s: using the TUN path only", why);
		return NULL;
	}
	if (access(c->object, R_OK) < 0) {
		log_err("fastpath: BPF object %s: %s: using the TUN path only", c->object,
			strerror(errno));
		return NULL;
	}
	for (unsigned i = 0; i < c->nifaces; i++)
		if (!(ifindex[i] = if_nametoindex(c->ifaces[i]))) {
			log_err("fastpath: interface %s: %s: using the TUN path only", c->ifaces[i],
				strerror(errno));
			return NULL;
		}
	libbpf_set_print(libbpf_log);
	obj = bpf_object__open_file(c->object, NULL);
	if (!obj || libbpf_get_error(obj)) {
		log_err("fastpath: %s: cannot open: %s: using the TUN path only", c->object,
			strerror(errno));
		return NULL;
	}
	flows = bpf_object__find_map_by_name(obj, "fp_flows");
	stats = bpf_object__find_map_by_name(obj, "fp_stats");
	ifs = bpf_object__find_map_by_name(obj, "fp_ifaces");
	prog = bpf_object__find_program_by_name(obj, "nat_tc");
	if (!flows || !stats || !ifs || !prog) {
		log_err("fastpath: %s is not natd's tc program (maps or program missing): using "
			"the TUN path only", c->object);
		goto fail;
	}
	if (bpf_map__set_max_entries(flows, c->entries) < 0 || (err = bpf_object__load(obj)) < 0) {
		log_err("fastpath: %s: the kernel refused the program or its maps (%s): using the "
			"TUN path only", c->object, strerror(errno));
		goto fail;
	}
	if (!(fp = fp_new(c->entries, bpf_map__fd(flows), bt, st))) {
		log_err("fastpath: out of memory: using the TUN path only");
		goto fail;
	}
	fp->obj = obj;
	fp->stats_fd = bpf_map__fd(stats);
	for (unsigned i = 0; i < c->nifaces; i++) {
		uint32_t one = 1, key = ifindex[i];
		if (bpf_map_update_elem(bpf_map__fd(ifs), &key, &one, BPF_ANY) < 0) {
			log_err("fastpath: interface map: %s: using the TUN path only", strerror(errno));
			goto fail;
		}
	}
	{
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
			fp->prog_id = info.id;
	}
	for (unsigned i = 0; i < c->nifaces; i++) {
		int fd = bpf_link_create(bpf_program__fd(prog), (int)ifindex[i], BPF_TCX_INGRESS, NULL);
		if (fd < 0) {
			log_err("fastpath: attaching to %s (tcx ingress): %s: using the TUN path only",
				c->ifaces[i], strerror(errno));
			goto fail;
		}
		fp->link_fd[fp->nlinks++] = fd;
	}
	return fp;
fail:
	if (fp)
		fp_close(fp); /* closes obj too */
	else
		bpf_object__close(obj);
	return NULL;
}
#endif

struct fastpath *fp_open(const struct fp_conf *c, struct bind_table *bt, struct natd_stats *st)
{
	struct fastpath *fp = NULL;

	if (!c->enabled)
		return NULL;
#ifdef HAVE_FASTPATH
	fp = load(c, bt, st);
#else
	(void)bt;
	log_err("fastpath: natd was built without it (configure --disable-fastpath, or libbpf or "
		"clang's BPF target missing): using the TUN path only");
#endif
	if (!fp) {
		st->fastpath_load_failures++;
		return NULL;
	}
	log_notice("fastpath: %s attached to %u interface%s (%u flows, program id %u)", c->object,
		   c->nifaces, c->nifaces == 1 ? "" : "s", c->entries, fp->prog_id);
	return fp;
}

void fp_close(struct fastpath *fp)
{
	if (!fp)
		return;
	for (unsigned i = 0; i < fp->nlinks; i++)
		close(fp->link_fd[i]); /* the last reference: the program is detached */
#ifdef HAVE_FASTPATH
	if (fp->obj)
		bpf_object__close(fp->obj);
#endif
	if (fp->bt && fp->head_bo)
		bind_set_change_hook(fp->bt, NULL, NULL);
	free(fp->e);
	free(fp->hash);
	free(fp->head_bo);
	free(fp->head_bi);
	free(fp);
}
