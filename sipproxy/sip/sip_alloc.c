/* sip_alloc: a per-thread size-class cache under libosip2's allocations.
 *
 * Theory of operation. A parse makes a few hundred small blocks and the
 * message's free releases them in one burst; glibc's per-thread cache
 * (tcache) keeps only 7 blocks per size, so most of the burst falls through
 * to the fast bins and is consolidated, unlinked and split again by the
 * next parse (_int_malloc, malloc_consolidate and unlink_chunk were a fifth
 * of sipproxy's profile at 2,000 calls/s). Here every thread keeps one
 * LIFO free list per size class, capped in bytes per class, and serves
 * libosip2's allocations from it.
 *
 * Classes. 64 small classes of 24, 40, ... 1032 bytes (16 apart) and 4
 * large ones of 2056, 4104, 8200 and 16392 bytes; bigger requests go
 * straight to malloc. Each class size is a size glibc's malloc hands out
 * exactly (16k + 8: a chunk minus its size word), so a block made for a
 * class reports that size through malloc_usable_size().
 *
 * No header. A block is an ordinary malloc() block of its class size; its
 * class is found again on free from malloc_usable_size() (the largest
 * class not above it). So the hooks and the C library mix freely: a block
 * libosip2 made before sip_alloc_install(), or one the proxy malloc()ed and
 * handed to libosip2 to free, is cached under the class it fits; a block
 * from the cache may be released with free(). Nothing depends on the
 * thread either: a block is not tied to the cache it came from, so a block
 * freed on another thread joins that thread's lists (as glibc's tcache
 * does), and a thread's lists go back to free() when it exits (a
 * pthread key's destructor). Counters are per thread, read by that thread.
 *
 * Under AddressSanitizer a block sitting on a free list is still allocated
 * as far as ASan knows, so a use after free of a cached block goes unseen:
 * the fuzzers do not install the cache.
 */
#include "sip_alloc.h"
#include "sip_msg.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_CLASSES 64
#define SMALL_MIN 24u
#define SMALL_MAX (SMALL_MIN + 16u * (SMALL_CLASSES - 1)) /* 1032 */
#define LARGE_CLASSES 4
#define NCLASSES (SMALL_CLASSES + LARGE_CLASSES)

static const size_t large_size[LARGE_CLASSES] = {2056, 4104, 8200, SIP_ALLOC_MAX_CACHED};

struct free_block {
	struct free_block *next;
};

struct cache {
	struct free_block *head[NCLASSES];
	size_t bytes[NCLASSES];
	struct sip_alloc_stats st;
	bool registered; /* the thread-exit destructor is armed */
};

static __thread struct cache tcache_;
static size_t class_cap = SIP_ALLOC_DEFAULT_CLASS_BYTES;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;

static size_t class_size(unsigned c)
{
	return c < SMALL_CLASSES ? SMALL_MIN + 16u * c : large_size[c - SMALL_CLASSES];
}

/* The smallest class that holds n bytes; NCLASSES if none does. */
static unsigned class_up(size_t n)
{
	if (n <= SMALL_MIN)
		return 0;
	if (n <= SMALL_MAX)
		return (unsigned)((n - SMALL_MIN + 15) / 16);
	for (unsigned i = 0; i < LARGE_CLASSES; i++)
		if (n <= large_size[i])
			return SMALL_CLASSES + i;
	return NCLASSES;
}

/* The largest class a block of u usable bytes can serve; NCLASSES if
 * none (too small, or too large to cache). */
static unsigned class_down(size_t u)
{
	if (u < SMALL_MIN || u > SIP_ALLOC_MAX_CACHED)
		return NCLASSES;
	if (u < class_size(SMALL_CLASSES))
		return u >= SMALL_MAX ? SMALL_CLASSES - 1 : (unsigned)((u - SMALL_MIN) / 16);
	for (unsigned i = LARGE_CLASSES; i-- > 0;)
		if (u >= large_size[i])
			return SMALL_CLASSES + i;
	return SMALL_CLASSES - 1; /* not reached: u >= 2056 */
}

static void cache_release(struct cache *tc)
{
	for (unsigned c = 0; c < NCLASSES; c++) {
		struct free_block *b = tc->head[c], *next;

		for (; b; b = next) {
			next = b->next;
			free(b);
		}
		tc->head[c] = NULL;
		tc->bytes[c] = 0;
	}
}

