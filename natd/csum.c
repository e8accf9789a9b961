/* csum: Internet checksum and its RFC 1624 incremental update.
 *
 * The sum is taken over 16-bit words as they sit in memory; since the
 * one's-complement sum commutes with byte swapping, results are already in
 * network order when stored back. Incremental updates use RFC 1624 eqn. 3,
 * HC' = ~(~HC + ~m + m'), which never produces the -0 ambiguity of eqn. 2.
 */
#include "csum.h"

#include <string.h>

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	while (len >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		acc += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high-order byte of a word padded with zero
		 * in network order, i.e. the first byte in memory. */
		uint16_t w = 0;
		memcpy(&w, p, 1);
		acc += w;
	}
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t csum_update16(uint16_t check, uint16_t old_w, uint16_t new_w)
{
	uint32_t sum = (uint16_t)~check;
	sum += (uint16_t)~old_w;
	sum += new_w;
	return csum_fold(sum);
}

uint16_t csum_update32(uint16_t check, uint32_t old_w, uint32_t new_w)
{
	uint32_t sum = (uint16_t)~check;
	sum += (uint16_t)~(old_w & 0xffff);
	sum += (uint16_t)~(old_w >> 16);
	sum += new_w & 0xffff;
	sum += new_w >> 16;
	return csum_fold(sum);
}

uint16_t csum_update16_udp(uint16_t check, uint16_t old_w, uint16_t new_w)
{
	if (check == 0)
		return 0;
	check = csum_update16(check, old_w, new_w);
	return check ? check : 0xffff;
}

uint16_t csum_update32_udp(uint16_t check, uint32_t old_w, uint32_t new_w)
{
	if (check == 0)
		return 0;
	check = csum_update32(check, old_w, new_w);
	return check ? check : 0xffff;
}

uint16_t csum_ip4_header(const void *hdr, size_t hlen)
{
	return csum_fold(csum_partial(hdr, hlen, 0));
}

uint16_t csum_l4_ip4(uint32_t saddr, uint32_t daddr, uint8_t proto, const void *l4, size_t l4len)
{
	uint8_t ph[12];

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	return csum_fold(csum_partial(l4, l4len, csum_partial(ph, sizeof(ph), 0)));
}
