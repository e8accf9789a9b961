/* sp_metrics: sipproxy's counters as Prometheus metrics (see sp_metrics.h).
 *
 * Each module keeps its own counters (proxy, txn, transport, media,
 * registrar, auth, dialog); this file only reads them (proxy_get_parts())
 * and names them. Plain counters are rows of one table (which module's
 * stats struct, name, help, offset in it), written last; the gauges and
 * the families with a label (responses by class, messages by transport
 * and direction, natd up, the BIND histogram) are written by hand.
 */
#include "sp_metrics.h"

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dialog.h"
#include "media.h"
#include "metrics.h"
#include "proxy.h"
#include "registrar.h"
#include "sp_ha.h"
#include "transport.h"
#include "txn.h"

#define P "natedge_sipproxy_"

/* Where a counter lives: one of the modules' stats structs. */
enum src { S_PROXY, S_TXN, S_TP, S_MEDIA, S_AUTH, S_DLG, S__N };

struct row {
	enum src src;
	const char *name, *help;
	size_t off;
};

#define R(s, field, name, help) {SRC_##s, P name "_total", help, offsetof(struct s, field)}
#define SRC_proxy_stats S_PROXY
#define SRC_txn_stats S_TXN
#define SRC_tp_stats S_TP
#define SRC_media_stats S_MEDIA
#define SRC_auth_stats S_AUTH
#define SRC_dlg_stats S_DLG
static const struct row counters[] = {
	R(proxy_stats, requests, "requests", "SIP requests received."),
	R(proxy_stats, parse_errors, "parse_errors", "SIP messages that did not parse or failed checks."),
	R(proxy_stats, replied_4xx5xx, "replied_errors", "Requests sipproxy answered itself with 4xx/5xx."),
	R(proxy_stats, forwarded_requests, "forwarded_requests", "Requests forwarded."),
	R(proxy_stats, forwarded_responses, "forwarded_responses", "Responses forwarded."),
	R(proxy_stats, stray_responses, "stray_responses", "Responses matching no transaction."),
	R(proxy_stats, registers, "registers", "REGISTER requests handled."),
	R(proxy_stats, cancels, "cancels", "CANCEL requests handled."),
	R(proxy_stats, acks_absorbed, "acks_absorbed", "ACKs absorbed by the proxy."),
	R(proxy_stats, loops, "loops", "Requests refused as loops (482)."),
	R(proxy_stats, too_many_hops, "too_many_hops", "Requests refused for Max-Forwards (483)."),
	R(proxy_stats, no_route, "no_route", "Requests with no route (404)."),
	R(proxy_stats, media_rejects, "media_rejects", "Requests or responses refused over their media."),
	R(proxy_stats, rate_limited, "rate_limited", "Messages refused by a rate limit."),
	R(proxy_stats, absorbed_2xx, "absorbed_2xx", "Retransmitted 2xx whose first copy was refused."),
	R(proxy_stats, dialog_refused, "dialog_refused", "In-dialog requests not from a party (481)."),
	R(proxy_stats, stray_acks, "stray_acks", "ACKs matching no transaction nor dialog."),
	R(proxy_stats, relay_refused, "relay_refused", "Out-of-dialog requests refused by the relay policy (403)."),
	R(txn_stats, srv_created, "server_transactions", "Server transactions created."),
	R(txn_stats, cli_created, "client_transactions", "Client transactions created."),
	R(txn_stats, srv_retrans_absorbed, "retransmissions_absorbed", "Request retransmissions absorbed."),
	R(txn_stats, cli_retransmits, "retransmits", "Requests retransmitted (timers A/E)."),
	R(txn_stats, cli_timeouts, "transaction_timeouts", "Client transactions timed out."),
	R(txn_stats, full_refusals, "transactions_refused_full", "Requests refused: sip.max_transactions."),
	R(tp_stats, tcp_accepted, "tcp_accepted", "TCP connections accepted."),
	R(tp_stats, tcp_connected, "tcp_connected", "TCP connections made."),
	R(tp_stats, tcp_closed, "tcp_closed", "TCP connections closed."),
	R(tp_stats, tcp_refused, "tcp_refused", "TCP connections refused (limits)."),
	R(tp_stats, tcp_refused_per_source, "tcp_refused_per_source", "TCP and TLS connections refused: sip.tcp_max_per_source."),
	R(tp_stats, tcp_framing_errors, "tcp_framing_errors", "TCP streams closed for framing errors."),
	R(tp_stats, tcp_idle_closed, "tcp_idle_closed", "TCP connections closed idle."),
	R(tp_stats, tcp_overflow_closed, "tcp_overflow_closed", "TCP connections closed for output overflow."),
	R(tp_stats, tcp_connect_failed, "tcp_connect_failed", "Outbound TCP connects that failed."),
	R(tp_stats, send_errors, "send_errors", "Sends that failed."),
	R(tp_stats, oversize_dropped, "oversize_dropped", "Messages over sip.max_message dropped."),
	R(tp_stats, udp_tx_queue_full, "udp_tx_queue_full",
	  "UDP messages not sent: the sender thread's queue was full (also in send_errors)."),
	R(tp_stats, tls_handshakes, "tls_handshakes", "TLS handshakes completed."),
	R(tp_stats, tls_handshake_failed, "tls_handshake_failed", "TLS handshakes failed (errors, garbage, old versions)."),
	R(tp_stats, tls_handshake_timeout, "tls_handshake_timeout", "TLS handshakes not done within tls.handshake_timeout."),
	R(tp_stats, tls_peer_rejected, "tls_peer_rejected", "TLS peers refused for their certificate."),
	R(media_stats, binds_ok, "binds_ok", "Media bindings granted by natd."),
	R(media_stats, binds_failed, "binds_failed", "Media bindings natd refused or never answered."),
	R(media_stats, releases, "releases", "Media bindings released."),
	R(media_stats, refreshes, "refreshes", "Media bindings refreshed."),
	R(media_stats, rebinds, "rebinds", "Media bindings asked again after a natd restart."),
	R(media_stats, rewrites, "sdp_rewrites", "SDP bodies rewritten."),
	R(media_stats, passed_unchanged, "sdp_unchanged", "SDP bodies passed unchanged."),
	R(media_stats, refused_realm, "media_refused_realm", "SDP naming an address outside the sender's realm (488)."),
	R(media_stats, declined, "media_declined", "Media streams declined."),
	R(media_stats, refused_cap, "media_refused_cap", "Calls refused: media.max_bindings_per_user (403)."),
	R(media_stats, unacked, "calls_unacked", "Calls ended because their 2xx was never ACKed."),
	R(auth_stats, challenges, "auth_challenges", "Digest challenges sent."),
	R(auth_stats, ok, "auth_ok", "Digest credentials accepted."),
	R(auth_stats, failures, "auth_failures", "Digest credentials refused."),
	R(auth_stats, stale, "auth_stale", "Stale nonces."),
	R(auth_stats, lockouts, "auth_lockouts", "Users locked out after failures."),
	R(auth_stats, locked_refusals, "auth_locked_refusals", "Requests refused while locked out."),
	R(auth_stats, mismatches, "auth_mismatches", "Credentials not matching the request."),
	R(dlg_stats, made, "dialogs_made", "Dialogs established."),
	R(dlg_stats, ended, "dialogs_ended", "Dialogs ended by BYE."),
	R(dlg_stats, expired, "dialogs_expired", "Dialogs expired (media.max_call_duration)."),
	R(dlg_stats, refused_full, "dialogs_refused_full", "Dialogs refused: sip.max_calls."),
};
#undef R

