/* golden_dump: print fixtures as golden-file entries (an "@ok" directive
 * and annotated hex). Arguments: fixture names, each optionally with
 * ":<request id>" so a transcript's replies echo their requests' ids;
 * "all" prints every fixture; "-" reads messages as hex from stdin, one
 * per line, and annotates them (for hand-made hostile entries or bytes
 * captured from a connection). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/msg.h>

#include "fixtures.h"
#include "golden.h"

static int dump(const char *arg, struct nc_msg *m)
{
	static uint8_t buf[NC_MSG_MAX];
	char name[64], *colon;
	int n;

	snprintf(name, sizeof(name), "%s", arg);
	if ((colon = strchr(name, ':')))
		*colon = 0;
	if (fx_by_name(name, m) < 0) {
		fprintf(stderr, "golden_dump: no fixture %s\n", name);
		return -1;
	}
	if (colon)
		m->reqid = (uint32_t)strtoul(colon + 1, NULL, 10);
	if ((n = nc_encode_msg(buf, sizeof(buf), m)) < 0) {
		fprintf(stderr, "golden_dump: %s: %s\n", name, nc_strerror(n));
		return -1;
	}
	if (colon)
		printf("@ok %s id=%u\n", name, m->reqid);
	else
		printf("@ok %s\n", name);
	gd_print(stdout, buf, (size_t)n);
	printf("\n");
	return 0;
}

/* Annotate hex messages read from stdin, one per line. */
static int annotate(void)
{
	static uint8_t buf[NC_MSG_MAX + 64];
	static char line[4 * NC_MSG_MAX];

	while (fgets(line, sizeof(line), stdin)) {
		size_t n = 0;
		unsigned v;
		char *p = line;
		int used;

		while (n < sizeof(buf) && sscanf(p, " %2x%n", &v, &used) == 1) {
			buf[n++] = (uint8_t)v;
			p += used;
		}
		if (n)
			gd_print(stdout, buf, n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nc_msg *m = calloc(1, sizeof(*m));
	int i, rc = 0;

	if (!m)
		return 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-")) {
			rc |= annotate();
		} else if (!strcmp(argv[i], "all")) {
			unsigned k;

			for (k = 0; k < fx_count(); k++)
				rc |= dump(fx_build(k, m), m);
		} else {
			rc |= dump(argv[i], m);
		}
	}
	free(m);
	return rc ? 1 : 0;
}
