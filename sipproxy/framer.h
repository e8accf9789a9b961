/* framer: SIP over a byte stream (TCP and TLS alike, RFC 3261 §18.3), cut
 * into whole messages. One copy for every stream transport: transport.c
 * runs it on what recv() (TCP) or SSL_read() (TLS) put in a connection's
 * flat input buffer, and the fuzzers run it on arbitrary splits of a
 * stream.
 *
 * Pure: no I/O, no allocation. The caller keeps a struct framer per
 * stream and calls framer_next() on the bytes that start where the last
 * message ended, acting on each answer until FRAMER_MORE:
 *   FRAMER_MSG   buf[0..*used) is one whole message: deliver, drop *used;
 *   FRAMER_SKIP  *used CR/LF bytes between messages: drop them;
 *   FRAMER_PING  an RFC 5626 §3.5.1 ping (CRLFCRLF): drop *used (4) and
 *                answer "\r\n" (the pong);
 *   FRAMER_MORE  wait for more bytes (the state remembers how far the
 *                header block was searched, so a message dribbled in a byte
 *                at a time costs linear time);
 *   FRAMER_BAD   cannot be framed (no or malformed Content-Length, two
 *                different ones): close the stream;
 *   FRAMER_HUGE  the header block or the message exceeds max: close.
 * A partial ping ("\r\n" or "\r\n\r" at the end of the bytes) waits.
 */
#ifndef SIPPROXY_FRAMER_H
#define SIPPROXY_FRAMER_H

#include <stddef.h>

struct framer {
	size_t scan; /* bytes of the header block searched without a blank line */
	size_t need; /* whole message size once its headers parsed, else 0 */
};

enum framer_ev { FRAMER_MORE, FRAMER_MSG, FRAMER_SKIP, FRAMER_PING, FRAMER_BAD, FRAMER_HUGE };

/* What starts at buf[0..len) (the bytes after the last message); see above. */
enum framer_ev framer_next(struct framer *f, const char *buf, size_t len, size_t max, size_t *used);

#endif
