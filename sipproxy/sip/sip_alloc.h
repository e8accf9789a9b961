/* sip_alloc: a per-thread size-class cache under libosip2's allocations.
 *
 * libosip2 parses a message into a few hundred small blocks (strings,
 * list nodes, header structures) and frees them all at once; serialising
 * and the round trip do it again. sip_alloc_install() points libosip2's
 * allocator hooks (osip_set_allocators()) at a cache that keeps freed
 * blocks on one free list per size class and hands them back without
 * entering malloc. See sip_alloc.c for how it works and why it is safe
 * whatever thread frees a block.
 */
#ifndef SIPPROXY_SIP_ALLOC_H
#define SIPPROXY_SIP_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Each class's free list holds at most this many bytes, by default. */
#define SIP_ALLOC_DEFAULT_CLASS_BYTES (256u * 1024u)
/* Blocks above this many bytes bypass the cache. */
#define SIP_ALLOC_MAX_CACHED 16392u

/* The calling thread's counters (each thread has its own cache). */
struct sip_alloc_stats {
	uint64_t hits;      /* allocations served from a free list */
	uint64_t misses;    /* allocations that went to malloc (class empty or too large) */
	uint64_t kept;      /* frees kept on a free list */
	uint64_t released;  /* frees handed to free() (class full or too large) */
	size_t bytes_cached; /* bytes on the free lists now */
	size_t blocks_cached;
};

/* Point libosip2's allocation hooks at the cache, each size class keeping
 * at most class_bytes (0: SIP_ALLOC_DEFAULT_CLASS_BYTES) of free blocks
 * per thread. 0, or -EINVAL for a class_bytes too small to hold one block
 * of the smallest class. Call before the first libosip2 allocation that
 * should be cached; blocks made before it are still freed correctly. */
int sip_alloc_install(size_t class_bytes);
/* Give libosip2 back to malloc/free and empty the calling thread's cache.
 * Blocks the cache handed out stay valid and may be freed either way. */
void sip_alloc_uninstall(void);
/* Hand the calling thread's cached blocks back to free(). */
void sip_alloc_flush(void);
/* The calling thread's counters. */
void sip_alloc_get_stats(struct sip_alloc_stats *out);

/* The three hooks (also usable directly, e.g. by tests). Every block they
 * return is an ordinary malloc() block: free() may release it, and
 * sip_alloc_free() accepts any malloc() block. */
void *sip_alloc_malloc(size_t size);
void *sip_alloc_realloc(void *ptr, size_t size);
void sip_alloc_free(void *ptr);

#endif
