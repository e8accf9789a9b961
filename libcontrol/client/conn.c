/* conn: what the blocking and the asynchronous client share (see conn.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <libcontrol/auth.h>
#include <libcontrol/client.h>

#include "conn.h"

static int sock_connect(const struct sockaddr *sa, socklen_t salen, int *fdp)
{
	int fd, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sa->sa_family != AF_UNIX) {
		int one = 1;

		/* Small messages, each answered: never wait for Nagle. */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
			err = -errno;
			goto fail;
		}
	}
	if (connect(fd, sa, salen) == 0) {
		*fdp = fd;
		return 0;
	}
	err = -errno;
	if (err == -EINPROGRESS && sa->sa_family != AF_UNIX) {
		*fdp = fd;
		return 1;
	}
	/* A Unix socket connects at once or not at all (EAGAIN: its backlog
	 * is full). */
fail:
	close(fd);
	return err;
}

int nc_sock_unix(const char *path, int *fdp)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n;

	if (!path)
		path = NC_CTL_SOCKET;
	n = strlen(path);
	if (n == 0)
		return NC_E_INVAL;
	if (n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, n);
	return sock_connect((const struct sockaddr *)&sun,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1), fdp);
}

int nc_sock_addr(const struct sockaddr *sa, socklen_t salen, int *fdp)
{
	return sock_connect(sa, salen, fdp);
}

int nc_hs_init(struct nc_hs *hs, bool tcp, const void *secret, size_t slen)
{
	memset(hs, 0, sizeof(*hs));
	hs->tcp = tcp;
	if (!secret || slen == 0)
		return 0;
	if (slen > NC_SECRET_MAX)
		return NC_E_INVAL;
	memcpy(hs->secret, secret, slen);
	hs->slen = slen;
	return 0;
}

void nc_hs_wipe(struct nc_hs *hs)
{
	explicit_bzero(hs->secret, sizeof(hs->secret));
	hs->slen = 0;
}

int nc_status_errno(uint16_t code)
{
	switch (code) {
	case NC_ST_NOT_AUTHORIZED:
		return -EACCES;
	case NC_ST_TRY_AGAIN:
		return -EAGAIN;
	default:
		return -EPROTO;
	}
}

int nc_hs_hello_r(struct nc_hs *hs, const struct nc_hello_r *r, struct nc_auth *auth)
{
	int err;

	if (r->st.code != NC_ST_OK)
		return nc_status_errno(r->st.code);
	if (!r->has_nonce)
		/* Holding a secret means we want natd to prove it knows it
		 * too: a server that does not ask cannot prove anything. */
		return hs->slen ? -EACCES : 0;
	if (!hs->slen)
		return -EACCES;
	memcpy(hs->ns, r->nonce, NC_NONCE_LEN);
	if ((err = nc_auth_nonce(hs->cn)) < 0)
		return err;
	memcpy(auth->nonce, hs->cn, NC_NONCE_LEN);
	if ((err = nc_auth_mac(hs->secret, hs->slen, NC_AUTH_CLIENT, hs->ns, hs->cn, auth->mac)) < 0)
		return err;
	return 1;
}

int nc_hs_auth_r(const struct nc_hs *hs, const struct nc_auth_r *r)
{
	if (r->st.code != NC_ST_OK)
		return nc_status_errno(r->st.code);
	if (!nc_auth_check(hs->secret, hs->slen, NC_AUTH_SERVER, hs->ns, hs->cn, r->mac))
		return -EACCES;
	return 0;
}

const struct nc_status *nc_reply_status(const struct nc_msg *m)
{
	/* Every reply struct starts with its struct nc_status (msg.h). */
	return (const struct nc_status *)(const void *)&m->u;
}

size_t nc_reply_size(uint16_t req_type)
{
	switch (req_type) {
	case NC_MSG_HELLO:
		return sizeof(struct nc_hello_r);
	case NC_MSG_AUTH:
		return sizeof(struct nc_auth_r);
	case NC_MSG_CAPS:
		return sizeof(struct nc_caps_r);
	case NC_MSG_BIND:
		return sizeof(struct nc_bind_r);
	case NC_MSG_REFRESH:
		return sizeof(struct nc_refresh_r);
	case NC_MSG_RELEASE:
	case NC_MSG_WATCH:
		return sizeof(struct nc_status);
	case NC_MSG_LIST:
		return sizeof(struct nc_list_r);
	case NC_MSG_STATS:
	case NC_MSG_HA:
		return sizeof(struct nc_stats_r);
	default:
		return 0;
	}
}

enum nc_match_kind nc_match_reply(uint16_t req_type, uint16_t msg_type)
{
	if (msg_type == (req_type | NC_MSG_REPLY))
		return NC_MK_REPLY;
	if (msg_type == NC_MSG_ERROR)
		return NC_MK_ERROR;
	if ((req_type == NC_MSG_LIST || req_type == NC_MSG_WATCH) &&
	    msg_type == (req_type | NC_MSG_PART))
		return NC_MK_PART;
	return NC_MK_WRONG;
}

void nc_reply_copy(void *rep, size_t size, const struct nc_msg *m)
{
	if (m->type == NC_MSG_ERROR) {
		memset(rep, 0, size);
		memcpy(rep, &m->u.status, sizeof(struct nc_status));
	} else {
		memcpy(rep, &m->u, size);
	}
}
