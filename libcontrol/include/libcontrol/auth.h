/* libcontrol/auth.h: the HELLO/AUTH challenge-response of libcontrol/proto.h
 * section 6. Both sides hold a shared secret K; the server sends a random
 * nonce Ns, the client answers with its own Nc and a MAC, the server
 * answers with its MAC, each HMAC-SHA256(K, NC_AUTH_LABEL | role | Ns | Nc).
 * The library keeps no state: callers hold the nonces and the secret. */
#ifndef LIBCONTROL_AUTH_H
#define LIBCONTROL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcontrol/proto.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NC_AUTH_CLIENT 'C'
#define NC_AUTH_SERVER 'S'

/* Compute the MAC that role (NC_AUTH_CLIENT/SERVER) sends. 0, or NC_E_INVAL
 * for an unknown role, a NULL pointer or an empty secret. */
int nc_auth_mac(const void *secret, size_t slen, char role, const uint8_t ns[NC_NONCE_LEN],
		const uint8_t nc[NC_NONCE_LEN], uint8_t mac[NC_MAC_LEN]);

/* Whether mac is the one role must send (constant-time comparison). */
bool nc_auth_check(const void *secret, size_t slen, char role, const uint8_t ns[NC_NONCE_LEN],
		   const uint8_t nc[NC_NONCE_LEN], const uint8_t mac[NC_MAC_LEN]);

/* Fill a nonce from the kernel's CSPRNG (getrandom). 0 or -errno. */
int nc_auth_nonce(uint8_t nonce[NC_NONCE_LEN]);

#ifdef __cplusplus
}
#endif

#endif
