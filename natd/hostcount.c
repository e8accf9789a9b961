/* hostcount: open-addressed per-host counters (see hostcount.h). */
#include "hostcount.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

struct hslot {
	uint32_t addr; /* network byte order */
	uint32_t n;    /* 0 = free slot */
	uint8_t realm;
};

struct hostcount {
	struct hslot *s;
	uint32_t mask, used, max;
	uint64_t seed;
};

static uint32_t hc_hash(const struct hostcount *h, uint8_t realm, uint32_t addr)
{
	uint64_t x = (h->seed ^ addr) + ((uint64_t)realm << 40);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x & h->mask;
}

struct hostcount *hc_new(uint32_t max_hosts)
{
	struct hostcount *h = calloc(1, sizeof(*h));
	uint64_t want = (uint64_t)max_hosts + max_hosts / 2 + 1, size = 1;

	if (!h)
		return NULL;
	while (size < want)
		size <<= 1;
	if (size > (1ull << 31) || !(h->s = calloc((size_t)size, sizeof(*h->s)))) {
		free(h);
		return NULL;
	}
	h->mask = (uint32_t)(size - 1);
	h->max = max_hosts;
	if (getrandom(&h->seed, sizeof(h->seed), 0) != sizeof(h->seed))
		h->seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)h;
	return h;
}

void hc_free(struct hostcount *h)
{
	if (!h)
		return;
	free(h->s);
	free(h);
}

/* The slot of {realm, addr}, or the free slot that ends its probe run. */
static uint32_t hc_find(const struct hostcount *h, uint8_t realm, uint32_t addr)
{
	uint32_t i = hc_hash(h, realm, addr);

	while (h->s[i].n && !(h->s[i].addr == addr && h->s[i].realm == realm))
		i = (i + 1) & h->mask;
	return i;
}

uint32_t hc_get(const struct hostcount *h, uint8_t realm, uint32_t addr)
{
	return h->s[hc_find(h, realm, addr)].n;
}

int hc_inc(struct hostcount *h, uint8_t realm, uint32_t addr)
{
	struct hslot *s = &h->s[hc_find(h, realm, addr)];

	if (!s->n) {
		if (h->used >= h->max)
			return -ENOSPC; /* keeps the table under two thirds full */
		s->addr = addr;
		s->realm = realm;
		h->used++;
	}
	s->n++;
	return 0;
}

void hc_dec(struct hostcount *h, uint8_t realm, uint32_t addr)
{
	uint32_t i = hc_find(h, realm, addr), j;

	if (!h->s[i].n || --h->s[i].n)
		return;
	h->used--;
	/* backward-shift deletion: pull later members of the run into the
	 * hole when their home slot is not after it (cyclically) */
	for (j = (i + 1) & h->mask; h->s[j].n; j = (j + 1) & h->mask) {
		uint32_t home = hc_hash(h, h->s[j].realm, h->s[j].addr);
		if (((j - home) & h->mask) >= ((j - i) & h->mask)) {
			h->s[i] = h->s[j];
			h->s[j].n = 0;
			i = j;
		}
	}
}

size_t hc_memory(const struct hostcount *h)
{
	return sizeof(*h) + ((size_t)h->mask + 1) * sizeof(struct hslot);
}
