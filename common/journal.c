/* journal: append-only state file with snapshots (theory of operation in
 * journal.h). */
#include "journal.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct journal {
	char *path;
	char *tmp;
	int fd;
	char *buf;
	size_t len, cap;
	unsigned long appended;   /* records since the last snapshot */
	unsigned long snap_recs;  /* records in the last snapshot */
	bool failed;              /* a write failed: snapshot at a later flush */
	time_t failed_at;         /* ... tried at most once a second */
	bool in_snapshot;         /* dump is writing into buf */
	struct event *ev;
	bool scheduled;
	journal_dump_fn dump;
	void *arg;
};

int journal_load(const char *path, journal_line_fn fn, void *arg, struct journal_load_stats *st)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			st->torn = true;
			break;
		}
		line[n - 1] = '\0';
		st->lines++;
		if ((size_t)n > JOURNAL_LINE_MAX || memchr(line, '\0', (size_t)n - 1) ||
		    fn(arg, line) < 0)
			st->bad++;
	}
	free(line);
	n = ferror(f) ? -EIO : 0;
	fclose(f);
	return (int)n;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void note_failure(struct journal *j, const char *what, int err)
{
	if (!j->failed)
		log_err("state file %s: %s: %s (state is not being saved until this clears)",
			j->path, what, strerror(-err));
	j->failed = true;
	j->failed_at = time(NULL);
}

int journal_snapshot(struct journal *j)
{
	int fd, err;
	unsigned long recs;

	/* what is buffered is superseded by the snapshot */
	j->len = 0;
	j->in_snapshot = true;
	recs = j->dump(j->arg, j);
	j->in_snapshot = false;
	fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = write_all(fd, j->buf, j->len)) < 0 || (fdatasync(fd) < 0 && (err = -errno))) {
		close(fd);
		unlink(j->tmp);
		goto fail;
	}
	if (rename(j->tmp, j->path) < 0) {
		err = -errno;
		close(fd);
		unlink(j->tmp);
		goto fail;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd; /* opened O_WRONLY at offset len: appends follow */
	j->len = 0;
	j->appended = 0;
	j->snap_recs = recs;
	if (j->failed)
		log_notice("state file %s: written again (%lu records)", j->path, recs);
	j->failed = false;
	return 0;
fail:
	j->len = 0;
	note_failure(j, "cannot write a snapshot", err);
	return err;
}

/* Write the buffer out (never a snapshot: safe in the middle of a change). */
static int write_buf(struct journal *j)
{
	int err;

	if (!j->len || j->failed) {
		if (j->failed)
			j->len = 0;
		return 0;
	}
	err = write_all(j->fd, j->buf, j->len);
	j->len = 0;
	if (err < 0)
		note_failure(j, "cannot append", err);
	return err;
}

int journal_flush(struct journal *j)
{
	j->scheduled = false;
	if (j->failed) {
		j->len = 0;
		return time(NULL) != j->failed_at ? journal_snapshot(j) : -EAGAIN;
	}
	if (j->appended > JOURNAL_MIN_APPEND + 2 * j->snap_recs)
		return journal_snapshot(j);
	return write_buf(j);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	journal_flush(arg);
}

struct journal *journal_open(const char *path, struct event_base *base, journal_dump_fn dump,
			     void *arg)
{
	struct journal *j = calloc(1, sizeof(*j));
	char cwd[4096];
	size_t pl;

	if (!j)
		return NULL;
	j->fd = -1;
	j->dump = dump;
	j->arg = arg;
	/* absolute: a daemon changes directory after opening it */
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		pl = strlen(cwd) + strlen(path) + 2;
		if ((j->path = malloc(pl)))
			snprintf(j->path, pl, "%s/%s", cwd, path);
	} else {
		j->path = strdup(path);
	}
	if (!j->path)
		goto fail;
	pl = strlen(j->path);
	j->tmp = malloc(pl + 5);
	if (!j->tmp)
		goto fail;
	memcpy(j->tmp, j->path, pl);
	memcpy(j->tmp + pl, ".new", 5);
	if (base && !(j->ev = event_new(base, -1, 0, on_flush, j)))
		goto fail;
	if (journal_snapshot(j) < 0)
		goto fail;
	return j;
