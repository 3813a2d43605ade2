#include "fwd_upstream.h"

#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "ms_log.h"
#include "ms_tls.h"
#include "ms_util.h"

/* How often the kernel's send queue is looked at while bytes are unacknowledged. */
#define UP_POLL_MS 20

enum up_state { UP_DOWN, UP_CONNECTING, UP_READY, UP_STOPPED };

struct fwd_upstream {
	struct event_base *base;
	const struct fwd_conf *conf;
	struct fwd_upstream_cbs cbs;
	void *arg;
	SSL_CTX *ctx;
	struct evdns_base *dns;
	struct bufferevent *bev;
	SSL *ssl;
	enum up_state state;
	struct event *retry_ev, *poll_ev;
	int64_t backoff_ms;
	uint64_t nsends, nacked;	/* this connection */
	int64_t unacked_since_ms;	/* mono ms of the last progress while bytes were unacknowledged */
	size_t last_left;		/* bytes still ours or unacknowledged at the last poll */
	char peer[300];
	uint64_t connects, failures;
};

static void up_connect(struct fwd_upstream *u);

static void
timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(ev, &tv);
}

/* The next delay: doubled per failure up to the cap, then 50–100 % of it (jitter). */
static int64_t
up_next_delay(struct fwd_upstream *u)
{
	uint32_t r = 0;
	int64_t d;

	u->backoff_ms = u->backoff_ms ? u->backoff_ms * 2 : u->conf->backoff_min_ms;
	if (u->backoff_ms > u->conf->backoff_max_ms)
		u->backoff_ms = u->conf->backoff_max_ms;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	d = u->backoff_ms / 2 + (int64_t)(r % (uint32_t)(u->backoff_ms / 2 + 1));
	return d < 1 ? 1 : d;
}

/* Bytes the kernel still holds for the peer (sent and not acknowledged, or not sent). */
static int
up_kernel_outq(struct fwd_upstream *u)
{
	int n = 0;

	if (ioctl(bufferevent_getfd(u->bev), SIOCOUTQ, &n) < 0)
		return -1;
	return n;
}

static void
up_drop(struct fwd_upstream *u, const char *reason, bool clean)
{
	bool was_ready = u->state == UP_READY;

	/* A receiver that closed in order after taking every byte has them. */
	if (clean && was_ready && u->nacked < u->nsends && u->bev &&
	    evbuffer_get_length(bufferevent_get_output(u->bev)) == 0 && up_kernel_outq(u) == 0) {
		u->nacked = u->nsends;
		u->cbs.acked(u->arg, u->nacked);
	}
	if (u->bev) {
		bufferevent_free(u->bev);
		u->bev = NULL;
		u->ssl = NULL;
	}
	event_del(u->poll_ev);
	if (u->state == UP_STOPPED)
		return;
	u->failures++;
	u->state = UP_DOWN;
	if (was_ready) {
		ms_warn("event=upstream_lost upstream=%s reason=\"%s\" unacked_sends=%" PRIu64,
		    u->peer, reason, u->nsends - u->nacked);
		u->cbs.lost(u->arg, clean);
	} else {
		ms_warn("event=upstream_connect_failed upstream=%s reason=\"%s\"", u->peer, reason);
	}
	timer_ms(u->retry_ev, up_next_delay(u));
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd_upstream *u = arg;
	size_t ours;
	int outq;

	if (u->state != UP_READY || u->nacked == u->nsends)
		return;
	ours = evbuffer_get_length(bufferevent_get_output(u->bev));
	outq = up_kernel_outq(u);
	if (ours == 0 && outq == 0) {
		u->nacked = u->nsends;
		u->cbs.acked(u->arg, u->nacked);
		return;
	}
	/* A slow link that still takes bytes is alive: only no progress counts. */
	if (outq >= 0 && ours + (size_t)outq < u->last_left)
		u->unacked_since_ms = ms_mono_ms();
	u->last_left = ours + (size_t)(outq > 0 ? outq : 0);
	if (ms_mono_ms() - u->unacked_since_ms > u->conf->dead_after_ms) {
		up_drop(u, "the receiver stopped acknowledging data", false);
		return;
	}
	timer_ms(u->poll_ev, UP_POLL_MS);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	/* RFC 5425 receivers send nothing; whatever comes is read and ignored. */
	ms_debug("event=upstream_data_ignored bytes=%zu", evbuffer_get_length(in));
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct fwd_upstream *u = arg;

	u->cbs.drained(u->arg);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fwd_upstream *u = arg;
	char why[512];
	int one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		int fd = bufferevent_getfd(bev);

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A receiver that vanished without a reset is found even while we are idle. */
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		bufferevent_set_timeouts(bev, NULL, NULL);
		u->state = UP_READY;
		u->backoff_ms = 0;
		u->nsends = u->nacked = 0;
		u->connects++;
		ms_info("event=upstream_connected upstream=%s tls=%s", u->peer, SSL_get_version(u->ssl));
		u->cbs.ready(u->arg);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
		unsigned long e = bufferevent_get_openssl_error(bev), more;
		long vr = u->ssl ? SSL_get_verify_result(u->ssl) : X509_V_OK;
		int dnserr = bufferevent_socket_get_dns_error(bev);
		bool clean = false;

		while ((more = bufferevent_get_openssl_error(bev)) != 0)
			e = more;
		if (dnserr)
			snprintf(why, sizeof(why), "cannot resolve: %s", evutil_gai_strerror(dnserr));
		else if (vr != X509_V_OK)
			snprintf(why, sizeof(why), "receiver certificate: %s",
			    X509_verify_cert_error_string(vr));
		else if (e && ERR_GET_LIB(e) != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else if (what & BEV_EVENT_TIMEOUT)
			snprintf(why, sizeof(why), "connect or handshake timed out");
		else if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
			snprintf(why, sizeof(why), "the receiver closed the connection");
			clean = true;
		} else
			snprintf(why, sizeof(why), "%s",
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		up_drop(u, why, clean);
	}
}

