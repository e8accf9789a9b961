/* fuzz_ctl_decode: libcontrol's control-protocol codec (wire.c, msg.c).
 *
 * Input: bytes as they arrive on a control connection. They are cut into
 * messages with nc_frame() the way natd's server and the clients do (a
 * framing error ends the stream), and each message goes through
 * nc_header() and nc_decode(); the whole input is also given to
 * nc_decode() as one message.
 *
 * Beyond the sanitizers it checks the codec's documented promises: a
 * message that decodes re-encodes with nc_encode_msg(); without unknown
 * TLVs the re-encoding is byte for byte the input (encode(decode(bytes))
 * == bytes); with them, the re-encoding decodes to the same message and
 * re-encodes to itself. nc_frame() never claims more bytes than it was
 * given, and every error has a description and a status.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/msg.h>
#include <libcontrol/proto.h>

#include "fuzz_common.h"

#define OUT_CAP (70 * 1024) /* more than the 64 KiB length limit */

static struct nc_msg m1, m2;
static uint8_t out1[OUT_CAP], out2[OUT_CAP];

static void check_err(int err)
{
	FUZZ_CHECK(nc_strerror(err) != NULL, "nc_strerror(%d) is NULL", err);
	(void)nc_err_status(err);
}

static void one_message(const uint8_t *msg, size_t len)
{
	/* an exact-size copy: a read past the message is caught */
	uint8_t *p = malloc(len ? len : 1);
	struct nc_hdr h;
	int rc, n1, n2;

	if (!p)
		return;
	memcpy(p, msg, len);
	rc = nc_header(p, len, &h);
	if (rc != 0)
		check_err(rc);
	rc = nc_decode(p, len, &m1);
	if (rc != 0) {
		check_err(rc);
		free(p);
		return;
	}
	(void)nc_msg_name(m1.type);
	(void)nc_msg_is_request(m1.type);
	n1 = nc_encode_msg(out1, sizeof(out1), &m1);
	FUZZ_CHECK(n1 > 0, "a decoded message (type 0x%04x) does not re-encode: %s", m1.type,
		   nc_strerror(n1));
	if (m1.skipped == 0) {
		FUZZ_CHECK((size_t)n1 == len && !memcmp(out1, p, len),
			   "encode(decode(bytes)) != bytes (type 0x%04x, %zu -> %d bytes)", m1.type,
			   len, n1);
	} else {
		rc = nc_decode(out1, (size_t)n1, &m2);
		FUZZ_CHECK(rc == 0, "a re-encoded message does not decode: %s", nc_strerror(rc));
		FUZZ_CHECK(m2.skipped == 0, "a re-encoded message still has unknown TLVs");
		m2.skipped = m1.skipped;
		FUZZ_CHECK(!memcmp(&m1, &m2, sizeof(m1)),
			   "a message changed through encode(decode()) (type 0x%04x)", m1.type);
		n2 = nc_encode_msg(out2, sizeof(out2), &m2);
		FUZZ_CHECK(n2 == n1 && !memcmp(out1, out2, (size_t)n1),
			   "re-encoding is not stable (type 0x%04x)", m1.type);
	}
	/* a cut message never decodes */
	if (len > 0)
		FUZZ_CHECK(nc_decode(p, len - 1, &m2) != 0, "a message cut by one byte decodes");
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	fuzz_rand_reset();
	/* as a stream */
	while (off < size) {
		int n = nc_frame(data + off, size - off);

		if (n <= 0) {
			if (n < 0)
				check_err(n);
			break;
		}
		FUZZ_CHECK((size_t)n <= size - off, "nc_frame claims %d of %zu bytes", n, size - off);
		FUZZ_CHECK(n >= NC_HDR_LEN, "nc_frame: %d-byte message", n);
		one_message(data + off, (size_t)n);
		off += (size_t)n;
	}
	/* the whole input as one message, unless that was the one just done */
	if (!(off == size && nc_frame(data, size) == (int)size))
		one_message(data, size);
	return 0;
}
