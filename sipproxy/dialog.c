/* dialog: the dialog table (see dialog.h for what it does).
 *
 * Theory of operation. Each dialog is one allocation on two lists: its
 * hash chain (bucket = SipHash of the Call-ID, so every dialog of a call,
 * its forks too, shares one chain) and the age list, oldest first. New
 * dialogs go to the young end; restored ones, whose start may be older,
 * are put in order from that end. dlg_expire() takes from the old end
 * while the oldest is due, so a tick costs the dialogs it ends plus one.
 * Ending a dialog is one function, dlg_drop(), which calls the hook (for
 * a confirmed dialog), unlinks and frees.
 *
 * The bucket array starts at DLG_BUCKETS_MIN and doubles (rehashing from
 * the age list) whenever the table holds more dialogs than buckets, up to
 * DLG_BUCKETS_MAX: sized by what is live, not by sip.max_calls, so a large
 * limit costs no memory (nor page faults and cache misses on a mostly
 * empty array) until it is used.
 */
#include "dialog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define DLG_BUCKETS_MIN 1024u
#define DLG_BUCKETS_MAX (1u << 20)
#define DLG_EARLY_PER_CALL 16u

struct dlg {
	struct dlg_info d;
	struct dlg *hnext;
	struct dlg *older, *newer;
};

struct dlg_table {
	const struct sp_conf *conf;
	struct siphash_key key;
	struct dlg **b;
	unsigned nbuckets;          /* a power of two */
	struct dlg *oldest, *youngest;
	struct dlg_hooks hooks;
	struct dlg_stats st;
};

unsigned dlg_bucket_of(const struct dlg_table *t, const char *call_id)
{
	return (unsigned)(siphash_str(&t->key, call_id) & (t->nbuckets - 1));
}

struct dlg_table *dlg_new(const struct sp_conf *conf)
{
	struct dlg_table *t = calloc(1, sizeof(*t));
	unsigned n = DLG_BUCKETS_MIN;

	if (!t)
		return NULL;
	if (!(t->b = calloc(n, sizeof(*t->b)))) {
		free(t);
		return NULL;
	}
	t->nbuckets = n;
	t->conf = conf;
	siphash_key_random(&t->key);
	return t;
}

void dlg_free(struct dlg_table *t)
{
	if (!t)
		return;
	while (t->oldest) {
		struct dlg *g = t->oldest;
		t->oldest = g->newer;
		free(g);
	}
	free(t->b);
	free(t);
}

void dlg_set_hooks(struct dlg_table *t, const struct dlg_hooks *h)
{
	if (h)
		t->hooks = *h;
	else
		memset(&t->hooks, 0, sizeof(t->hooks));
}

static bool str_fits(const char *s, size_t cap)
{
	return s && *s && strnlen(s, cap) < cap;
}

/* The dialog of call_id between tags a and b, in either order. */
static struct dlg *find(const struct dlg_table *t, const char *call_id, const char *a,
			const char *b)
{
	for (struct dlg *g = t->b[dlg_bucket_of(t, call_id)]; g; g = g->hnext)
		if (!strcmp(g->d.call_id, call_id) &&
		    ((!strcmp(g->d.caller.tag, a) && !strcmp(g->d.callee.tag, b)) ||
		     (!strcmp(g->d.caller.tag, b) && !strcmp(g->d.callee.tag, a))))
			return g;
	return NULL;
}

/* Put g on the age list, in order of start, searching from the young end. */
static void age_insert(struct dlg_table *t, struct dlg *g)
{
	struct dlg *after = t->youngest;

	while (after && after->d.started > g->d.started)
		after = after->older;
	g->older = after;
	g->newer = after ? after->newer : t->oldest;
	if (g->newer)
		g->newer->older = g;
	else
		t->youngest = g;
	if (after)
		after->newer = g;
	else
		t->oldest = g;
}

/* More dialogs than buckets: double the array (a failed allocation keeps
 * the old one, only slower). */
