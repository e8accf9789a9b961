/* dialog: the dialogs sipproxy has seen made (RFC 3261 §12), and who may
 * speak in them.
 *
 * A dialog is a Call-ID and the tags of its two parties, and for each
 * party the flow the proxy heard it from when the dialog was made: the
 * caller's is where the initial INVITE (SUBSCRIBE, REFER) came from, the
 * callee's where the response with its To tag came from. For a party
 * behind another proxy that flow is that proxy (the previous or next
 * hop), for a phone behind a NAT its public address, which stays as long
 * as the NAT keeps its mapping.
 *
 * An in-dialog request (To with a tag) is served only when it names a
 * dialog of the table, in either direction (From tag = one party's, To
 * tag = the other's), and comes from the address recorded for the party
 * whose tag is in From (dlg_check). Only the IP address is compared: a
 * phone may send from another port or over a new TCP connection, but a
 * third host (one that learnt the Call-ID and the tags by any means) does
 * not have the party's address.
 *
 * Early dialogs: a provisional response (101-199) with a To tag to an
 * initial INVITE records an early dialog (so PRACK and UPDATE before the
 * answer work, RFC 3262 / 3311, and a fork's early dialog is told from
 * another's). The 2xx confirms its dialog and forgets the other early
 * dialogs of the call (the forks that lost); a final failure of the
 * INVITE forgets them all.
 *
 * A dialog ends on BYE (at once: the proxy does not wait for the 2xx; a
 * BYE the far end refuses still ends it here, as it does the media), and
 * at media.max_call_duration after it was made (dlg_expire(), from the
 * proxy's 1 s tick: the dialogs sit on a list in the order they were
 * made, so an expiry pass only looks at the ones that are due).
 *
 * The table is a chained hash of Call-IDs keyed with SipHash (a random key
 * per table): a sender chooses Call-IDs and tags, not where they land.
 * It holds at most sip.max_calls confirmed and as many early dialogs, and
 * at most 16 early dialogs of one Call-ID.
 *
 * Restarts: confirmed dialogs are handed to hooks as they are made and
 * ended (persist.c writes them to the state file) and put back at start
 * with dlg_restore(), so the real BYE after a restart is still accepted.
 */
#ifndef SIPPROXY_DIALOG_H
#define SIPPROXY_DIALOG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sp_conf.h"
#include "transport.h"

#define DLG_CALLID_MAX 256
#define DLG_TAG_MAX 128

struct dlg_table;

/* One party: its tag and the flow it was heard from. */
struct dlg_party {
	char tag[DLG_TAG_MAX];
	struct tp_addr src;
};

/* What a dialog is (and what the state file keeps of it). */
struct dlg_info {
	char call_id[DLG_CALLID_MAX];
	struct dlg_party caller, callee;
	bool confirmed;            /* a 2xx passed; else early */
	time_t started;            /* wall clock, against max_call_duration */
};

/* What dlg_check() found. */
enum dlg_verdict {
	DLG_NONE = 0,      /* no dialog of that Call-ID and tags */
	DLG_OK = 1,        /* a dialog, and the request comes from its party */
	DLG_WRONG_PARTY = 2, /* a dialog, but not from the party whose tag is in From */
};

/* Hooks for the state file: changed gets a confirmed dialog once made,
 * ended one that was confirmed when it is over. NULL members: not called. */
struct dlg_hooks {
	void (*changed)(void *arg, const struct dlg_info *d);
	void (*ended)(void *arg, const struct dlg_info *d);
	void *arg;
};

struct dlg_stats {
	unsigned confirmed, early;
	uint64_t made, ended, expired, refused_full;
};

/* A table for conf's limits (sip.max_calls, media.max_call_duration, read
 * at each use so a reload applies). NULL when out of memory. */
struct dlg_table *dlg_new(const struct sp_conf *conf);
void dlg_free(struct dlg_table *t);

void dlg_set_hooks(struct dlg_table *t, const struct dlg_hooks *h);

/* A provisional response with To tag callee_tag, heard from callee_src,
 * to the initial INVITE of call_id from caller (tag, src): record the
 * early dialog if it is new. 0, -EEXIST (known already), -ENOSPC (full),
 * -EINVAL (a string too long or empty), -ENOMEM. */
int dlg_early(struct dlg_table *t, const char *call_id, const char *caller_tag,
	      const struct tp_addr *caller_src, const char *callee_tag,
	      const struct tp_addr *callee_src, time_t now);

/* A 2xx to the initial request of call_id: the dialog between these
 * parties is confirmed (made now, or promoted from early, with the 2xx's
 * source for the callee), and the call's other early dialogs are
 * forgotten. 0, -EEXIST (confirmed already: a retransmitted 2xx, or a
 * second fork's 2xx for the same tags), -ENOSPC, -EINVAL, -ENOMEM. */
int dlg_confirm(struct dlg_table *t, const char *call_id, const char *caller_tag,
		const struct tp_addr *caller_src, const char *callee_tag,
		const struct tp_addr *callee_src, time_t now);

/* May a request of call_id, From tag from_tag, To tag to_tag, heard from
 * src, speak in a dialog? *out (may be NULL) gets the dialog for DLG_OK
 * and DLG_WRONG_PARTY; it stays valid until the table changes. */
enum dlg_verdict dlg_check(const struct dlg_table *t, const char *call_id, const char *from_tag,
			   const char *to_tag, const struct tp_addr *src,
			   const struct dlg_info **out);

/* End the dialog of call_id between these tags (either order). 0, or
 * -ENOENT. */
int dlg_end(struct dlg_table *t, const char *call_id, const char *tag_a, const char *tag_b);

/* The initial INVITE of call_id from caller_tag failed: forget its early
 * dialogs (confirmed ones stay). Returns how many went. */
unsigned dlg_end_early(struct dlg_table *t, const char *call_id, const char *caller_tag);

/* End the dialogs made media.max_call_duration ago or more (at wall
 * clock now). Returns how many ended. */
unsigned dlg_expire(struct dlg_table *t, time_t now);

/* Put back a saved confirmed dialog (start-up). No hook is called. 0,
 * -EINVAL (not a confirmed dialog, a bad string), -EEXIST, -ENOSPC,
 * -ENOMEM. */
int dlg_restore(struct dlg_table *t, const struct dlg_info *d);

/* Every confirmed dialog, through fn (the state file's snapshot). */
typedef void (*dlg_each_fn)(void *arg, const struct dlg_info *d);
void dlg_each(const struct dlg_table *t, dlg_each_fn fn, void *arg);

void dlg_get_stats(const struct dlg_table *t, struct dlg_stats *st);

/* The bucket call_id falls in (for the tests of the keyed hash). */
unsigned dlg_bucket_of(const struct dlg_table *t, const char *call_id);

#endif
