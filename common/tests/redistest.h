/* redistest: a real redis-server for unit tests (test_hastore, natd's
 * test_ha): started on a free loopback port and its own directory, no
 * persistence, ready when it answers PING, stopped by PID. Without
 * redis-server the tests are to be skipped, loudly. */
#ifndef TESTS_REDISTEST_H
#define TESTS_REDISTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct redistest {
	pid_t pid;
	uint16_t port;
	char dir[64];
};

/* Start one (who: the test's name for the SKIP line). false when
 * redis-server is missing or did not start (a SKIP line was printed). */
bool redistest_start(struct redistest *r, const char *who);
/* Start it again on the same port and directory (after redistest_kill). */
bool redistest_restart(struct redistest *r);
/* A Sentinel (redis-server --sentinel) on its own port and directory,
 * watching master under name; ready when it names the master. Stop it
 * with redistest_stop. */
bool redistest_sentinel(struct redistest *s, const struct redistest *master, const char *name);
/* SIGKILL it (a crash) and reap it. */
void redistest_kill(struct redistest *r);
/* Kill it and remove its directory. */
void redistest_stop(struct redistest *r);
/* A blocking connection (NULL if it does not answer). */
redisContext *redistest_conn(const struct redistest *r);
/* FLUSHALL. */
void redistest_flushall(const struct redistest *r);

/* Run libevent loop base until cond holds, at most ms milliseconds
 * (needs clock.h and event2/event.h). */
#define REDISTEST_RUN_UNTIL(base, cond, ms)                                                   \
	do {                                                                                  \
		uint64_t t0_ = clock_mono_ms();                                               \
		while (!(cond) && clock_mono_ms() - t0_ < (ms))                               \
			event_base_loop((base), EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(2000); \
	} while (0)

#endif
