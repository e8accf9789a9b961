/* natdenv: see natdenv.h. */
#include "natdenv.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"
#include "realmconf.h"

void natdenv_init(struct natdenv *n, const char *conf_text)
{
	char path[] = "/tmp/natdenv_XXXXXX";
	int fd = mkstemp(path);
	struct frag_conf fc = {.datagrams = 16, .slots = 2, .slot_bytes = 1500, .timeout = 2};
	struct mgr_conf mc;

	memset(n, 0, sizeof(*n));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf_text, strlen(conf_text)), (ssize_t)strlen(conf_text));
	close(fd);
	assert_int_equal(conf_load(path, &n->conf, stderr), 0);
	unlink(path);
	assert_int_equal(realm_set_build(&n->rs, &n->conf), 0);
	n->conf.bind.capacity = 256;
	n->conf.bind.perm_capacity = 256;
	assert_non_null(n->bt = bind_table_new(&n->conf.bind, clock_mono_s()));
	assert_non_null(n->ft = frag_table_new(&fc));
	n->x = (struct xlate_ctx){.realms = &n->rs, .bt = n->bt, .ft = n->ft, .st = &n->st,
				  .now = clock_mono_s(), .hairpinning = true,
				  .pool_flags = POOL_F_PARITY | POOL_F_PRESERVE};
	mc = (struct mgr_conf){n->conf.ctl_default_lifetime, n->conf.ctl_max_lifetime};
	assert_non_null(n->m = mgr_new(&mc, &n->x));
}

void natdenv_fini(struct natdenv *n)
{
	mgr_free(n->m);
	bind_table_free(n->bt);
	frag_table_free(n->ft);
	realm_set_free(&n->rs);
	conf_free(&n->conf);
}
