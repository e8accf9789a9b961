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

bool redistest_restart(struct redistest *r)
{
	char port[8];

	snprintf(port, sizeof(port), "%u", r->port);
	r->pid = fork();
	if (r->pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", r->dir,
		       "--save", "", "--appendonly", "no", "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	if (r->pid < 0)
		return false;
	/* ready when it answers PING: bounded at 5 s */
	for (int i = 0; i < 100; i++) {
		redisContext *c = redistest_conn(r);
		int st;
		if (c) {
			redisReply *rep = redisCommand(c, "PING");
			bool ok = rep && rep->type == REDIS_REPLY_STATUS;
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
