/* ctl_tls: TLS for the TCP control channel (theory of operation in ctl_tls.h). */
#include "ctl_tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endpoint.h"
#include "log.h"
#include "tlsctx.h"

/* Sources remembered for log rate limiting, and how long a line lasts. */
#define LOG_SLOTS 64
#define LOG_EVERY_MS 60000
/* A client's certificate chain: a few KiB is plenty; cap what a stranger
 * can make natd buffer during a handshake. */
#define MAX_CERT_LIST 32768

struct ctl_tls {
	SSL_CTX *ctx;
	bool require; /* control.tls_require_client_cert */
	char names[CTL_TLS_NAMES_MAX][CTL_TLS_NAME_LEN];
	unsigned nnames;
	char cert[256], key[256], ca[256];
	struct {
		uint32_t src;
		uint64_t at_ms;
		unsigned suppressed;
	} log[LOG_SLOTS];
};

/* control.tls_client_names: certificate names (DNS SAN, or the CN of a
 * certificate without DNS SANs). */
static bool name_one(struct conftab *ct, const config_setting_t *e, const char *v, void *arg)
{
	const struct conftab_item *it = ((void **)arg)[0];
	char *base = ((void **)arg)[1];
	char (*names)[CTL_TLS_NAME_LEN] = (void *)(base + it->off);
	unsigned *n = (unsigned *)(void *)(base + it->off2);

	if (*n >= CTL_TLS_NAMES_MAX) {
		conftab_err(ct, e, NULL, "more than %d names", CTL_TLS_NAMES_MAX);
		return false;
	}
	if (!*v || strlen(v) >= CTL_TLS_NAME_LEN || strpbrk(v, " \t/\\")) {
		conftab_err(ct, e, NULL, "\"%s\" is not a certificate name (1 to %d bytes, no blanks)", v,
			    CTL_TLS_NAME_LEN - 1);
		return true;
	}
	for (unsigned i = 0; i < *n; i++)
		if (!strcmp(names[i], v)) {
			conftab_err(ct, e, NULL, "\"%s\" is listed twice", v);
			return true;
		}
	memcpy(names[(*n)++], v, strlen(v) + 1);
	return true;
}

static void names_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		       char *base)
{
	void *arg[2] = {(void *)it, base};

	conftab_each_str(ct, s, "\"natctl.example.net\"", name_one, arg);
}

const struct conftab_type ctl_tls_names_type = {NULL, names_load};

static bool loopback(const char *listen)
{
	struct endpoint ep;

	return ep_parse(listen, &ep) == 0 && (ntohl(ep.addr) >> 24) == 127;
}

bool ctl_tls_plain_loopback(const struct natd_conf *c)
{
	return c->ctl_tcp_listen[0] && !c->ctl_tls_cert[0] && loopback(c->ctl_tcp_listen);
}

static const config_setting_t *at(const config_t *cfg, const char *path)
{
	const config_setting_t *s = config_lookup(cfg, path);

	return s ? s : config_root_setting(cfg);
}

static struct tlsctx_conf tlsconf_of(const struct natd_conf *c)
{
	return (struct tlsctx_conf){
		.cert = c->ctl_tls_cert,
		.key = c->ctl_tls_key,
		.ca = c->ctl_tls_ca[0] ? c->ctl_tls_ca : NULL,
		.verify_peer = c->ctl_tls_ca[0] != 0,
		.require_peer_cert = c->ctl_tls_require_cert,
	};
}

void ctl_tls_conf_check(struct conftab *ct, const config_t *cfg, const struct natd_conf *c)
{
	struct tlsctx_conf tc = tlsconf_of(c);
	char err[512];
	SSL_CTX *ctx;
	int nerr = ct->nerr, r;

	if (!c->ctl_tls_cert[0]) {
		if (c->ctl_tls_key[0] || c->ctl_tls_ca[0] || c->nctl_tls_names)
			conftab_err(ct, at(cfg, "control.tls_cert"), "control.tls_cert",
				    "missing: control.tls_key, tls_ca and tls_client_names need it");
		else if (c->ctl_tcp_listen[0] && !loopback(c->ctl_tcp_listen) && !c->ctl_insecure_plain_tcp)
			conftab_err(ct, at(cfg, "control.tcp_listen"), "control.tcp_listen",
				    "\"%s\" is not a loopback address: the control channel would cross the "
				    "network in clear; set control.tls_cert, tls_key and tls_ca (or "
				    "control.insecure_plain_tcp = true)",
				    c->ctl_tcp_listen);
		return;
	}
	if (!c->ctl_tcp_listen[0])
		conftab_err(ct, at(cfg, "control.tls_cert"), "control.tls_cert",
			    "set, but control.tcp_listen is not (TLS is for the TCP listener)");
	if (!c->ctl_tls_key[0])
		conftab_err(ct, at(cfg, "control.tls_key"), "control.tls_key",
			    "missing: the private key of control.tls_cert");
	if (c->ctl_tls_require_cert && !c->ctl_tls_ca[0])
		conftab_err(ct, at(cfg, "control.tls_ca"), "control.tls_ca",
			    "missing: the CAs that sign client certificates (or "
			    "control.tls_require_client_cert = false)");
	if (c->nctl_tls_names && !c->ctl_tls_require_cert)
		conftab_err(ct, at(cfg, "control.tls_client_names"), "control.tls_client_names",
			    "needs control.tls_require_client_cert = true");
	if (c->ctl_tls_key[0] && (r = tlsctx_key_private(c->ctl_tls_key, err, sizeof(err))) < 0) {
		if (r == -EACCES && geteuid() != 0)
			/* a reload, natd's privileges dropped: the running server
			 * keeps what it read at start (ctl_server_reload) */
			return;
		conftab_err(ct, at(cfg, "control.tls_key"), "control.tls_key", "%s", err);
	}
	if (ct->nerr != nerr)
		return;
	/* load them as natd will: a certificate that does not match its key,
	 * an unreadable CA bundle... are caught by natd -n */
	if (!(ctx = tlsctx_server(&tc, err, sizeof(err))))
		conftab_err(ct, at(cfg, "control.tls_cert"), "control.tls_cert", "%s", err);
	SSL_CTX_free(ctx);
}