static void grow(struct dlg_table *t)
{
	unsigned n = t->nbuckets * 2, k;
	struct dlg **b;

	if (t->st.confirmed + t->st.early < t->nbuckets || n > DLG_BUCKETS_MAX ||
	    !(b = calloc(n, sizeof(*b))))
		return;
	free(t->b);
	t->b = b;
	t->nbuckets = n;
	for (struct dlg *g = t->oldest; g; g = g->newer) {
		k = dlg_bucket_of(t, g->d.call_id);
		g->hnext = t->b[k];
		t->b[k] = g;
	}
}

static struct dlg *add(struct dlg_table *t, const struct dlg_info *d)
{
	struct dlg *g;
	unsigned k;

	if ((d->confirmed ? t->st.confirmed : t->st.early) >= t->conf->max_calls) {
		t->st.refused_full++;
		return NULL;
	}
	if (!(g = calloc(1, sizeof(*g))))
		return NULL;
	grow(t);
	g->d = *d;
	k = dlg_bucket_of(t, d->call_id);
	g->hnext = t->b[k];
	t->b[k] = g;
	age_insert(t, g);
	if (d->confirmed)
		t->st.confirmed++;
	else
		t->st.early++;
	return g;
}

static void dlg_drop(struct dlg_table *t, struct dlg *g, bool notify)
{
	struct dlg **pp = &t->b[dlg_bucket_of(t, g->d.call_id)];

	if (notify && g->d.confirmed && t->hooks.ended)
		t->hooks.ended(t->hooks.arg, &g->d);
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == g) {
			*pp = g->hnext;
			break;
		}
	if (g->older)
		g->older->newer = g->newer;
	else
		t->oldest = g->newer;
	if (g->newer)
		g->newer->older = g->older;
	else
		t->youngest = g->older;
	if (g->d.confirmed)
		t->st.confirmed--;
	else
		t->st.early--;
	t->st.ended++;
	free(g);
}

static int fill(struct dlg_info *d, const char *call_id, const char *caller_tag,
		const struct tp_addr *caller_src, const char *callee_tag,
		const struct tp_addr *callee_src, time_t now, bool confirmed)
{
	if (!str_fits(call_id, DLG_CALLID_MAX) || !str_fits(caller_tag, DLG_TAG_MAX) ||
	    !str_fits(callee_tag, DLG_TAG_MAX) || !caller_src || !callee_src)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	strcpy(d->call_id, call_id);
	strcpy(d->caller.tag, caller_tag);
	strcpy(d->callee.tag, callee_tag);
	d->caller.src = *caller_src;
	d->callee.src = *callee_src;
	d->started = now;
	d->confirmed = confirmed;
	return 0;
}

int dlg_early(struct dlg_table *t, const char *call_id, const char *caller_tag,
	      const struct tp_addr *caller_src, const char *callee_tag,
	      const struct tp_addr *callee_src, time_t now)
{
	struct dlg_info d;
	int rc;

	if ((rc = fill(&d, call_id, caller_tag, caller_src, callee_tag, callee_src, now, false)) < 0)
		return rc;
	if (find(t, call_id, caller_tag, callee_tag))
		return -EEXIST;
	{
		/* one call's provisionals (a callee inventing To tags) cannot
		 * take the table */
		unsigned n = 0;

		for (struct dlg *g = t->b[dlg_bucket_of(t, call_id)]; g; g = g->hnext)
			n += !g->d.confirmed && !strcmp(g->d.call_id, call_id);
		if (n >= DLG_EARLY_PER_CALL) {
			t->st.refused_full++;
			return -ENOSPC;
		}
	}
	if (t->st.early >= t->conf->max_calls) {
		t->st.refused_full++;
		return -ENOSPC;
	}
	return add(t, &d) ? 0 : -ENOMEM;
}

