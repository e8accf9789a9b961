/* reload: the signal shell both daemons run in their event loop, and the
 * SIGHUP configuration reload around their own loader.
 *
 * Signals are libevent events, so the handlers run in the loop, between
 * two passes, never inside one: SIGTERM and SIGINT log "signal N:
 * stopping" and break the loop; SIGHUP calls the daemon's reload; SIGUSR1
 * its report (natd's counters, sipproxy's status view).
 *
 * A reload (reload_run) tells systemd RELOADING=1, loads the file into a
 * fresh zeroed configuration, collecting the loader's problems in memory;
 * if the file loads, the daemon's apply decides what of it takes effect
 * (what cannot change under live traffic is the daemon's business);
 * otherwise each problem is logged as "reload: <problem>", then "reload:
 * PATH has errors; keeping the running configuration", and nothing
 * changes. Either way READY=1 follows.
 */
#ifndef COMMON_RELOAD_H
#define COMMON_RELOAD_H

#include <stddef.h>
#include <stdio.h>

struct event_base;
struct reload_signals;

/* Handle SIGTERM, SIGINT (stop), SIGHUP (on_hup) and SIGUSR1 (on_usr1)
 * in base, each callback given arg. NULL on failure (logged). */
struct reload_signals *reload_signals_new(struct event_base *base, void (*on_hup)(void *arg),
					  void (*on_usr1)(void *arg), void *arg);
void reload_signals_free(struct reload_signals *s);

/* The daemon's loader: path into conf (conf_size zeroed bytes), problems
 * one a line to errs; negative if the file has errors. */
typedef int (*reload_load_fn)(void *arg, const char *path, void *conf, FILE *errs);
/* The daemon's apply: conf loaded cleanly; the daemon takes what it
 * holds (the struct itself is freed by reload_run). */
typedef void (*reload_apply_fn)(void *arg, void *conf);

/* Reload path as the header says. */
void reload_run(const char *path, size_t conf_size, reload_load_fn load, reload_apply_fn apply,
		void *arg);

#endif