/* A thread ends: its lists go back to free(). */
static void thread_exit(void *arg)
{
	cache_release(arg);
}

static void make_key(void)
{
	key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

/* The calling thread's cache, its exit destructor armed on first use. If
 * the key cannot be made the lists of an exiting thread leak at most
 * class_cap per class, once per thread: the proxy's threads live as long
 * as it does. */
static struct cache *cache_get(void)
{
	struct cache *tc = &tcache_;

	if (__builtin_expect(!tc->registered, 0)) {
		tc->registered = true;
		pthread_once(&key_once, make_key);
		if (key_ok)
			(void)pthread_setspecific(exit_key, tc);
	}
	return tc;
}

void *sip_alloc_malloc(size_t size)
{
	struct cache *tc = cache_get();
	unsigned c = class_up(size);
	struct free_block *b;

	if (c >= NCLASSES) {
		tc->st.misses++;
		return malloc(size);
	}
	if ((b = tc->head[c])) {
		tc->head[c] = b->next;
		/* the next block of the list is often cold (a message freed
		 * seconds ago): fetch it while the caller fills this one */
		__builtin_prefetch(b->next);
		tc->bytes[c] -= class_size(c);
		tc->st.hits++;
		return b;
	}
	tc->st.misses++;
	return malloc(class_size(c));
}

void sip_alloc_free(void *ptr)
{
	struct cache *tc;
	struct free_block *b = ptr;
	unsigned c;
	size_t sz;

	if (!ptr)
		return;
	tc = cache_get();
	c = class_down(malloc_usable_size(ptr));
	if (c >= NCLASSES || tc->bytes[c] + (sz = class_size(c)) > class_cap) {
		tc->st.released++;
		free(ptr);
		return;
	}
	b->next = tc->head[c];
	tc->head[c] = b;
	tc->bytes[c] += sz;
	tc->st.kept++;
}

void *sip_alloc_realloc(void *ptr, size_t size)
{
	size_t u;
	void *q;

	if (!ptr)
		return sip_alloc_malloc(size);
	if (size == 0) {
		sip_alloc_free(ptr);
		return NULL;
	}
	u = malloc_usable_size(ptr);
	/* big on both sides: the C library's realloc (mremap, in place) */
	if (u > SIP_ALLOC_MAX_CACHED && size > SIP_ALLOC_MAX_CACHED)
		return realloc(ptr, size);
	/* it fits and wastes under half of it (or little): keep it */
	if (size <= u && (size > u / 2 || u <= 64))
		return ptr;
	/* grow, or shrink enough to give the rest back (sip_msg_to_bytes()
	 * cuts libosip2's 8 kB buffer down to the message: the short block
	 * is what a transaction keeps for 32 s) */
	if (!(q = sip_alloc_malloc(size)))
		return NULL;
	memcpy(q, ptr, size < u ? size : u);
	sip_alloc_free(ptr);
	return q;
}

int sip_alloc_install(size_t class_bytes)
{
	if (class_bytes == 0)
		class_bytes = SIP_ALLOC_DEFAULT_CLASS_BYTES;
	if (class_bytes < SMALL_MIN)
		return -EINVAL;
	class_cap = class_bytes;
	osip_set_allocators(sip_alloc_malloc, sip_alloc_realloc, sip_alloc_free);
	return 0;
}

void sip_alloc_uninstall(void)
{
	osip_set_allocators(NULL, NULL, NULL);
	sip_alloc_flush();
}

void sip_alloc_flush(void)
{
	cache_release(cache_get());
}

/* What is cached is derived from the per-class byte counts (each class's
 * list holds blocks of one size), so the hot paths keep one count. */
void sip_alloc_get_stats(struct sip_alloc_stats *out)
{
	const struct cache *tc = cache_get();

	if (!out)
		return;
	*out = tc->st;
	out->bytes_cached = out->blocks_cached = 0;
	for (unsigned c = 0; c < NCLASSES; c++) {
		out->bytes_cached += tc->bytes[c];
		out->blocks_cached += tc->bytes[c] / class_size(c);
	}
}
