/* journal: the state file that lets a daemon restart, even after kill -9,
 * with what it held. One shared copy for natd (bindings and grants) and
 * sipproxy (registrations and calls).
 *
 * The file is text, one record per line, in the owner's own format. It is
 * a snapshot (every live record, written by the owner's dump callback)
 * followed by the changes made since (appended as they happen). Loading
 * replays the lines in order; a last line without its newline (a write
 * cut short by a crash of the machine) is ignored and counted.
 *
 * Durability. Appended records are collected in memory and written with
 * one write() at the end of the event-loop pass that made them (a
 * zero-delay event), so what a pass changed is in the kernel before the
 * loop sleeps again: a killed process loses nothing it has acted on (the
 * packet that made a binding is written to the TUN in the same pass). No
 * fsync per pass: a crash of the whole machine may lose the tail since the
 * last snapshot, which is fsync'd.
 *
 * Compaction. When the records appended since the last snapshot exceed
 * JOURNAL_MIN_APPEND plus twice the records of that snapshot, a new
 * snapshot is written to "<path>.new", fsync'd and renamed over the file,
 * so the file stays within a small multiple of the live state.
 *
 * Failures (disk full, read-only file system) are logged once; the
 * journal then tries a fresh snapshot at a later flush, at most once a
 * second, until one succeeds, which makes the file whole again.
 */
#ifndef COMMON_JOURNAL_H
#define COMMON_JOURNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MIN_APPEND 4096u
#define JOURNAL_LINE_MAX 8192u

struct event_base;
struct journal;

/* Writes every live record with journal_printf(); returns how many. */
typedef unsigned long (*journal_dump_fn)(void *arg, struct journal *j);

/* One line of the file (NUL-terminated, without its newline; the callee
 * may modify it). Returns 0, or -1 for a record it could not use. */
typedef int (*journal_line_fn)(void *arg, char *line);

struct journal_load_stats {
	unsigned long lines;   /* complete lines read */
	unsigned long bad;     /* lines the callback refused, or too long */
	bool torn;             /* the last line had no newline */
};

/* Replay the file at path into fn. Returns 0, -ENOENT if there is no
 * file, or another -errno if it cannot be read. */
int journal_load(const char *path, journal_line_fn fn, void *arg, struct journal_load_stats *st);

/* Start journalling to path: a snapshot is written at once (dump), then
 * changes are appended. base: the loop whose passes flush (NULL: the
 * caller calls journal_flush). NULL on failure (logged). */
struct journal *journal_open(const char *path, struct event_base *base, journal_dump_fn dump,
			     void *arg);

/* Append one record (a newline is added). */
void journal_printf(struct journal *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append one record of len bytes, already formatted (no newline). */
void journal_put(struct journal *j, const char *rec, size_t len);

/* Write what is buffered (and compact if due). 0 or -errno. */
int journal_flush(struct journal *j);

/* Write a fresh snapshot now. 0 or -errno. */
int journal_snapshot(struct journal *j);

/* Records appended since the last snapshot (for the tests). */
unsigned long journal_appended(const struct journal *j);

/* Flush, write a final snapshot if final is true, close and free. */
void journal_close(struct journal *j, bool final);

/* ---- record fields, for both owners' formats ---- */

/* Hex helpers for binary fields inside a record. hex_encode writes 2n
 * characters and a NUL; hex_decode returns the bytes decoded or -1. */
void journal_hex_encode(char *dst, const void *src, size_t n);
long journal_hex_decode(void *dst, size_t cap, const char *src);

/* A text field (names, URIs, tags: any bytes but NUL and controls) as
 * hex, "-" when empty. dst: 2 * strlen(src) + 1 bytes at least. Returns
 * the field (dst, or "-"). */
const char *journal_str_put(char *dst, const char *src);
/* Its reverse into buf (cap bytes with the NUL): false for bad hex, a
 * value too long, or a NUL or control byte inside. */
bool journal_str_get(const char *field, char *buf, size_t cap);

/* Split line in place into at most max fields at single spaces. The
 * count, or -1 for an empty field or more than max. */
int journal_fields(char *line, char **f, int max);

/* A decimal field, 1 to 20 digits, no sign, at most max. */
bool journal_u64(const char *s, uint64_t max, uint64_t *out);

#endif