int ctl_tls_new(const struct natd_conf *c, struct ctl_tls **out)
{
	struct tlsctx_conf tc = tlsconf_of(c);
	struct ctl_tls *t;
	char err[512];

	*out = NULL;
	if (!c->ctl_tls_cert[0])
		return 0;
	if (!(t = calloc(1, sizeof(*t)))) {
		log_err("control.tls_cert: %s", strerror(ENOMEM));
		return -1;
	}
	if (tlsctx_key_private(c->ctl_tls_key, err, sizeof(err)) < 0 ||
	    !(t->ctx = tlsctx_server(&tc, err, sizeof(err)))) {
		log_err("%s: control.tls_cert: %s", c->path, err);
		free(t);
		return -1;
	}
	SSL_CTX_set_max_cert_list(t->ctx, MAX_CERT_LIST);
	t->require = c->ctl_tls_require_cert;
	memcpy(t->names, c->ctl_tls_names, sizeof(t->names));
	t->nnames = c->nctl_tls_names;
	snprintf(t->cert, sizeof(t->cert), "%s", c->ctl_tls_cert);
	snprintf(t->key, sizeof(t->key), "%s", c->ctl_tls_key);
	snprintf(t->ca, sizeof(t->ca), "%s", c->ctl_tls_ca);
	*out = t;
	return 0;
}

void ctl_tls_free(struct ctl_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx); /* sessions made from it keep it alive */
	free(t);
}

bool ctl_tls_same_files(const struct ctl_tls *t, const struct natd_conf *c)
{
	return t && !strcmp(t->cert, c->ctl_tls_cert) && !strcmp(t->key, c->ctl_tls_key) &&
	       !strcmp(t->ca, c->ctl_tls_ca);
}

SSL *ctl_tls_session(struct ctl_tls *t)
{
	SSL *s = SSL_new(t->ctx);

	/* the allowed names are checked inside the handshake, with the chain:
	 * a client refused gets an alert that says so, not a bare close */
	for (unsigned i = 0; s && i < t->nnames; i++)
		if ((i ? SSL_add1_host(s, t->names[i]) : SSL_set1_host(s, t->names[i])) != 1) {
			SSL_free(s);
			s = NULL;
		}
	return s;
}

int ctl_tls_peer_ok(const struct ctl_tls *t, SSL *s, char *err, size_t n)
{
	if (!t->require)
		return 0;
	if (!t->nnames)
		return tlsctx_peer_check(s, NULL, err, n) < 0 ? -1 : 0;
	for (unsigned i = 0; i < t->nnames; i++)
		if (tlsctx_peer_check(s, t->names[i], err, n) == 0)
			return 0;
	/* err holds the reason of the last name tried: say what was wanted */
	{
		char cn[128];
		snprintf(err, n, "certificate \"%s\" carries none of control.tls_client_names",
			 tlsctx_peer_cn(s, cn, sizeof(cn)));
	}
	return -1;
}

bool ctl_tls_log_ok(struct ctl_tls *t, uint32_t src, uint64_t now_ms, unsigned *suppressed)
{
	unsigned oldest = 0;

	*suppressed = 0;
	for (unsigned i = 0; i < LOG_SLOTS; i++) {
		if (t->log[i].at_ms && t->log[i].src == src) {
			if (now_ms - t->log[i].at_ms < LOG_EVERY_MS) {
				t->log[i].suppressed++;
				return false;
			}
			*suppressed = t->log[i].suppressed;
			t->log[i].suppressed = 0;
			t->log[i].at_ms = now_ms;
			return true;
		}
		if (t->log[i].at_ms < t->log[oldest].at_ms)
			oldest = i;
	}
	t->log[oldest].src = src;
	t->log[oldest].at_ms = now_ms ? now_ms : 1;
	t->log[oldest].suppressed = 0;
	return true;
}
