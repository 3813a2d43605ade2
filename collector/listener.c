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
#include "ms_log.h"
#include "ms_map.h"
#include "ms_util.h"

/* Source addresses whose connection rate is tracked at once (least recently seen go first). */
#define LISTENER_RATE_MAX_ADDRS 16384

/* A token bucket of connections for one source address. */
struct conn_bucket {
	double tokens;
	int64_t ms;		/* monotonic time of the last refill */
};

struct listener {
	struct collector *c;
	struct evconnlistener *el;
	struct ms_map *rate;	/* address bytes -> struct conn_bucket (owned) */
	int64_t rate_logged_ms;
	uint64_t rate_unlogged;
};

/*
 * Whether one more connection from sa's address is within
 * limits.connect_rate_per_ip (bursts up to connect_burst_per_ip). Checked
 * before any TLS work, so a flood of connections costs an accept and a
 * close each.
 */
static bool
rate_ok(struct listener *l, const struct sockaddr *sa)
{
	const struct collector_conf *cf = &l->c->conf;
	const void *key;
	size_t klen;
	struct conn_bucket *b;
	int64_t now = ms_mono_ms();

	if (cf->connect_rate_per_ip <= 0 || l->rate == NULL)
		return true;
	if (sa->sa_family == AF_INET) {
		key = &((const struct sockaddr_in *)sa)->sin_addr;
		klen = sizeof(struct in_addr);
	} else if (sa->sa_family == AF_INET6) {
		key = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		klen = sizeof(struct in6_addr);
	} else {
		return true;
	}
	if ((b = ms_map_touch(l->rate, key, klen)) == NULL) {
		if (ms_map_count(l->rate) >= LISTENER_RATE_MAX_ADDRS)
			ms_map_del_lru(l->rate);
		if ((b = malloc(sizeof(*b))) == NULL)
			return true;
		b->tokens = (double)cf->connect_burst_per_ip;
		b->ms = now;
		if (ms_map_put(l->rate, key, klen, b) < 0) {
			free(b);
			return true;
		}
	}
	b->tokens += (double)(now - b->ms) * (double)cf->connect_rate_per_ip / 1000.0;
	if (b->tokens > (double)cf->connect_burst_per_ip)
		b->tokens = (double)cf->connect_burst_per_ip;
	b->ms = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
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
	char peer[64];
	int one = 1;

	peer_name(sa, peer, sizeof(peer));
	if (!c->stopping && !rate_ok(l, sa)) {
		int64_t now = ms_mono_ms();

		c->stats.sessions_refused++;
		c->stats.sessions_rate_limited++;
		/* Once a second at most: a flood would flood the log too. */
		if (now - l->rate_logged_ms >= 1000) {
			ms_warn("event=session_refused peer=%s reason=connect_rate_per_ip "
			    "refused_since_last=%" PRIu64, peer, l->rate_unlogged + 1);
			l->rate_logged_ms = now;
			l->rate_unlogged = 0;
		} else {
			l->rate_unlogged++;
		}
		evutil_closesocket(fd);
		return;
	}
	if (c->stopping || c->nsessions >= (size_t)c->conf.max_sessions ||
	    c->nhandshakes >= (size_t)c->conf.max_handshakes) {
		/* Unauthenticated connections have their own, smaller budget. */
		c->stats.sessions_refused++;
		ms_warn("event=session_refused peer=%s reason=%s", peer,
		    c->stopping ? "shutting_down" :
		    c->nhandshakes >= (size_t)c->conf.max_handshakes ? "max_handshakes" : "max_sessions");
		evutil_closesocket(fd);
		return;
	}
	/* Acks and small batches must not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (session_new(c, fd, peer) == NULL)
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
	if ((l->rate = ms_map_new(free)) == NULL) {
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
		ms_map_free(l->rate);
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->el, accept_error_cb);
	ms_info("event=listening address=%s", addr);
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	evconnlistener_free(l->el);
	ms_map_free(l->rate);
	free(l);
}
