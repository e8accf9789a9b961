/* framer: SIP message boundaries in a byte stream (framer.h).
 *
 * Theory of operation. Between messages, CRLFs are keep-alive traffic
 * (RFC 5626 §3.5.1: a double CRLF is a ping, answered with one CRLF; a
 * lone one is the pong or noise, skipped). A message is its header block,
 * found by searching CRLFCRLF from where the last search stopped, plus the
 * body whose size is the Content-Length (or compact "l") header, which a
 * stream transport requires (RFC 3261 §18.3, §20.14). Nothing else of the
 * message is looked at: the parser (sip/) checks the rest. The state is two
 * sizes relative to the message start, so the caller may move its buffer
 * between calls.
 */
#include "framer.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define CL_BAD (-1)
#define CL_HUGE (-2)

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Content-Length of the header block h[0..len) (ending with CRLFCRLF):
 * the value, CL_BAD if missing, malformed or repeated with another value,
 * CL_HUGE if over max. The start line is skipped; continuation lines are
 * not header names. */
static long content_length(const char *h, size_t len, size_t max)
{
	const char *end = h + len, *p = memchr(h, '\n', len);
	long val = CL_BAD;

	if (!p)
		return CL_BAD;
	for (p++; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *le, *q;

		if (!eol)
			break;
		le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == p)
			break; /* the blank line */
		if (!is_ws(*p)) {
			size_t nl;

			for (q = p; q < le && *q != ':' && !is_ws(*q); q++)
				;
			nl = (size_t)(q - p);
			if ((nl == 14 && strncasecmp(p, "content-length", 14) == 0) ||
			    (nl == 1 && (*p == 'l' || *p == 'L'))) {
				long v = 0;

				while (q < le && is_ws(*q))
					q++;
				if (q == le || *q != ':')
					return CL_BAD;
				for (q++; q < le && is_ws(*q); q++)
					;
				if (q == le || *q < '0' || *q > '9')
					return CL_BAD;
				for (; q < le && *q >= '0' && *q <= '9'; q++) {
					v = v * 10 + (*q - '0');
					if ((size_t)v > max)
						v = (long)max + 1; /* saturate; digits still checked */
				}
				while (q < le && is_ws(*q))
					q++;
				if (q != le)
					return CL_BAD;
				if ((size_t)v > max)
					return CL_HUGE;
				if (val >= 0 && val != v)
					return CL_BAD;
				val = v;
			}
		}
		p = eol + 1;
	}
	return val;
}

enum framer_ev framer_next(struct framer *f, const char *m, size_t avail, size_t max, size_t *used)
{
	*used = 0;
	/* keep-alives, only between messages */
	if (f->need == 0 && f->scan == 0 && avail >= 2 && m[0] == '\r' && m[1] == '\n') {
		if (avail >= 4 && m[2] == '\r' && m[3] == '\n') {
			*used = 4;
			return FRAMER_PING;
		}
		if (avail == 2 || (avail == 3 && m[2] == '\r'))
			return FRAMER_MORE; /* maybe half a ping: wait */
		*used = 2;
		return FRAMER_SKIP;
	}
	if (avail == 0 || (avail <= 3 && m[0] == '\r'))
		return FRAMER_MORE;
	if (f->need == 0) {
		const char *e = memmem(m + f->scan, avail - f->scan, "\r\n\r\n", 4);
		size_t hlen;
		long cl;

		if (!e) {
			if (avail >= max)
				return FRAMER_HUGE;
			f->scan = avail > 3 ? avail - 3 : 0;
			return FRAMER_MORE;
		}
		hlen = (size_t)(e - m) + 4;
		/* a header block past max is too big whatever it says (and says
		 * so however the stream was cut: a buffer capped at max sees
		 * only its first max bytes) */
		if (hlen > max)
			return FRAMER_HUGE;
		cl = content_length(m, hlen, max);
		if (cl == CL_BAD)
			return FRAMER_BAD;
		if (cl < 0 || hlen + (size_t)cl > max)
			return FRAMER_HUGE;
		f->need = hlen + (size_t)cl;
	}
	if (avail < f->need)
		return FRAMER_MORE;
	*used = f->need;
	f->need = 0;
	f->scan = 0;
	return FRAMER_MSG;
}
