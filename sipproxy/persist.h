/* persist: sipproxy's state file (state.file), so that a restart, even
 * after kill -9, keeps the registrations and the calls' natd bindings.
 *
 * The file is a journal (common/journal.h): a snapshot of every live
 * record, then the changes appended as they happen, written once per
 * event-loop pass. This module owns the record format and the glue: it
 * hooks into the registrar (an AoR changed), into media (a call
 * changed, a call ended) and into the dialog table (a dialog made or
 * ended), writes the records, and at start-up replays the
 * file into the registrar and media before anything is served.
 *
 * Records, text, one per line, fields separated by one space. Strings
 * that come from the network (AoR, URI, Call-ID, tags) are hex
 * (journal_hex_encode), "-" when empty; names (nats, realms) are plain;
 * numbers are decimal; times are wall-clock seconds (time(2)), so a saved
 * expiry means the same after a restart or a reboot.
 *
 *   sipproxy-state 1      the header: the first line of every snapshot
 *   A aor                 the AoR's contacts follow: forget what was saved
 *   R aor uri expires q call-id cseq udp|tcp ip port
 *                         one contact: where the REGISTER came from
 *                         (ip, port, transport: where requests go), the
 *                         expiry, q x1000, the Call-ID/CSeq of RFC 3261
 *                         §10.3 step 7
 *   C call-id started     the call's state follows: forget what was saved
 *   B call-id nat id epoch from to e-ip e-port proto pair filtered m-ip m-port tag
 *                         one binding: natd nat's id in its epoch, for the
 *                         media rule from -> to, E, UDP/TCP (6/17), an RTP
 *                         pair, asked with a remote filter, M, the party
 *   P call-id tag origin  a party and the o= address of its first
 *                         rewritten SDP ("-": none yet)
 *   F call-id realm n ip/plen/lo-hi...
 *                         the remote filter advertised from realm
 *   X call-id             the call is over
 *   D call-id caller-tag callee-tag started udp|tcp ip port udp|tcp ip port
 *                         a confirmed dialog (dialog.h): its parties' tags
 *                         and the flows they were heard from (caller's,
 *                         then callee's), when it was made
 *   E call-id tag tag     the dialog is over
 *
 * A call's lines always come together, C first; B, P and F lines are
 * only taken for the call whose C line came last. A change to an AoR
 * writes A and its R lines; a change to a call writes its C group again.
 *
 * Loading is defensive: a line that does not parse (missing or extra
 * fields, bad hex, numbers out of range, a NUL byte, over
 * JOURNAL_LINE_MAX) is counted and skipped; so are records the running
 * configuration cannot take (a nat, realm or media rule that is gone, a
 * limit reached). Contacts already expired are dropped. Lines are used
 * only after a header of a version this sipproxy knows; a file that does
 * not start with one restores nothing and is renamed "<file>.unreadable"
 * (the first snapshot would replace it). One log line sums it up (with
 * the first problem's record number and reason).
 *
 * What does not survive: transactions in flight (the phones retransmit;
 * a request whose INVITE transaction was lost is handled as a new one),
 * TCP connections (a TCP contact is restored with no connection: the
 * first request to it opens one to the address the REGISTER came from,
 * as after a lost connection), and SDP rewrites that were waiting for
 * natd at the time.
 */
#ifndef SIPPROXY_PERSIST_H
#define SIPPROXY_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "dialog.h"
#include "media.h"
#include "registrar.h"
#include "sp_conf.h"

#define PERSIST_VERSION 1
#define PERSIST_HEADER "sipproxy-state"

struct event_base;
struct persist;

/* What a load found. */
struct persist_stats {
	unsigned long lines;         /* complete lines read */
	unsigned long bad;           /* lines that could not be used (malformed, or no known header) */
	unsigned long skipped;       /* well-formed records the configuration cannot take */
	unsigned long regs;          /* contacts restored */
	unsigned long regs_expired;  /* contacts dropped as expired */
	unsigned long calls;         /* calls restored */
	unsigned long bindings;      /* their bindings */
	unsigned long dialogs;       /* dialogs restored */
	bool torn;                   /* the last line had no newline (ignored) */
	int version;                 /* the header's version; 0 none */
};

/* The registrar's clock (monotonic seconds, as given to registrar_register). */
typedef int64_t (*persist_clock_fn)(void);

/* A state file for this registrar, media and dialog table (they must
 * outlive it). */
struct persist *persist_new(const struct sp_conf *conf, struct registrar *reg, struct media *m,
			    struct dlg_table *dlg, persist_clock_fn mono);
void persist_free(struct persist *ps);

/* Replay the file at path into the registrar and media (before serving),
 * and log what was found. 0, -ENOENT (no file: nothing to restore), or
 * another -errno if it cannot be read. st may be NULL. */
int persist_load(struct persist *ps, const char *path, struct persist_stats *st);

/* Start saving to path: a snapshot now, then every change (hooks set).
 * base: the loop whose passes flush (NULL: never flushed but by close).
 * 0, or -1 (logged). */
int persist_open(struct persist *ps, const char *path, struct event_base *base);

/* Stop saving (hooks removed); with final, write a last snapshot first.
 * Nothing happens if it was not open. */
void persist_close(struct persist *ps, bool final);

/* Whether persist_open() succeeded and persist_close() has not run. */
bool persist_is_open(const struct persist *ps);

/* ---- the mirror: the same records, one key each (sp_ha.c: Redis) ----
 * Every change the journal gets is also handed, whole, to a mirror: the
 * lines of one AoR (A and its R lines), of one call (its C group) or of
 * one dialog (its D line), each ending in a newline, under a key (the
 * AoR, the Call-ID, or "call-id tag tag", hex as in the lines) with how
 * long the record may live (the AoR's longest contact; what is left of
 * media.max_call_duration for a call or a dialog). text NULL: the record
 * is gone (no contact left, X, E). The other side hands such a text to
 * persist_apply(), and a gone record's last text to persist_forget(). */
enum persist_kind { PERSIST_REG = 'r', PERSIST_CALL = 'c', PERSIST_DIALOG = 'd' };

struct persist_mirror {
	void (*put)(void *arg, enum persist_kind kind, const char *key, const char *text, size_t len,
		    uint32_t ttl_s);
	void *arg;
	unsigned long lost; /* records not handed over (out of memory) */
};

/* Set (m copied) or remove (NULL) the mirror; the hooks are set while a
 * journal or a mirror is. */
void persist_set_mirror(struct persist *ps, const struct persist_mirror *m);

/* Every live record through the mirror now (a full push); not journaled. */
void persist_mirror_all(struct persist *ps);

/* Apply a mirror's text (whole lines, no header) as a load would: an AoR
 * replaces its contacts, a call is restored into media (its refreshes
 * resume: media_restore_call), a dialog into the dialog table. No hook is
 * called meanwhile. st (may be NULL): what was found. 0, -EINVAL (a line
 * was unusable, counted in st->bad; the others were applied), -ENOMEM. */
int persist_apply(struct persist *ps, const char *text, size_t len, struct persist_stats *st);

/* A record is gone: undo what its last text (as given to persist_apply)
 * made: the AoR's contacts, the call (forgotten, nothing released), the
 * dialog. 0 or -EINVAL. */
int persist_forget(struct persist *ps, const char *text, size_t len);

/* With a journal open: write a snapshot now (after records were applied,
 * which the hooks do not see). 0 or -errno. */
int persist_snapshot(struct persist *ps);

#endif