int dlg_confirm(struct dlg_table *t, const char *call_id, const char *caller_tag,
		const struct tp_addr *caller_src, const char *callee_tag,
		const struct tp_addr *callee_src, time_t now)
{
	struct dlg_info d;
	struct dlg *g;
	int rc;

	if ((rc = fill(&d, call_id, caller_tag, caller_src, callee_tag, callee_src, now, true)) < 0)
		return rc;
	g = find(t, call_id, caller_tag, callee_tag);
	if (g && g->d.confirmed)
		return -EEXIST;
	if (g) {
		/* promoted: it keeps its place on the age list (made at its
		 * first provisional); the 2xx says where the callee is now */
		g->d.confirmed = true;
		g->d.callee.src = *callee_src;
		t->st.early--;
		t->st.confirmed++;
		if (t->st.confirmed > t->conf->max_calls) {
			dlg_drop(t, g, false);
			t->st.refused_full++;
			return -ENOSPC;
		}
	} else if (!(g = add(t, &d))) {
		return t->st.confirmed >= t->conf->max_calls ? -ENOSPC : -ENOMEM;
	}
	t->st.made++;
	dlg_end_early(t, call_id, caller_tag); /* the forks that lost */
	if (t->hooks.changed)
		t->hooks.changed(t->hooks.arg, &g->d);
	return 0;
}

enum dlg_verdict dlg_check(const struct dlg_table *t, const char *call_id, const char *from_tag,
			   const char *to_tag, const struct tp_addr *src,
			   const struct dlg_info **out)
{
	const struct dlg_party *p;
	struct dlg *g;

	if (out)
		*out = NULL;
	if (!call_id || !from_tag || !to_tag || !src || !(g = find(t, call_id, from_tag, to_tag)))
		return DLG_NONE;
	if (out)
		*out = &g->d;
	/* RFC 3261 §12.2.2: the From tag is the sender's own */
	p = !strcmp(g->d.caller.tag, from_tag) && !strcmp(g->d.callee.tag, to_tag) ? &g->d.caller
										    : &g->d.callee;
	return p->src.peer.sin_addr.s_addr == src->peer.sin_addr.s_addr ? DLG_OK : DLG_WRONG_PARTY;
}

int dlg_end(struct dlg_table *t, const char *call_id, const char *tag_a, const char *tag_b)
{
	struct dlg *g;

	if (!call_id || !tag_a || !tag_b || !(g = find(t, call_id, tag_a, tag_b)))
		return -ENOENT;
	dlg_drop(t, g, true);
	return 0;
}

unsigned dlg_end_early(struct dlg_table *t, const char *call_id, const char *caller_tag)
{
	struct dlg *g, *next;
	unsigned n = 0;

	for (g = t->b[dlg_bucket_of(t, call_id)]; g; g = next) {
		next = g->hnext;
		if (!g->d.confirmed && !strcmp(g->d.call_id, call_id) &&
		    !strcmp(g->d.caller.tag, caller_tag)) {
			dlg_drop(t, g, false);
			n++;
		}
	}
	return n;
}

unsigned dlg_expire(struct dlg_table *t, time_t now)
{
	time_t max = (time_t)t->conf->max_call_duration;
	unsigned n = 0;

	while (t->oldest && now - t->oldest->d.started >= max) {
		dlg_drop(t, t->oldest, true);
		t->st.expired++;
		n++;
	}
	return n;
}

int dlg_restore(struct dlg_table *t, const struct dlg_info *d)
{
	if (!d || !d->confirmed || !str_fits(d->call_id, sizeof(d->call_id)) ||
	    !str_fits(d->caller.tag, sizeof(d->caller.tag)) ||
	    !str_fits(d->callee.tag, sizeof(d->callee.tag)))
		return -EINVAL;
	if (find(t, d->call_id, d->caller.tag, d->callee.tag))
		return -EEXIST;
	if (t->st.confirmed >= t->conf->max_calls) {
		t->st.refused_full++;
		return -ENOSPC;
	}
	return add(t, d) ? 0 : -ENOMEM;
}

void dlg_each(const struct dlg_table *t, dlg_each_fn fn, void *arg)
{
	for (const struct dlg *g = t->oldest; g; g = g->newer)
		if (g->d.confirmed)
			fn(arg, &g->d);
}

void dlg_get_stats(const struct dlg_table *t, struct dlg_stats *st)
{
	*st = t->st;
}