static void
up_connect(struct fwd_upstream *u)
{
	SSL *ssl = NULL;
	struct timeval tv;

	if (u->state != UP_DOWN)
		return;
	if ((ssl = SSL_new(u->ctx)) == NULL ||
	    ms_tls_client_set_peer_name(ssl, u->conf->upstream_server_name) < 0) {
		SSL_free(ssl);
		u->state = UP_CONNECTING;
		up_drop(u, "TLS setup failed", false);
		return;
	}
	u->bev = bufferevent_openssl_socket_new(u->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	u->state = UP_CONNECTING;
	if (u->bev == NULL) {
		SSL_free(ssl);
		up_drop(u, "out of memory", false);
		return;
	}
	u->ssl = ssl;
	bufferevent_openssl_set_allow_dirty_shutdown(u->bev, 1);
	bufferevent_setcb(u->bev, read_cb, write_cb, event_cb, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	tv.tv_sec = (time_t)(u->conf->connect_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)((u->conf->connect_timeout_ms % 1000) * 1000);
	bufferevent_set_timeouts(u->bev, &tv, &tv);
	ms_debug("event=upstream_connecting upstream=%s", u->peer);
	if (bufferevent_socket_connect_hostname(u->bev, u->dns, AF_UNSPEC, u->conf->upstream_host,
	    (int)u->conf->upstream_port) < 0)
		up_drop(u, "connect failed", false);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	up_connect(arg);
}

struct fwd_upstream *
fwd_upstream_new(struct event_base *base, const struct fwd_conf *c,
    const struct fwd_upstream_cbs *cbs, void *arg, char *err, size_t errsz)
{
	struct fwd_upstream *u = calloc(1, sizeof(*u));

	if (u == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	u->base = base;
	u->conf = c;
	u->cbs = *cbs;
	u->arg = arg;
	snprintf(u->peer, sizeof(u->peer), "%s:%d", c->upstream_host, (int)c->upstream_port);
	if ((u->ctx = ms_tls_client_ctx_new(c->tls_ca, c->tls_cert, c->tls_key, err, errsz)) == NULL)
		goto fail;
	if (c->tls_allow_tls12 && ms_tls_ctx_allow_tls12(u->ctx) < 0) {
		snprintf(err, errsz, "cannot allow TLS 1.2");
		goto fail;
	}
	u->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (u->dns == NULL)
		u->dns = evdns_base_new(base, 0);	/* no resolv.conf: /etc/hosts and literals */
	if ((u->retry_ev = evtimer_new(base, retry_cb, u)) == NULL ||
	    (u->poll_ev = evtimer_new(base, poll_cb, u)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	return u;
fail:
	fwd_upstream_free(u);
	return NULL;
}

void
fwd_upstream_free(struct fwd_upstream *u)
{
	if (u == NULL)
		return;
	if (u->bev)
		bufferevent_free(u->bev);
	if (u->retry_ev)
		event_free(u->retry_ev);
	if (u->poll_ev)
		event_free(u->poll_ev);
	if (u->dns)
		evdns_base_free(u->dns, 0);
	SSL_CTX_free(u->ctx);
	free(u);
}

void
fwd_upstream_start(struct fwd_upstream *u)
{
	up_connect(u);
}

bool
fwd_upstream_ready(const struct fwd_upstream *u)
{
	return u->state == UP_READY;
}

size_t
fwd_upstream_queued(const struct fwd_upstream *u)
{
	return u->bev ? evbuffer_get_length(bufferevent_get_output(u->bev)) : 0;
}

int64_t
fwd_upstream_send(struct fwd_upstream *u, const void *p, size_t len)
{
	if (u->state != UP_READY || bufferevent_write(u->bev, p, len) < 0)
		return -1;
	if (u->nacked == u->nsends) {
		u->unacked_since_ms = ms_mono_ms();
		u->last_left = SIZE_MAX;
		timer_ms(u->poll_ev, UP_POLL_MS);
	}
	return (int64_t)u->nsends++;
}

void
fwd_upstream_stop(struct fwd_upstream *u)
{
	if (u->bev && u->ssl && evbuffer_get_length(bufferevent_get_output(u->bev)) == 0)
		SSL_shutdown(u->ssl);
	u->state = UP_STOPPED;
	up_drop(u, "stopping", true);
	event_del(u->retry_ev);
}

uint64_t fwd_upstream_connects(const struct fwd_upstream *u) { return u->connects; }
uint64_t fwd_upstream_failures(const struct fwd_upstream *u) { return u->failures; }
