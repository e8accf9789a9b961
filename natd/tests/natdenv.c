/* natdenv: see natdenv.h. */
#include "natdenv.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

void natdenv_init(struct natdenv *n, const char *conf_text)
{
	char path[] = "/tmp/natdenv_XXXXXX";
	int fd = mkstemp(path);

	memset(n, 0, sizeof(*n));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf_text, strlen(conf_text)), (ssize_t)strlen(conf_text));
	close(fd);
	assert_int_equal(conf_load(path, &n->conf, stderr), 0);
	unlink(path);
	n->conf.bind.capacity = 256;
	n->conf.bind.perm_capacity = 256;
	assert_int_equal(core_open(&n->conf, clock_mono_s(), &n->core), 0);
}

void natdenv_fini(struct natdenv *n)
{
	core_close(n->core);
	conf_free(&n->conf);
}

struct nc_bind natdenv_req(const char *addr, uint16_t port)
{
	struct nc_bind r;

	memset(&r, 0, sizeof(r));
	r.spec.dir = NC_DIR_BOTH;
	r.spec.proto = NC_PROTO_UDP;
	strcpy(r.spec.in_realm, "inside");
	strcpy(r.spec.ext_realm, "outside");
	r.spec.ep.ip.af = NC_AF_IP4;
	assert_int_equal(inet_pton(AF_INET, addr, r.spec.ep.ip.a), 1);
	r.spec.ep.port = port;
	return r;
}
