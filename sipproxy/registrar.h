/* registrar: the registrar and location service (RFC 3261 §10).
 *
 * Bindings of an address-of-record (AoR, "user@domain" in lower case for
 * the domain part, as the caller canonicalises it) to contacts, each with
 * its expiry, q-value, Call-ID/CSeq (§10.3 step 7: an older CSeq for the
 * same Call-ID is refused), and the NAT-aware part: the transport address
 * the REGISTER really came from (source IP and port, TCP connection id),
 * which is where requests to that contact are sent (RFC 5626 style
 * "flow"), whatever the Contact's host says.
 *
 * registrar_register() carries out one REGISTER (§10.3 steps 6-8): Contact
 * "*" with Expires 0 removes all, expires per contact (param, else the
 * Expires header, else the default), 423 with Min-Expires below the
 * minimum, clamp to the maximum, several contacts per request, at most
 * max_contacts per AoR (beyond that the REGISTER is refused with 403
 * "Too many contacts", so nothing is silently dropped). On success it adds
 * every current Contact (with ;expires=) to the 200 OK it is given.
 *
 * Fixed limits, no unbounded growth: max_aors AoRs, max_contacts each.
 * Time is passed in (monotonic seconds) so tests control it.
 */
#ifndef SIPPROXY_REGISTRAR_H
#define SIPPROXY_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sip/sip_msg.h"

#include "transport.h"

#define REG_AOR_MAX 256
#define REG_URI_MAX 512
#define REG_CALLID_MAX 256

struct reg_contact {
	char uri[REG_URI_MAX];        /* the Contact URI as sent (no <>, no header params) */
	struct tp_addr src;           /* where the REGISTER came from: send here */
	int64_t expires;              /* absolute, in the caller's clock (seconds) */
	unsigned q;                   /* q-value x1000 (0..1000), 1000 when absent */
	char call_id[REG_CALLID_MAX];
	uint32_t cseq;
};

struct reg_limits {
	uint32_t min_expires, max_expires, default_expires;
	unsigned max_contacts, max_aors;
};

struct registrar;

struct registrar *registrar_new(const struct reg_limits *lim);
void registrar_free(struct registrar *r);

/* Carry out REGISTER req for aor, received from src, at time now. resp is
 * the response being built (already a copy of req's Via/From/To/Call-ID/
 * CSeq, status not yet chosen): on 200 the current contacts are added to
 * it as Contact headers; on 423 a Min-Expires header. Returns the status
 * (200, 400, 403, 423, 500) and sets *reason to a static phrase when not
 * 200 (NULL otherwise). */
int registrar_register(struct registrar *r, const char *aor, const sip_msg_t *req,
		       const struct tp_addr *src, int64_t now, sip_msg_t *resp,
		       const char **reason);

/* Live contacts of aor at now, best q first (ties: most recent first),
 * at most max copied into out. Returns how many were copied (0: unknown
 * or no live contact). */
unsigned registrar_lookup(struct registrar *r, const char *aor, int64_t now,
			  struct reg_contact *out, unsigned max);

/* Drop every expired contact (and AoRs left empty). Returns how many
 * contacts went. Call it from a timer. */
unsigned registrar_expire(struct registrar *r, int64_t now);

/* Walk every live contact (for the status view and the state file), each
 * AoR's in the order they were registered or last refreshed (oldest
 * first), so that restoring them in this order keeps the ties of
 * registrar_lookup(). */
typedef void (*registrar_each_fn)(void *arg, const char *aor, const struct reg_contact *c);
void registrar_each(struct registrar *r, int64_t now, registrar_each_fn fn, void *arg);

/* The same for one AoR only; returns how many contacts fn got. */
unsigned registrar_each_of(struct registrar *r, const char *aor, int64_t now,
			   registrar_each_fn fn, void *arg);

/* Insert a contact as is (restoring saved state after a restart).
 * 0, -ENOSPC at a limit, -EINVAL. */
int registrar_restore(struct registrar *r, const char *aor, const struct reg_contact *c);

/* Forget every contact of aor (restoring saved state). Returns how many
 * went. */
unsigned registrar_remove_aor(struct registrar *r, const char *aor);

/* Called after a REGISTER changed the contacts of aor (added, refreshed,
 * removed; not for a query, nor for registrar_expire() or a restore), with
 * the now it was given: the state file records the AoR's contacts again. */
typedef void (*registrar_hook_fn)(void *arg, const char *aor, int64_t now);
void registrar_set_hook(struct registrar *r, registrar_hook_fn fn, void *arg);

unsigned registrar_count_aors(const struct registrar *r);
unsigned registrar_count_contacts(const struct registrar *r);

#endif