fail:
	if (j->ev)
		event_free(j->ev);
	free(j->buf);
	free(j->path);
	free(j->tmp);
	free(j);
	return NULL;
}

/* Room for need more bytes in the buffer. */
static bool reserve(struct journal *j, size_t need)
{
	size_t ncap;
	char *nb;

	if (j->cap - j->len >= need)
		return true;
	ncap = j->cap ? j->cap * 2 : 65536;
	while (ncap < j->len + need)
		ncap *= 2;
	if (!(nb = realloc(j->buf, ncap))) {
		note_failure(j, "out of memory", -ENOMEM);
		return false;
	}
	j->buf = nb;
	j->cap = ncap;
	return true;
}

static void appended(struct journal *j);

void journal_printf(struct journal *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = j->cap - j->len;
		va_start(ap, fmt);
		n = vsnprintf(j->buf ? j->buf + j->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n + 1 < room)
			break;
		if (!reserve(j, (size_t)n + 2))
			return;
	}
	j->len += (size_t)n;
	j->buf[j->len++] = '\n';
	appended(j);
}

void journal_put(struct journal *j, const char *rec, size_t len)
{
	if (!reserve(j, len + 1))
		return;
	memcpy(j->buf + j->len, rec, len);
	j->len += len;
	j->buf[j->len++] = '\n';
	appended(j);
}

/* A record is in the buffer: count it, and see that it gets written. */
static void appended(struct journal *j)
{
	if (j->in_snapshot)
		return;
	j->appended++;
	if (j->len >= (1u << 20))
		write_buf(j);
	if (!j->scheduled && j->ev) {
		j->scheduled = true;
		event_active(j->ev, 0, 0);
	}
}

unsigned long journal_appended(const struct journal *j)
{
	return j->appended;
}

void journal_close(struct journal *j, bool final)
{
	if (!j)
		return;
	if (final)
		journal_snapshot(j);
	else
		journal_flush(j);
	if (j->ev)
		event_free(j->ev);
	if (j->fd >= 0)
		close(j->fd);
	free(j->buf);
	free(j->path);
	free(j->tmp);
	free(j);
}

void journal_hex_encode(char *dst, const void *src, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *s = src;

	for (size_t i = 0; i < n; i++) {
		*dst++ = hx[s[i] >> 4];
		*dst++ = hx[s[i] & 15];
	}
	*dst = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long journal_hex_decode(void *dst, size_t cap, const char *src)
{
	unsigned char *d = dst;
	size_t n = 0;

	while (src[0] && src[1]) {
		int hi = hexval(src[0]), lo = hexval(src[1]);
		if (hi < 0 || lo < 0 || n >= cap)
			return -1;
		d[n++] = (unsigned char)(hi << 4 | lo);
		src += 2;
	}
	return src[0] ? -1 : (long)n;
}

const char *journal_str_put(char *dst, const char *src)
{
	if (!src[0])
		return "-";
	journal_hex_encode(dst, src, strlen(src));
	return dst;
}

bool journal_str_get(const char *field, char *buf, size_t cap)
{
	long n;

	if (!strcmp(field, "-")) {
		buf[0] = '\0';
		return true;
	}
	if (strlen(field) % 2 || (n = journal_hex_decode(buf, cap - 1, field)) <= 0)
		return false;
	buf[n] = '\0';
	for (long i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return false;
	return true;
}

int journal_fields(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *sp = strchr(p, ' ');

		if (n == max || *p == '\0' || p == sp)
			return -1;
		f[n++] = p;
		if (!sp)
			return n;
		*sp = '\0';
		p = sp + 1;
	}
}

bool journal_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || i >= 20 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (i == 0 || v > max)
		return false;
	*out = v;
	return true;
}