void sp_metrics_write(void *arg, FILE *f)
{
	static const char *const classes[7] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};
	struct proxy_parts pp;
	struct proxy_stats ps;
	struct txn_stats ts;
	struct tp_stats tps;
	struct media_stats ms;
	struct auth_stats as;
	struct dlg_stats ds;

	proxy_get_parts(arg, &pp);
	proxy_get_stats(arg, &ps);
	txn_get_stats(pp.tl, &ts);
	tp_get_stats(pp.tp, &tps);
	media_get_stats(pp.media, &ms);
	auth_get_stats(pp.auth, &as);
	dlg_get_stats(pp.dlg, &ds);

	metrics_family(f, P "responses_total", METRICS_COUNTER, "SIP responses received, by class.");
	for (int i = 1; i < 7; i++)
		metrics_sample(f, P "responses_total", "class", classes[i], ps.response_class[i]);
	metrics_sample(f, P "responses_total", "class", classes[0], ps.response_class[0]);

	metrics_family(f, P "messages_total", METRICS_COUNTER, "SIP messages by transport and direction.");
	fprintf(f, P "messages_total{transport=\"udp\",direction=\"rx\"} %llu\n", (unsigned long long)tps.udp_rx);
	fprintf(f, P "messages_total{transport=\"udp\",direction=\"tx\"} %llu\n", (unsigned long long)tps.udp_tx);
	fprintf(f, P "messages_total{transport=\"tcp\",direction=\"rx\"} %llu\n", (unsigned long long)tps.tcp_rx);
	fprintf(f, P "messages_total{transport=\"tcp\",direction=\"tx\"} %llu\n", (unsigned long long)tps.tcp_tx);
	fprintf(f, P "messages_total{transport=\"tls\",direction=\"rx\"} %llu\n", (unsigned long long)tps.tls_rx);
	fprintf(f, P "messages_total{transport=\"tls\",direction=\"tx\"} %llu\n", (unsigned long long)tps.tls_tx);
	metrics_one(f, P "tcp_connections", METRICS_GAUGE, "TCP connections open now.", tps.tcp_open);
	metrics_one(f, P "tls_connections", METRICS_GAUGE, "TLS connections open now (also in tcp_connections).",
		    tps.tls_open);

	metrics_family(f, P "transactions", METRICS_GAUGE, "Transactions open now, by side.");
	metrics_sample(f, P "transactions", "side", "server", ts.srv_open);
	metrics_sample(f, P "transactions", "side", "client", ts.cli_open);

	metrics_one(f, P "calls", METRICS_GAUGE, "Calls with media held now.", ms.calls);
	metrics_one(f, P "media_bindings", METRICS_GAUGE, "natd bindings held for media now.", ms.bindings);
	metrics_one(f, P "natd_requests_pending", METRICS_GAUGE, "Media jobs waiting on natd now.",
		    ms.pending_jobs);
	metrics_family(f, P "natd_up", METRICS_GAUGE, "Whether the control connection to each natd is up.");
	for (unsigned i = 0; i < pp.conf->nnats; i++)
		metrics_sample(f, P "natd_up", "natd", pp.conf->nats[i].name, ms.natd_up[i]);
	metrics_hist_write(f, P "natd_bind_duration_seconds",
			   "Round trip of a BIND to natd, as sipproxy sees it.",
			   media_bind_latency(pp.media), 1e-3);

	metrics_one(f, P "registrations", METRICS_GAUGE, "Addresses of record registered now.",
		    registrar_count_aors(pp.reg));
	metrics_one(f, P "registered_contacts", METRICS_GAUGE, "Contacts registered now.",
		    registrar_count_contacts(pp.reg));
	metrics_one(f, P "auth_users", METRICS_GAUGE, "Users in auth.users_file.", as.users);

	metrics_family(f, P "dialogs", METRICS_GAUGE, "Dialogs held now, by state.");
	metrics_sample(f, P "dialogs", "state", "confirmed", ds.confirmed);
	metrics_sample(f, P "dialogs", "state", "early", ds.early);
	if (proxy_ha(arg))
		sp_ha_metrics_write(proxy_ha(arg), f);

	{
		const void *src[S__N] = {[S_PROXY] = &ps, [S_TXN] = &ts, [S_TP] = &tps,
					 [S_MEDIA] = &ms, [S_AUTH] = &as, [S_DLG] = &ds};
		for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			metrics_one(f, counters[i].name, METRICS_COUNTER, counters[i].help,
				    *(const uint64_t *)((const char *)src[counters[i].src] + counters[i].off));
	}
}
