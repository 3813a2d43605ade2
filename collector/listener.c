/* listener – accepts agent connections and hands them to sessions. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/listener.h>

#include "collector.h"
#include "connlimit.h"
#include "ms_log.h"
#include "ms_util.h"

/* Source addresses whose connection rate is tracked at once (least recently seen go first). */
#define LISTENER_RATE_MAX_ADDRS 16384

/* Refusals of one reason are logged once a second at most: a flood would flood the log too. */
struct refusal_log {
	int64_t ms;
	uint64_t unlogged;
};

struct listener {
	struct collector *c;
	struct evconnlistener *el;
	struct connlimit *addrs;	/* per source address: rate, handshakes (owned) */
	struct refusal_log rate_log;
	struct refusal_log handshakes_log;
	struct refusal_log capacity_log[3];	/* max_handshakes, max_sessions, shutting_down */
};

static void
log_refusal(struct refusal_log *rl, const char *peer, const char *reason, int64_t now)
{
	if (now - rl->ms >= 1000) {
		ms_warn("event=session_refused peer=%s reason=%s refused_since_last=%" PRIu64,
		    peer, reason, rl->unlogged + 1);
		rl->ms = now;
		rl->unlogged = 0;
	} else {
		rl->unlogged++;
	}
}

static void
peer_name(const struct sockaddr *sa, char *out, size_t outsz)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
		snprintf(out, outsz, "%s:%d", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
		snprintf(out, outsz, "[%s]:%d", ip, port);
	} else {
		snprintf(out, outsz, "unknown");
	}
}

static void
accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct listener *l = arg;
	struct collector *c = l->c;
	struct connlimit_addr addr;
	char peer[64];
	int one = 1;
	int64_t now = ms_mono_ms();

	peer_name(sa, peer, sizeof(peer));
	connlimit_addr_from(&addr, sa);
	/*
	 * Checked before any TLS work, so a flood of connections costs an
	 * accept and a close each.
	 */
	if (!c->stopping && !connlimit_rate_ok(l->addrs, &addr, c->conf.connect_rate_per_ip,
	    c->conf.connect_burst_per_ip, now)) {
		c->stats.sessions_refused++;
		c->stats.sessions_rate_limited++;
		log_refusal(&l->rate_log, peer, "connect_rate_per_ip", now);
		evutil_closesocket(fd);
		return;
	}
	/*
	 * Without it a few addresses that never send a ClientHello hold every
	 * one of limits.max_handshakes until their deadline, and reconnect.
	 */
	if (!c->stopping && c->conf.max_handshakes_per_ip > 0 &&
	    connlimit_handshakes(l->addrs, &addr) >= (size_t)c->conf.max_handshakes_per_ip) {
		c->stats.sessions_refused++;
		c->stats.sessions_handshake_limited++;
		log_refusal(&l->handshakes_log, peer, "max_handshakes_per_ip", now);
		evutil_closesocket(fd);
		return;
	}
	if (c->stopping || c->nsessions >= (size_t)c->conf.max_sessions ||
	    c->nhandshakes >= (size_t)c->conf.max_handshakes) {
		/* Unauthenticated connections have their own, smaller budget. */
		int why = c->stopping ? 2 : c->nhandshakes >= (size_t)c->conf.max_handshakes ? 0 : 1;
		static const char *const reasons[] = { "max_handshakes", "max_sessions",
			"shutting_down" };

		c->stats.sessions_refused++;
		/* Once a second a reason, as above: many addresses would flood the log. */
		log_refusal(&l->capacity_log[why], peer, reasons[why], now);
		evutil_closesocket(fd);
		return;
	}
	/* Acks and small batches must not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (session_new(c, fd, peer, &addr) == NULL)
		ms_err("event=session_failed peer=%s reason=out_of_memory", peer);
}

static void
accept_error_cb(struct evconnlistener *el, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: keep listening, the next accept may work. */
	ms_err("event=accept_error reason=\"%s\"", evutil_socket_error_to_string(e));
}

struct listener *
listener_new(struct collector *c, char *err, size_t errsz)
{
	struct listener *l = NULL;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char addr[300];

	memset(&ss, 0, sizeof(ss));
	if (strchr(c->conf.listen_address, ':'))
		snprintf(addr, sizeof(addr), "[%s]:%lld", c->conf.listen_address,
		    (long long)c->conf.listen_port);
	else
		snprintf(addr, sizeof(addr), "%s:%lld", c->conf.listen_address,
		    (long long)c->conf.listen_port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errsz, "listen.address: cannot parse \"%s\" (a numeric address)", addr);
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	l->c = c;
	if ((l->addrs = connlimit_new(LISTENER_RATE_MAX_ADDRS)) == NULL) {
		snprintf(err, errsz, "out of memory");
		free(l);
		return NULL;
	}
	l->el = evconnlistener_new_bind(c->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 512,
	    (struct sockaddr *)&ss, sslen);
	if (l->el == NULL) {
		snprintf(err, errsz, "cannot listen on %s: %s", addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		connlimit_free(l->addrs);
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->el, accept_error_cb);
	ms_info("event=listening address=%s", addr);
	return l;
}

int
listener_handshake_begin(struct listener *l, const struct connlimit_addr *a)
{
	if (l == NULL)
		return -1;
	return connlimit_handshake_begin(l->addrs, a);
}

void
listener_handshake_end(struct listener *l, const struct connlimit_addr *a)
{
	if (l != NULL)
		connlimit_handshake_end(l->addrs, a);
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	evconnlistener_free(l->el);
	connlimit_free(l->addrs);
	free(l);
}
