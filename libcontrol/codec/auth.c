/* auth: MACs of the HELLO/AUTH challenge-response (libcontrol/proto.h section
 * 6) and nonces to feed it. The MAC input is fixed-size, so it is built in
 * one buffer: label (15 bytes, no NUL) | role (1) | Ns (32) | Nc (32). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "sha256.h"

#include <libcontrol/auth.h>
#include <libcontrol/msg.h>

#define LABEL_LEN (sizeof(NC_AUTH_LABEL) - 1)

int nc_auth_mac(const void *secret, size_t slen, char role, const uint8_t ns[NC_NONCE_LEN],
		const uint8_t nc[NC_NONCE_LEN], uint8_t mac[NC_MAC_LEN])
{
	uint8_t in[LABEL_LEN + 1 + 2 * NC_NONCE_LEN];

	if (!secret || !slen || !ns || !nc || !mac ||
	    (role != NC_AUTH_CLIENT && role != NC_AUTH_SERVER))
		return NC_E_INVAL;
	memcpy(in, NC_AUTH_LABEL, LABEL_LEN);
	in[LABEL_LEN] = (uint8_t)role;
	memcpy(in + LABEL_LEN + 1, ns, NC_NONCE_LEN);
	memcpy(in + LABEL_LEN + 1 + NC_NONCE_LEN, nc, NC_NONCE_LEN);
	sha256_hmac(secret, slen, in, sizeof(in), mac);
	return 0;
}

bool nc_auth_check(const void *secret, size_t slen, char role, const uint8_t ns[NC_NONCE_LEN],
		   const uint8_t nc[NC_NONCE_LEN], const uint8_t mac[NC_MAC_LEN])
{
	uint8_t want[NC_MAC_LEN], diff = 0;
	size_t i;

	if (!mac || nc_auth_mac(secret, slen, role, ns, nc, want) < 0)
		return false;
	for (i = 0; i < NC_MAC_LEN; i++)
		diff |= (uint8_t)(want[i] ^ mac[i]);
	explicit_bzero(want, sizeof(want));
	return diff == 0;
}

int nc_auth_nonce(uint8_t nonce[NC_NONCE_LEN])
{
	size_t got = 0;

	if (!nonce)
		return NC_E_INVAL;
	while (got < NC_NONCE_LEN) {
		ssize_t n = getrandom(nonce + got, NC_NONCE_LEN - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}
