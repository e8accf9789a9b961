/* fmt: natctl's output, as text for people or as JSON for scripts.
 *
 * Addresses print in the syntax natctl's options accept (IP:PORT,
 * [IPv6]:PORT, IP/LEN:LO-HI), so a value can be pasted back. JSON is
 * written directly (no library): strings are escaped, epochs are strings
 * of decimal digits (a u64 does not survive a double), and an optional
 * field is left out when absent.
 */
#ifndef NC_FMT_H
#define NC_FMT_H

#include <stdbool.h>
#include <stdio.h>

#include <libcontrol/msg.h>

#define FMT_EP_LEN 64    /* "[v6]:port" */
#define FMT_MATCH_LEN 80 /* "[v6/len]:lo-hi" */

void fmt_ep(char *buf, size_t n, const struct nc_ep *ep);
void fmt_match(char *buf, size_t n, const struct nc_match *m);
const char *fmt_dir(uint8_t dir);
const char *fmt_proto(uint8_t proto);
const char *fmt_kind(uint8_t kind);
const char *fmt_event(uint8_t event);

/* s as a JSON string, quotes included. */
void fmt_json_str(FILE *f, const char *s);

/* A refusal (or any status): text "STATUS: reason" or a JSON object. */
void fmt_status(FILE *f, const struct nc_status *st, bool json);

void fmt_bind_r(FILE *f, const struct nc_bind_r *r, bool json);
void fmt_refresh_r(FILE *f, uint32_t id, const struct nc_refresh_r *r, bool json);
void fmt_release_r(FILE *f, uint32_t id, const struct nc_status *r, bool json);

/* list: the table's header line (text only), then one line per item. */
void fmt_list_head(FILE *f);
void fmt_item(FILE *f, const struct nc_item *it, bool json);
/* watch: one line per event. */
void fmt_event_line(FILE *f, const struct nc_event *ev, bool json);

void fmt_stats(FILE *f, const struct nc_stats_r *r, bool json);
void fmt_caps(FILE *f, const struct nc_caps_r *r, const char *server, bool json);

#endif
