/* auth: SIP digest authentication of the proxy's users (RFC 3261 section
 * 22, RFC 7616, RFC 8760): who is challenged, the users file, server
 * nonces, verification, and the brute-force lockout. See auth.c.
 */
#ifndef SIPPROXY_AUTH_H
#define SIPPROXY_AUTH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "digest.h"
#include "sip/sip_msg.h"
#include "sp_conf.h"

#define AUTH_USER_MAX 192   /* "user@domain" and its NUL */
#define AUTH_NAME_MAX 64    /* a user name in the users file, NUL included */

struct auth;

/* What to do with a request (auth_request()). */
struct auth_verdict {
	int status;          /* 0: go on; 401 or 407: challenge; 403: refuse */
	const char *reason;  /* the reason phrase for a non-zero status */
	bool stale;          /* challenge with stale=true (the nonce, not the password, was wrong) */
	char user[AUTH_USER_MAX]; /* status 0: the authenticated "user@domain", or "" when the
				     request is not one that is authenticated */
};

struct auth_stats {
	uint64_t challenges, ok, failures, stale, lockouts, locked_refusals, mismatches;
	unsigned users;
};

/* A new authenticator for conf (read at each request, so a reload that
 * rewrites conf in place takes effect), its users file loaded. NULL if
 * the users file is refused (logged) or out of memory. */
struct auth *auth_new(const struct sp_conf *conf);
void auth_free(struct auth *a);

/* Load fresh's users file and realm in place of the running ones (SIGHUP).
 * 0, or -1 (logged) and the running table stays. */
int auth_reload(struct auth *a, const struct sp_conf *fresh);

/* Decide for an out-of-transaction request from src (not ACK or CANCEL):
 * REGISTER always, and out-of-dialog requests whose From is a user of our
 * domains, must carry valid credentials for our realm; the user must
 * match the To (REGISTER) or From AoR. When they do, our realm's
 * credentials are removed from req (they are not forwarded). now_ms is
 * monotonic (clock_mono_ms()). */
void auth_request(struct auth *a, sip_msg_t *req, const struct sockaddr_in *src,
		  uint64_t now_ms, struct auth_verdict *v);

/* Add the challenge headers to resp, a 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate): SHA-256 first, then MD5, one fresh nonce, bound to
 * src's address. 0 or -ENOMEM. */
int auth_challenge(struct auth *a, sip_msg_t *resp, const struct sockaddr_in *src,
		   bool stale, uint64_t now_ms);

/* The To tag of the stateless 401/407/403 answering req: derived from its
 * Call-ID, From tag and CSeq number under the process key, so the ACK
 * for it is recognised without any state. tag: AUTH_TAG_LEN + 1 bytes.
 * 0, or -EINVAL (a header missing). */
#define AUTH_TAG_LEN 20
int auth_tag(const struct auth *a, const sip_msg_t *req, char *tag);

/* Whether ack acknowledges one of those answers (it is then absorbed). */
bool auth_ack_is_ours(const struct auth *a, const sip_msg_t *ack);

void auth_get_stats(const struct auth *a, struct auth_stats *st);

/* ---- the users file ---- */

/* One line of a users file for user in realm with password:
 * "user:realm:MD5-HA1:SHA-256-HA1". 0, or -EINVAL (a user or realm a line
 * cannot hold) or -ENOSPC. */
int auth_users_line(const char *user, const char *realm, const char *password, char *out,
		    size_t outlen);

/* Read path's users of realm into a fresh table (tests and auth_reload):
 * refused unless a regular file, not a link, mode 0600 or stricter (no
 * group or other bits), owned by the effective user, or (when that is
 * root) by owner_ok. Problems go to errs as "path:line: problem". The
 * number of users loaded, or a negative errno. */
struct auth_users;
int auth_users_load(const char *path, const char *realm, uid_t owner_ok, FILE *errs,
		    struct auth_users **out);
void auth_users_free(struct auth_users *u);
/* The HA1 of user for alg, or NULL. */
const char *auth_users_ha1(const struct auth_users *u, const char *user, enum digest_alg alg);

#endif
