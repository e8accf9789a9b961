/* redistest: a redis-server per unit test run (see redistest.h). */
#include "redistest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (s < 0)
		return 0;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

redisContext *redistest_conn(const struct redistest *r)
{
	struct timeval tv = {0, 300000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Run redis-server with args (NULL-terminated) as r->pid; ready when
 * ask answers with a reply of type want (bounded at 5 s). */
static bool spawn(struct redistest *r, char *const args[], const char *ask, int want)
{
	r->pid = fork();
	if (r->pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp("redis-server", args);
		_exit(127);
	}
	if (r->pid < 0)
		return false;
	for (int i = 0; i < 100; i++) {
		redisContext *c = redistest_conn(r);
		int st;
		if (c) {
			redisReply *rep = redisCommand(c, ask);
			bool ok = rep && rep->type == want;
			freeReplyObject(rep);
			redisFree(c);
			if (ok)
				return true;
		}
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->pid = 0;
			return false;
		}
		usleep(50000);
	}
	return false;
}

bool redistest_restart(struct redistest *r)
{
	char port[8];
	char *const args[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", r->dir,
			      "--save", "", "--appendonly", "no", "--daemonize", "no", NULL};

	snprintf(port, sizeof(port), "%u", r->port);
	return spawn(r, args, "PING", REDIS_REPLY_STATUS);
}

bool redistest_sentinel(struct redistest *s, const struct redistest *master, const char *name)
{
	char conf[128], ask[128];
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/redistest.XXXXXX");
	if (!mkdtemp(s->dir) || !(s->port = free_port()))
		return false;
	snprintf(conf, sizeof(conf), "%s/sentinel.conf", s->dir);
	if (!(f = fopen(conf, "w")))
		return false;
	fprintf(f, "port %u\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %u 1\n"
		   "sentinel down-after-milliseconds %s 1000\n",
		s->port, s->dir, name, master->port, name);
	fclose(f);
	char *const args[] = {"redis-server", conf, "--sentinel", NULL};
	snprintf(ask, sizeof(ask), "SENTINEL get-master-addr-by-name %s", name);
	return spawn(s, args, ask, REDIS_REPLY_ARRAY);
}

bool redistest_start(struct redistest *r, const char *who)
{
	memset(r, 0, sizeof(*r));
	if (system("command -v redis-server >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: %s: redis-server is not installed (apt-get install redis-server): "
				"the Redis cases are skipped\n", who);
		return false;
	}
	snprintf(r->dir, sizeof(r->dir), "/tmp/redistest.XXXXXX");
	if (!mkdtemp(r->dir) || !(r->port = free_port()) || !redistest_restart(r)) {
		fprintf(stderr, "SKIP: %s: redis-server did not start (port %u)\n", who, r->port);
		redistest_stop(r);
		return false;
	}
	return true;
}

void redistest_kill(struct redistest *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
}

void redistest_stop(struct redistest *r)
{
	char cmd[128];

	redistest_kill(r);
	if (r->dir[0] && strchr(r->dir, '.')) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", r->dir);
	}
	r->dir[0] = 0;
}

void redistest_flushall(const struct redistest *r)
{
	redisContext *c = redistest_conn(r);

	if (c) {
		freeReplyObject(redisCommand(c, "FLUSHALL"));
		redisFree(c);
	}
}
