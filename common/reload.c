/* reload: the signal events and the reload shell (see reload.h). */
#include "reload.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "notify.h"

#define NSIGS 4

struct reload_signals {
	struct event_base *base;
	struct event *ev[NSIGS];
	void (*on_hup)(void *arg);
	void (*on_usr1)(void *arg);
	void *arg;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct reload_signals *s = arg;

	(void)what;
	switch (sig) {
	case SIGUSR1:
		s->on_usr1(s->arg);
		break;
	case SIGHUP:
		s->on_hup(s->arg);
		break;
	default:
		log_notice("signal %d: stopping", (int)sig);
		event_base_loopbreak(s->base);
	}
}

struct reload_signals *reload_signals_new(struct event_base *base, void (*on_hup)(void *arg),
					  void (*on_usr1)(void *arg), void *arg)
{
	static const int sigs[NSIGS] = {SIGUSR1, SIGHUP, SIGTERM, SIGINT};
	struct reload_signals *s = calloc(1, sizeof(*s));

	if (!s) {
		log_err("out of memory");
		return NULL;
	}
	s->base = base;
	s->on_hup = on_hup;
	s->on_usr1 = on_usr1;
	s->arg = arg;
	for (int i = 0; i < NSIGS; i++)
		if (!(s->ev[i] = evsignal_new(base, sigs[i], on_signal, s)) ||
		    evsignal_add(s->ev[i], NULL) < 0) {
			log_err("cannot handle signal %d", sigs[i]);
			reload_signals_free(s);
			return NULL;
		}
	return s;
}

void reload_signals_free(struct reload_signals *s)
{
	if (!s)
		return;
	for (int i = 0; i < NSIGS; i++)
		if (s->ev[i])
			event_free(s->ev[i]);
	free(s);
}

void reload_run(const char *path, size_t conf_size, reload_load_fn load, reload_apply_fn apply,
		void *arg)
{
	void *fresh;
	char *errs = NULL;
	size_t elen = 0;
	FILE *ef;

	notify_send("RELOADING=1");
	fresh = calloc(1, conf_size);
	ef = open_memstream(&errs, &elen);
	if (!fresh || !ef) {
		log_err("reload: out of memory; keeping the running configuration");
	} else if (load(arg, path, fresh, ef) < 0) {
		fclose(ef);
		ef = NULL;
		for (char *save = NULL, *line = strtok_r(errs, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			log_err("reload: %s", line);
		log_err("reload: %s has errors; keeping the running configuration", path);
	} else {
		apply(arg, fresh);
	}
	if (ef)
		fclose(ef);
	free(errs);
	free(fresh);
	notify_send("READY=1");
}
