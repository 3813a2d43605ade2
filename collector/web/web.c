/*
 * minisoc-web – the operators' dashboard: a small daemon beside the
 * collector that reads what the collector keeps in Redis and serves it to
 * browsers. See docs/operations.md ("Dashboard").
 *
 * One libevent loop: evhttp for the browsers, two hiredis async contexts
 * for Redis – one for the queries of page requests, one that follows the
 * alert stream (XREAD BLOCK) and fans each new entry out to the
 * Server-Sent Events clients. The page itself (HTML, JS, CSS from
 * collector/web/assets) is compiled into the binary; it loads nothing
 * from elsewhere.
 *
 * Access needs the token (web.token_file): "Authorization: Bearer <token>"
 * or the cookie set by POST /login. Nothing is written to Redis.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "connlimit.h"
#include "ms_buf.h"
#include "ms_config.h"
#include "ms_json.h"
#include "ms_log.h"
#include "ms_priv.h"
#include "ms_redis.h"
#include "ms_util.h"
#include "web_assets.h"
#include "web_http.h"

struct web_conf {
	char log_level[16];
	char user[64];
	char address[256];
	int64_t port;
	char token_file[4096];
	int64_t max_clients;
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t request_timeout;
	uint64_t client_buffer;
	int64_t history;
	int64_t stream_catchup;
	int64_t chart_max_scan;
	int64_t agents_max;
	char secure_cookie[16];
	char redis_host[256];
	int64_t redis_port;
	char redis_unix[4096];
	char redis_user[128];
	char redis_password_file[4096];
	char redis_stream[128];
};

#define OFF(f) offsetof(struct web_conf, f)
#define SZ(f) sizeof(((struct web_conf *)0)->f)

static const struct ms_conf_key web_keys[] = {
	{ "web.log_level", MS_CONF_STR, OFF(log_level), SZ(log_level), "info", 0, 0,
	  "debug, info, warn or error" },
	{ "web.user", MS_CONF_STR, OFF(user), SZ(user), "", 0, 0,
	  "when started as root: the user to run as once the port is bound and the token read" },
	{ "web.address", MS_CONF_STR, OFF(address), SZ(address), "127.0.0.1", 0, 0,
	  "address to listen on (plain HTTP: keep it on loopback and reach it through an SSH tunnel or a TLS proxy)" },
	{ "web.port", MS_CONF_INT, OFF(port), 0, "8514", 1, 65535, "TCP port of the dashboard" },
	{ "web.token_file", MS_CONF_PATH, OFF(token_file), SZ(token_file), NULL, 0, 0,
	  "file holding the access token (one line, at least 16 characters); required" },
	{ "web.max_clients", MS_CONF_INT, OFF(max_clients), 0, "32", 1, 10000,
	  "live streams (browser tabs) at once; more are answered 503" },
	{ "web.max_connections", MS_CONF_INT, OFF(max_connections), 0, "512", 16, 100000,
	  "open connections at once; more are closed right after accept (lowered to fit the open-file limit)" },
	{ "web.max_connections_per_ip", MS_CONF_INT, OFF(max_connections_per_ip), 0, "64", 1, 100000,
	  "open connections from one source address; more are closed right after accept" },
	{ "web.request_timeout", MS_CONF_INT, OFF(request_timeout), 0, "20", 1, 3600,
	  "seconds a connection has for a whole request from its accept or previous request; bytes do not extend it" },
	{ "web.client_buffer", MS_CONF_SIZE, OFF(client_buffer), 0, "1MiB", 4096, 268435456,
	  "bytes queued for one live client at most; more follow as it takes them in" },
	{ "web.history", MS_CONF_INT, OFF(history), 0, "500", 1, 10000,
	  "most alerts one request returns (the page's initial list)" },
	{ "web.stream_catchup", MS_CONF_INT, OFF(stream_catchup), 0, "2000", 1, 1000000,
	  "most missed alerts a reconnecting live stream gets; past it the newest, after a \"gap\" event" },
	{ "web.chart_max_scan", MS_CONF_INT, OFF(chart_max_scan), 0, "100000", 1000, 10000000,
	  "most stream entries read for the 24 h chart (the chart says when it is cut)" },
	{ "web.agents_max", MS_CONF_INT, OFF(agents_max), 0, "5000", 1, 1000000,
	  "most agents listed" },
	{ "web.secure_cookie", MS_CONF_STR, OFF(secure_cookie), SZ(secure_cookie), "auto", 0, 0,
	  "mark the session cookie Secure (sent over HTTPS only): auto (when the sign-in came through "
	  "a TLS proxy that says X-Forwarded-Proto: https), always, or never" },
	{ "redis.host", MS_CONF_STR, OFF(redis_host), SZ(redis_host), "127.0.0.1", 0, 0, "Redis host" },
	{ "redis.port", MS_CONF_INT, OFF(redis_port), 0, "6379", 1, 65535, "Redis port" },
	{ "redis.unix", MS_CONF_PATH, OFF(redis_unix), SZ(redis_unix), "", 0, 0,
	  "Redis unix socket; used instead of host/port when set" },
	{ "redis.user", MS_CONF_STR, OFF(redis_user), SZ(redis_user), "", 0, 0,
	  "Redis ACL user to sign in as (with redis.password_file); empty = the default user" },
	{ "redis.password_file", MS_CONF_PATH, OFF(redis_password_file), SZ(redis_password_file), "", 0, 0,
	  "file whose first line is the Redis password (requirepass, or redis.user's); read once at start, while still root; empty = no AUTH" },
	{ "redis.stream", MS_CONF_STR, OFF(redis_stream), SZ(redis_stream), "minisoc:alerts", 0, 0,
	  "the collector's alert stream" },
	MS_CONF_END
};

/* How often an idle live stream gets a comment line (proxies, dead peers). */
#define WEB_KEEPALIVE_S 15
/* XREAD BLOCK time; the loop re-issues it. */
#define WEB_BLOCK_MS 5000
/* Entries per XREAD of the live reader. */
#define WEB_READ_COUNT 200
/* Entries per page of a client behind the live reader (catch-up, full buffer). */
#define WEB_PAGE_COUNT 100
/* The chart is computed at most this often (ms); browsers share the result. */
#define WEB_CHART_TTL_MS 10000
/* A reply bigger than this is refused rather than built. */
#define WEB_REPLY_CAP (16u << 20)
/* File descriptors kept apart from connections (Redis, listener, logs, accepts in flight). */
#define WEB_FD_RESERVE 64
/* Source addresses remembered at most (those with connections open are never forgotten). */
#define WEB_MAX_ADDRS 16384
/* How long the listener rests after accept() failed (EMFILE, ENFILE, ENOBUFS). */
#define WEB_ACCEPT_PAUSE_MS 200

/* A log line at most once a second, with how many were left out. */
struct ratelog {
	int64_t ms;
	uint64_t unlogged;
};

/*
 * An open connection, found by its descriptor; the socket's device and
 * inode tell it from a later one given the same number. evhttp frees its
 * connections itself: a once-a-second sweep notices those gone.
 */
struct web_conn {
	int fd;			/* -1: slot free */
	dev_t dev;
	ino_t ino;
	struct connlimit_addr addr;
	int64_t since_ms;	/* accept or its last request (monotonic) */
	bool stream;		/* a live stream: no request deadline */
	bool cut;		/* shut down at its deadline, not yet gone */
};

/* A connection evhttp just accepted, looked at once the accept loop is done. */
struct web_fresh {
	struct bufferevent *bev;	/* a reference of ours */
	TAILQ_ENTRY(web_fresh) link;
};

struct web;

/*
 * A browser's live stream (GET /api/stream). Each entry is one SSE event
 * with its id, so the browser's Last-Event-ID moves event by event. A
 * client takes entries from the live reader while it keeps up; once
 * web.client_buffer bytes wait for it (or it reconnected with a
 * Last-Event-ID) it is "behind" and reads its own pages from Redis after
 * sent_id, one page when its queue has drained, until it reaches the live
 * reader again. So its queue holds at most web.client_buffer and one entry,
 * and no entry is skipped however big a batch.
 */
struct sse_client {
	struct web *w;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	char peer[64];
	char sent_id[48];	/* newest entry sent or passed over ("" none yet) */
	bool behind;		/* pages from Redis, not the live reader */
	bool paging;		/* a query for it in flight */
	bool asked_again;	/* an empty page behind the live reader was asked again */
	bool full;		/* web.client_buffer bytes queued: nothing more until they drain */
	size_t full_seen;	/* queue at the last keepalive tick while full; SIZE_MAX none */
	TAILQ_ENTRY(sse_client) link;
};

enum q_kind { Q_ALERTS, Q_ALERT, Q_AGENTS, Q_SYSTEMS, Q_CHART, Q_BACKFILL, Q_CATCHUP };

/* A page request waiting for Redis; req is NULL once the browser went away. */
struct pending {
	struct web *w;
	enum q_kind kind;
	struct evhttp_request *req;
	struct sse_client *client;	/* Q_BACKFILL, Q_CATCHUP */
	bool orphan;			/* req lost its connection: only to be freed */
	TAILQ_ENTRY(pending) link;
};

/*
 * Signed-in browsers: a random session id each, not the token. The token
 * as cookie had no end, survived logout in any copy, and went along to
 * every other service on the same host (cookies are not kept apart by
 * port). A session lasts WEB_SESSION_MS from sign-in; the table keeps the
 * SHA-256 of each id, compared in constant time; a sign-in when it is
 * full takes the session that ends first. Kept in memory: a restart signs
 * everyone out.
 */
#define WEB_SESSIONS 64
#define WEB_SESSION_MS (INT64_C(12) * 3600 * 1000)

struct web_session {
	unsigned char hash[32];	/* SHA-256 of the id's hex text */
	int64_t ends_ms;	/* monotonic; 0: free */
};

struct web {
	struct web_conf conf;
	struct event_base *base;
	struct evhttp *http;
	char token[512];
	size_t token_len;
	redisAsyncContext *q;		/* queries */
	char redis_password[MS_REDIS_PASSWORD_MAX];	/* from redis.password_file */
	redisAsyncContext *live;	/* XREAD BLOCK */
	bool q_up, live_up;
	struct event *retry, *keepalive;
	int retry_s;		/* the next reconnect's delay (retry_later), 1 once Redis answers */
	char last_id[48];		/* newest stream id seen by the live reader ("" = not yet) */
	TAILQ_HEAD(, sse_client) clients;
	size_t nclients;
	TAILQ_HEAD(, pending) pending;
	/* The chart's cached answer. */
	struct ms_buf chart;
	int64_t chart_ms;
	TAILQ_HEAD(, pending) chart_wait;
	bool chart_busy;
	/* Connections (admit, sweep, refuse: see "connections" below). */
	struct evconnlistener *listener;
	struct event *admit, *sweep, *accept_resume;
	TAILQ_HEAD(, web_fresh) fresh;
	struct web_conn *conns;
	size_t nconns;
	struct connlimit *addrs;
	struct ratelog refuse_log, accept_log, timeout_log;
	struct web_session sessions[WEB_SESSIONS];
	struct {
		uint64_t requests, unauthorized, login_failed, sse_dropped_slow, sse_refused,
		    sse_gaps, redis_errors, conn_refused, conn_timed_out, accept_errors;
	} stats;
};

static void redis_connect(struct web *w);
static void live_next(struct web *w);
static void client_page(struct sse_client *cl);
static void query_cb(redisAsyncContext *ac, void *reply, void *privdata);
static struct pending *pending_new(struct web *w, enum q_kind kind, struct evhttp_request *req);
static void pending_done(struct pending *p);

/* --- replies ------------------------------------------------------------ */

static void
security_headers(struct evhttp_request *req, const char *ctype, bool cache)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	/* Nothing runs or loads from anywhere but this daemon; no framing. */
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cache-Control", cache ? "private, max-age=300" : "no-store");
}

static void
reply_bytes(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    const void *p, size_t n, bool cache)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add(b, p, n) < 0) {
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, 500, "Out of memory");
		return;
	}
	security_headers(req, ctype, cache);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void
reply_json(struct evhttp_request *req, int code, const struct ms_buf *b)
{
	if (b->toobig) {
		static const char e[] = "{\"error\":\"reply too big\"}";
		reply_bytes(req, 500, "Too Big", "application/json", e, sizeof(e) - 1, false);
		return;
	}
	reply_bytes(req, code, code == 200 ? "OK" : "Error", "application/json", b->data ? b->data : "",
	    b->len, false);
}

static void
reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	struct ms_buf b;
	struct ms_json j;

	ms_buf_init(&b, 4096);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "error");
	ms_json_str(&j, msg);
	ms_json_obj_close(&j);
	(void)ms_json_finish(&j);
	reply_bytes(req, code, reason, "application/json", b.data ? b.data : "", b.len, false);
	ms_buf_fini(&b);
}

static void
peer_of(struct evhttp_request *req, char *out, size_t outsz)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port = 0;

	if (conn)
		evhttp_connection_get_peer(conn, (char **)&addr, &port);
	snprintf(out, outsz, "%s:%u", addr ? addr : "?", (unsigned)port);
}

/* --- access ------------------------------------------------------------- */

/* The live session whose id is id/len, or NULL. Every slot is looked at: no early exit. */
static struct web_session *
session_find(struct web *w, const char *id, size_t len)
{
	struct web_session *found = NULL;
	unsigned char h[32];
	unsigned int hl = 0;
	int64_t now = ms_mono_ms();

	if (EVP_Digest(id, len, h, &hl, EVP_sha256(), NULL) != 1 || hl != sizeof(h))
		return NULL;
	for (size_t i = 0; i < WEB_SESSIONS; i++) {
		struct web_session *s = &w->sessions[i];
		bool same = CRYPTO_memcmp(s->hash, h, sizeof(h)) == 0;

		if (same && s->ends_ms > now)
			found = s;
	}
	return found;
}

/* A new session: its id (64 hex digits) in id[65]. 0, or -1 without randomness. */
static int
session_new(struct web *w, char id[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	unsigned int hl = 0;
	struct web_session *s = &w->sessions[0];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(r); i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[64] = '\0';
	/* a free or ended slot, else the one that ends first */
	for (size_t i = 1; i < WEB_SESSIONS && s->ends_ms > ms_mono_ms(); i++)
		if (w->sessions[i].ends_ms < s->ends_ms)
			s = &w->sessions[i];
	if (EVP_Digest(id, 64, s->hash, &hl, EVP_sha256(), NULL) != 1 || hl != sizeof(s->hash))
		return -1;
	s->ends_ms = ms_mono_ms() + WEB_SESSION_MS;
	return 0;
}

static bool
authorized(struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct ms_str t;

	if (web_bearer_get(evhttp_find_header(h, "Authorization"), &t) == 0)
		return web_token_equal(w->token, w->token_len, t.p, t.len);
	if (web_cookie_get(evhttp_find_header(h, "Cookie"), WEB_COOKIE, &t) == 0)
		return session_find(w, t.p, t.len) != NULL;
	return false;
}

static void
serve_asset(struct evhttp_request *req, const char *path, int code)
{
	const struct web_asset *a = web_asset_find(path);

	if (a == NULL) {
		evhttp_send_error(req, 404, "Not Found");
		return;
	}
	reply_bytes(req, code, code == 200 ? "OK" : "Unauthorized", a->type, a->data, a->len,
	    strcmp(a->type, "text/html; charset=utf-8") != 0);
}

/*
 * Whether the session cookie is marked Secure (web.secure_cookie). In auto,
 * when the request came through a TLS proxy: X-Forwarded-Proto: https (or
 * Forwarded: proto=https). A client that sends it itself only makes its
 * own cookie stricter.
 */
static bool
cookie_secure(const struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *v;

	if (strcmp(w->conf.secure_cookie, "always") == 0)
		return true;
	if (strcmp(w->conf.secure_cookie, "never") == 0)
		return false;
	if ((v = evhttp_find_header(in, "X-Forwarded-Proto")) != NULL &&
	    strncasecmp(v, "https", 5) == 0 && (v[5] == '\0' || v[5] == ',' || v[5] == ' '))
		return true;
	if ((v = evhttp_find_header(in, "Forwarded")) == NULL)
		return false;
	for (; *v; v++)
		if (strncasecmp(v, "proto=https", 11) == 0)
			return true;
	return false;
}

/* POST /login (form: token=...): sets the cookie and goes to the page. */
static void
handle_login(struct web *w, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char token[512], cookie[700], peer[64], sid[65];
	size_t n = evbuffer_get_length(in);
	const char *body;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		serve_asset(req, "/login.html", 200);
		return;
	}
	body = n ? (const char *)evbuffer_pullup(in, (ev_ssize_t)n) : "";
	if (body == NULL || web_form_get(body, n, "token", token, sizeof(token)) < 0 ||
	    !web_token_equal(w->token, w->token_len, token, strlen(token))) {
		w->stats.login_failed++;
		peer_of(req, peer, sizeof(peer));
		ms_warn("event=login_failed peer=%s", peer);
		serve_asset(req, "/login.html", 401);
		return;
	}
	if (session_new(w, sid) < 0) {
		reply_error(req, 503, "Service Unavailable", "no randomness for a session");
		return;
	}
	/*
	 * HttpOnly: page scripts never see it; SameSite=Strict: no cross-site
	 * use; Secure (cookie_secure): never sent over plain HTTP by the
	 * browser, where a proxy serves the page over HTTPS.
	 */
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%" PRId64
	    "%s", WEB_COOKIE, sid, WEB_SESSION_MS / 1000, cookie_secure(w, req) ? "; Secure" : "");
	evhttp_add_header(out, "Set-Cookie", cookie);
	evhttp_add_header(out, "Location", "/");
	security_headers(req, "text/plain; charset=utf-8", false);
	evhttp_send_reply(req, 303, "See Other", NULL);
	peer_of(req, peer, sizeof(peer));
	ms_info("event=login peer=%s", peer);
}

static void
handle_logout(struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct web_session *s;
	struct ms_str t;

	/* The session ends here, for every copy of its cookie. */
	if (web_cookie_get(evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie"),
	    WEB_COOKIE, &t) == 0 && (s = session_find(w, t.p, t.len)) != NULL)
		memset(s, 0, sizeof(*s));

	evhttp_add_header(out, "Set-Cookie", cookie_secure(w, req) ?
	    WEB_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure" :
	    WEB_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	evhttp_add_header(out, "Location", "/login");
	security_headers(req, "text/plain; charset=utf-8", false);
	evhttp_send_reply(req, 303, "See Other", NULL);
}

/* --- Redis replies as JSON ----------------------------------------------- */

static bool
is_str(const redisReply *r)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/*
 * One stream entry [id, [field, value, ...]] as {"id": ..., "alert": "<the
 * alert JSON as a string>", "fields": {other fields}}. The alert stays a
 * string: the browser parses it, so a malformed one spoils only itself.
 */
static void
json_entry(struct ms_json *j, const redisReply *e)
{
	const redisReply *f;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !is_str(e->element[0]))
		return;
	f = e->element[1];
	ms_json_obj_open(j);
	ms_json_key(j, "id");
	ms_json_strn(j, e->element[0]->str, e->element[0]->len);
	if (f->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < f->elements; i += 2)
			if (is_str(f->element[i]) && is_str(f->element[i + 1]) &&
			    strcmp(f->element[i]->str, "alert") == 0) {
				ms_json_key(j, "alert");
				ms_json_strn(j, f->element[i + 1]->str, f->element[i + 1]->len);
			}
		ms_json_key(j, "fields");
		ms_json_obj_open(j);
		for (size_t i = 0; i + 1 < f->elements; i += 2)
			if (is_str(f->element[i]) && is_str(f->element[i + 1]) &&
			    strcmp(f->element[i]->str, "alert") != 0) {
				ms_json_key(j, f->element[i]->str);
				ms_json_strn(j, f->element[i + 1]->str, f->element[i + 1]->len);
			}
		ms_json_obj_close(j);
	}
	ms_json_obj_close(j);
}

/* A flat [k, v, k, v ...] reply as an object. */
static void
json_hash(struct ms_json *j, const redisReply *r)
{
	ms_json_obj_open(j);
	if (r && r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i + 1 < r->elements; i += 2)
			if (is_str(r->element[i]) && is_str(r->element[i + 1])) {
				ms_json_key(j, r->element[i]->str);
				ms_json_strn(j, r->element[i + 1]->str, r->element[i + 1]->len);
			}
	ms_json_obj_close(j);
}

static void
build_alerts(struct ms_json *j, const redisReply *r)
{
	ms_json_obj_open(j);
	ms_json_key(j, "alerts");
	ms_json_arr_open(j);
	if (r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->elements; i++)
			json_entry(j, r->element[i]);
	ms_json_arr_close(j);
	ms_json_obj_close(j);
}

/* Reply of agents_lua: [total, [[id, last_seen, hash, health], ...]]. */
static void
build_agents(struct ms_json *j, const redisReply *top)
{
	const redisReply *r = top;
	long long total = 0;

	if (top->type == REDIS_REPLY_ARRAY && top->elements == 2 &&
	    top->element[0]->type == REDIS_REPLY_INTEGER) {
		total = top->element[0]->integer;
		r = top->element[1];
	}
	ms_json_obj_open(j);
	ms_json_key(j, "now_ms");
	ms_json_int(j, ms_now_ms());
	ms_json_key(j, "total");
	ms_json_int(j, total);
	ms_json_key(j, "truncated");
	ms_json_bool(j, r->type == REDIS_REPLY_ARRAY && total > (long long)r->elements);
	ms_json_key(j, "agents");
	ms_json_arr_open(j);
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *a = r->element[i];
		if (a->type != REDIS_REPLY_ARRAY || a->elements != 4 || !is_str(a->element[0]))
			continue;
		ms_json_obj_open(j);
		ms_json_key(j, "id");
		ms_json_strn(j, a->element[0]->str, a->element[0]->len);
		ms_json_key(j, "last_seen_ms");
		if (is_str(a->element[1]))
			ms_json_strn(j, a->element[1]->str, a->element[1]->len);
		else
			ms_json_str(j, "");
		ms_json_key(j, "info");
		json_hash(j, a->element[2]);
		ms_json_key(j, "health");
		json_hash(j, a->element[3]);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
	ms_json_obj_close(j);
}

/*
 * Reply of systems_lua: [source, [[id, record-or-"", level, n_agents,
 * compliance-or-"", n_online], ...]]. Record and compliance are JSON texts
 * passed on as strings: the page parses them (and treats them as text).
 */
static void
build_systems(struct ms_json *j, const redisReply *r)
{
	const redisReply *list = NULL;

	ms_json_obj_open(j);
	ms_json_key(j, "source");
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && is_str(r->element[0])) {
		ms_json_strn(j, r->element[0]->str, r->element[0]->len);
		list = r->element[1];
	} else {
		ms_json_str(j, "none");
	}
	ms_json_key(j, "systems");
	ms_json_arr_open(j);
	for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
		const redisReply *s = list->element[i];
		if (s->type != REDIS_REPLY_ARRAY || s->elements != 6 || !is_str(s->element[0]))
			continue;
		ms_json_obj_open(j);
		ms_json_key(j, "id");
		ms_json_strn(j, s->element[0]->str, s->element[0]->len);
		ms_json_key(j, "record");
		if (is_str(s->element[1]))
			ms_json_strn(j, s->element[1]->str, s->element[1]->len);
		else
			ms_json_str(j, "");
		ms_json_key(j, "level");
		if (is_str(s->element[2]))
			ms_json_strn(j, s->element[2]->str, s->element[2]->len);
		else
			ms_json_str(j, "");
		ms_json_key(j, "agents");
		ms_json_int(j, s->element[3]->type == REDIS_REPLY_INTEGER ? s->element[3]->integer : 0);
		ms_json_key(j, "online");
		ms_json_int(j, s->element[5]->type == REDIS_REPLY_INTEGER ? s->element[5]->integer : 0);
		ms_json_key(j, "compliance");
		if (is_str(s->element[4]))
			ms_json_strn(j, s->element[4]->str, s->element[4]->len);
		else
			ms_json_str(j, "");
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
	ms_json_obj_close(j);
}

/* Reply of chart_lua: [scanned, [24 x 6 counts, hour 0 = the last hour]]. */
static void
build_chart(struct ms_json *j, const redisReply *r, int64_t cap, int64_t now)
{
	static const char *const sev[] = { "informational", "low", "medium", "high", "critical",
		"other" };
	const redisReply *c = NULL;
	long long scanned = 0;

	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_ARRAY &&
	    r->element[1]->elements == 24 * 6) {
		scanned = r->element[0]->integer;
		c = r->element[1];
	}
	ms_json_obj_open(j);
	ms_json_key(j, "now_ms");
	ms_json_int(j, now);
	ms_json_key(j, "truncated");
	ms_json_bool(j, scanned >= cap);
	ms_json_key(j, "severities");
	ms_json_arr_open(j);
	for (size_t i = 0; i < MS_ARRAY_LEN(sev); i++)
		ms_json_str(j, sev[i]);
	ms_json_arr_close(j);
	ms_json_key(j, "hours");
	ms_json_arr_open(j);
	for (size_t h = 0; c && h < 24; h++) {
		ms_json_arr_open(j);
		for (size_t k = 0; k < 6; k++) {
			const redisReply *v = c->element[h * 6 + k];
			ms_json_int(j, v->type == REDIS_REPLY_INTEGER ? v->integer : 0);
		}
		ms_json_arr_close(j);
	}
	ms_json_arr_close(j);
	ms_json_obj_close(j);
}

/* --- connections -------------------------------------------------------- */

/*
 * evhttp (libevent 2.1) has no hook at accept and restarts its timeout on
 * every byte: ~1,000 connections trickling a byte every few seconds held
 * every descriptor, and accept() failing with EMFILE spun the listener
 * (review). So: each connection's bufferevent is made here (evhttp_set_bevcb)
 * and kept referenced until the accept loop is over; then its socket is
 * looked at – over web.max_connections or web.max_connections_per_ip it is
 * shut down (evhttp frees it on the EOF). A connection has
 * web.request_timeout for each request, however it trickles.
 */

static bool
ratelog_due(struct ratelog *rl, int64_t now, uint64_t *left_out)
{
	if (now - rl->ms < 1000) {
		rl->unlogged++;
		return false;
	}
	*left_out = rl->unlogged;
	rl->ms = now;
	rl->unlogged = 0;
	return true;
}

/* The slot of descriptor fd; -1 finds a free one. */
static struct web_conn *
conn_find(struct web *w, int fd)
{
	for (size_t i = 0; i < (size_t)w->conf.max_connections; i++)
		if (w->conns[i].fd == fd)
			return &w->conns[i];
	return NULL;
}

static void
conn_gone(struct web *w, struct web_conn *c)
{
	connlimit_handshake_end(w->addrs, &c->addr);
	c->fd = -1;
	w->nconns--;
}

/* Whether c's descriptor is still its socket. */
static bool
conn_alive(const struct web_conn *c)
{
	struct stat st;

	return fstat(c->fd, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino;
}

static void
conn_refuse(struct web *w, int fd, const char *peer, const char *why, int64_t now)
{
	uint64_t n;

	w->stats.conn_refused++;
	if (ratelog_due(&w->refuse_log, now, &n))
		ms_warn("event=connection_refused peer=%s reason=%s refused_since_last=%" PRIu64, peer,
		    why, n + 1);
	/* evhttp reads the EOF and frees the connection (and the descriptor). */
	shutdown(fd, SHUT_RDWR);
}

/* One connection just accepted: counted, or refused. */
static void
conn_admit(struct web *w, struct bufferevent *bev, int64_t now)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct connlimit_addr addr;
	struct web_conn *c;
	struct stat st;
	char peer[64];

	if (fd < 0 || fstat(fd, &st) < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;	/* already closed */
	/* Its number was another connection's, gone before the sweep saw it. */
	if ((c = conn_find(w, fd)) != NULL)
		conn_gone(w, c);
	connlimit_addr_from(&addr, (struct sockaddr *)&ss);
	if (addr.len == 0 || evutil_inet_ntop(addr.len == 4 ? AF_INET : AF_INET6, addr.bytes, peer,
	    sizeof(peer)) == NULL)
		ms_copy(peer, sizeof(peer), "?", 1);
	if (w->nconns >= (size_t)w->conf.max_connections) {
		conn_refuse(w, fd, peer, "max_connections", now);
		return;
	}
	if (connlimit_handshakes(w->addrs, &addr) >= (size_t)w->conf.max_connections_per_ip) {
		conn_refuse(w, fd, peer, "max_connections_per_ip", now);
		return;
	}
	/* Uncounted (out of memory, another family): still within max_connections. */
	if (connlimit_handshake_begin(w->addrs, &addr) < 0)
		addr.len = 0;
	c = conn_find(w, -1);
	*c = (struct web_conn){ .fd = fd, .dev = st.st_dev, .ino = st.st_ino, .addr = addr,
		.since_ms = now };
	w->nconns++;
}

static void
admit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;
	struct web_fresh *f;
	int64_t now = ms_mono_ms();

	while ((f = TAILQ_FIRST(&w->fresh)) != NULL) {
		TAILQ_REMOVE(&w->fresh, f, link);
		conn_admit(w, f->bev, now);
		bufferevent_decref(f->bev);
		free(f);
	}
}

/* evhttp's bufferevent for a new connection; its socket is set right after. */
static struct bufferevent *
conn_bev_cb(struct event_base *base, void *arg)
{
	struct web *w = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct web_fresh *f;

	if (bev == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return bev;	/* uncounted; it still has its request deadline from evhttp */
	/* Ours until admit_cb: the descriptor stays this socket even if evhttp frees it. */
	bufferevent_incref(bev);
	f->bev = bev;
	TAILQ_INSERT_TAIL(&w->fresh, f, link);
	event_active(w->admit, EV_TIMEOUT, 0);
	return bev;
}

/* Once a second: connections gone are uncounted, those past their deadline cut. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;
	int64_t now = ms_mono_ms();
	uint64_t n;

	for (size_t i = 0; i < (size_t)w->conf.max_connections; i++) {
		struct web_conn *c = &w->conns[i];

		if (c->fd < 0)
			continue;
		if (!conn_alive(c)) {
			conn_gone(w, c);
			continue;
		}
		if (c->stream || c->cut || now - c->since_ms < w->conf.request_timeout * 1000)
			continue;
		c->cut = true;
		w->stats.conn_timed_out++;
		if (ratelog_due(&w->timeout_log, now, &n))
			ms_info("event=request_timeout timeout_s=%" PRId64 " timed_out_since_last=%" PRIu64,
			    w->conf.request_timeout, n + 1);
		shutdown(c->fd, SHUT_RDWR);
	}
}

/* The slot of an evhttp connection, or NULL. */
static struct web_conn *
conn_of(struct web *w, struct evhttp_connection *conn)
{
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	return fd >= 0 ? conn_find(w, fd) : NULL;
}

/* A request came on req's connection: its deadline starts again; a stream has none. */
static void
conn_request(struct web *w, struct evhttp_request *req, bool stream)
{
	struct web_conn *c = conn_of(w, evhttp_request_get_connection(req));

	if (c == NULL)
		return;
	c->since_ms = ms_mono_ms();
	c->stream = c->stream || stream;
}

/* A live stream of conn ended from our side: its connection has a deadline again. */
static void
conn_stream_end(struct web *w, struct evhttp_connection *conn)
{
	struct web_conn *c = conn_of(w, conn);

	if (c == NULL)
		return;
	c->since_ms = ms_mono_ms();
	c->stream = false;
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	evconnlistener_enable(w->listener);
}

/* The daemon's one state, for accept_error_cb: its argument is evhttp's. */
static struct web *web_of_listener;

/* accept() failed (out of descriptors): rest a moment instead of trying again at once. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct web *w = web_of_listener;
	int e = EVUTIL_SOCKET_ERROR();
	uint64_t n;

	w->stats.accept_errors++;
	if (ratelog_due(&w->accept_log, ms_mono_ms(), &n))
		ms_warn("event=accept_failed reason=\"%s\" connections=%zu failed_since_last=%" PRIu64,
		    evutil_socket_error_to_string(e), w->nconns, n + 1);
	evconnlistener_disable(l);
	event_add(w->accept_resume, &(struct timeval){ 0, WEB_ACCEPT_PAUSE_MS * 1000 });
}

/*
 * web.max_connections within the open-file limit: raised up to the hard
 * limit when needed, else the connections lowered to fit.
 */
static void
conn_fit_nofile(struct web *w)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)w->conf.max_connections + WEB_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		int64_t fit = rl.rlim_cur > 16 + WEB_FD_RESERVE ? (int64_t)(rl.rlim_cur - WEB_FD_RESERVE) : 16;

		ms_warn("event=max_connections_lowered from=%" PRId64 " to=%" PRId64
		    " reason=\"open-file limit %llu (LimitNOFILE)\"", w->conf.max_connections, fit,
		    (unsigned long long)rl.rlim_cur);
		w->conf.max_connections = fit;
	}
}

/* --- live clients ------------------------------------------------------- */

static void
client_free(struct sse_client *cl)
{
	struct web *w = cl->w;
	struct pending *p;

	TAILQ_FOREACH(p, &w->pending, link)
		if (p->client == cl)
			p->client = NULL;
	TAILQ_REMOVE(&w->clients, cl, link);
	w->nclients--;
	free(cl);
}

static void
client_closed_cb(struct evhttp_connection *conn, void *arg)
{
	struct sse_client *cl = arg;

	ms_debug("event=stream_closed peer=%s", cl->peer);
	/*
	 * The browser went away (EOF, timeout): evhttp detached the unfinished
	 * request from the connection and leaves it to us; ending it frees it.
	 * A request still attached is freed by evhttp right after this.
	 */
	if (evhttp_request_get_connection(cl->req) == NULL)
		evhttp_send_reply_end(cl->req);
	client_free(cl);
}

/* Ends a client's stream from our side (slow reader, shutdown). */
static void
client_drop(struct sse_client *cl, const char *why)
{
	struct evhttp_connection *conn = cl->conn;

	ms_info("event=stream_dropped peer=%s reason=%s", cl->peer, why);
	conn_stream_end(cl->w, conn);
	evhttp_connection_set_closecb(conn, NULL, NULL);
	evhttp_send_reply_end(cl->req);
	client_free(cl);
}

static size_t
client_backlog(const struct sse_client *cl)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(cl->conn);

	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* All a client was sent reached its socket: the next page, if it is behind. */
static void
client_written_cb(struct evhttp_connection *conn, void *arg)
{
	struct sse_client *cl = arg;

	cl->full = false;
	if (cl->behind)
		client_page(cl);
}

/*
 * Queues bytes for one client. It is full once web.client_buffer bytes
 * wait: the one message that got there is sent whole (however big), and
 * nothing more is queued until all of it drained.
 */
static void
client_send(struct sse_client *cl, const char *p, size_t n)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL)
		return;
	if (evbuffer_add(b, p, n) == 0)
		evhttp_send_reply_chunk_with_cb(cl->req, b, client_written_cb, cl);
	evbuffer_free(b);
	if (!cl->full && client_backlog(cl) >= cl->w->conf.client_buffer) {
		cl->full = true;
		cl->full_seen = SIZE_MAX;
	}
}

/* An SSE message for one stream entry: "id: ..\nevent: alert\ndata: {json}\n\n". */
static int
sse_format(struct ms_buf *out, const redisReply *e)
{
	struct ms_json j;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !is_str(e->element[0]) ||
	    !web_stream_id_ok(e->element[0]->str))
		return -1;
	ms_buf_printf(out, "id: %s\nevent: alert\ndata: ", e->element[0]->str);
	/* One JSON line: the writer escapes every newline inside strings. */
	ms_json_init(&j, out);
	json_entry(&j, e);
	if (ms_json_finish(&j) < 0)
		return -1;
	return ms_buf_adds(out, "\n\n");
}

/* The id of a stream entry [id, [fields]], or NULL when it is not one. */
static const char *
entry_id(const redisReply *e)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !is_str(e->element[0]) ||
	    !web_stream_id_ok(e->element[0]->str))
		return NULL;
	return e->element[0]->str;
}

/*
 * The live reader's entries, one event each, to every client keeping up.
 * Each entry is formatted once; a client that fills up on the way is
 * behind from there and reads the rest from Redis when it has drained.
 */
static void
fan_out(struct web *w, const redisReply *entries)
{
	struct ms_buf b;
	struct sse_client *cl;

	if (entries == NULL || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return;
	ms_buf_init(&b, WEB_REPLY_CAP);
	for (size_t i = 0; i < entries->elements; i++) {
		const char *id = entry_id(entries->element[i]);
		bool formatted = false, ok = false;

		if (id == NULL)
			continue;
		TAILQ_FOREACH(cl, &w->clients, link) {
			if (cl->behind || web_stream_id_cmp(id, cl->sent_id) <= 0)
				continue;
			if (cl->full) {
				cl->behind = true;
				continue;
			}
			if (!formatted) {
				ms_buf_reset(&b);
				ok = sse_format(&b, entries->element[i]) == 0;
				formatted = true;
			}
			/* One too big to format (16 MiB) is passed over, never sent in part. */
			if (ok)
				client_send(cl, b.data, b.len);
			ms_copy(cl->sent_id, sizeof(cl->sent_id), id, strlen(id));
		}
	}
	ms_buf_fini(&b);
}

/* Asks Redis for the page of entries after cl->sent_id (when none is asked yet). */
static void
client_page(struct sse_client *cl)
{
	struct web *w = cl->w;
	char start[50], count[16];
	const char *argv[] = { "XRANGE", w->conf.redis_stream, start, "+", "COUNT", count };
	struct pending *p;

	if (cl->paging || cl->full || !w->q_up)
		return;	/* the answer, the drain or the keepalive tick comes back here */
	if ((p = pending_new(w, Q_BACKFILL, NULL)) == NULL)
		return;
	if (cl->sent_id[0])
		snprintf(start, sizeof(start), "(%s", cl->sent_id);
	else
		snprintf(start, sizeof(start), "-");
	snprintf(count, sizeof(count), "%d", WEB_PAGE_COUNT);
	p->client = cl;
	cl->paging = true;
	if (redisAsyncCommandArgv(w->q, query_cb, p, (int)MS_ARRAY_LEN(argv), argv, NULL) != REDIS_OK) {
		cl->paging = false;
		pending_done(p);
	}
}

/* A page for a client behind: sends what fits, then the next page or back to live. */
static void
client_paged(struct sse_client *cl, const redisReply *r)
{
	struct web *w = cl->w;
	struct ms_buf b;
	size_t i;

	cl->paging = false;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if (r)
			w->stats.redis_errors++;
		return;	/* the keepalive tick asks again */
	}
	ms_buf_init(&b, WEB_REPLY_CAP);
	for (i = 0; i < r->elements && !cl->full; i++) {
		const char *id = entry_id(r->element[i]);

		if (id == NULL || web_stream_id_cmp(id, cl->sent_id) <= 0)
			continue;
		ms_buf_reset(&b);
		if (sse_format(&b, r->element[i]) == 0)
			client_send(cl, b.data, b.len);
		ms_copy(cl->sent_id, sizeof(cl->sent_id), id, strlen(id));
	}
	ms_buf_fini(&b);
	if (i < r->elements)
		return;	/* full: the rest is asked again when it drained */
	/*
	 * Empty while behind the live reader: the entries between may have
	 * been added after this XRANGE ran and fanned out (past a client still
	 * behind) before its reply came. Ask once more before going live; a
	 * second empty page means they are gone (the stream was trimmed).
	 */
	if (r->elements == 0 && w->last_id[0] && !cl->asked_again &&
	    web_stream_id_cmp(cl->sent_id, w->last_id) < 0) {
		cl->asked_again = true;
		client_page(cl);
		return;
	}
	if (r->elements > 0)
		cl->asked_again = false;
	if (r->elements < WEB_PAGE_COUNT && w->last_id[0] &&
	    (r->elements == 0 || web_stream_id_cmp(cl->sent_id, w->last_id) >= 0)) {
		/*
		 * At the stream's end and not behind the live reader: it brings
		 * what follows. (Past it with nothing after: a stream made anew,
		 * or ids the page never had; follow the live reader from here.)
		 */
		if (r->elements == 0 && web_stream_id_cmp(cl->sent_id, w->last_id) > 0)
			ms_copy(cl->sent_id, sizeof(cl->sent_id), w->last_id, strlen(w->last_id));
		cl->behind = false;
		cl->asked_again = false;
		return;
	}
	if (r->elements > 0)
		client_page(cl);
}

/*
 * Answer of catchup_lua for a reconnecting client: "" when what it missed
 * is within web.stream_catchup, else the id to go on after. The browser is
 * told with a "gap" event carrying that id (its Last-Event-ID from then).
 */
static void
client_catchup(struct sse_client *cl, const redisReply *r)
{
	struct web *w = cl->w;
	char msg[160];
	int n;

	cl->paging = false;
	if (r && r->type == REDIS_REPLY_STRING && web_stream_id_ok(r->str) &&
	    web_stream_id_cmp(r->str, cl->sent_id) > 0) {
		n = snprintf(msg, sizeof(msg), "id: %s\nevent: gap\ndata: {\"max\":%" PRId64 "}\n\n",
		    r->str, w->conf.stream_catchup);
		if (n > 0 && (size_t)n < sizeof(msg))
			client_send(cl, msg, (size_t)n);
		ms_copy(cl->sent_id, sizeof(cl->sent_id), r->str, r->len);
		w->stats.sse_gaps++;
		ms_info("event=stream_gap peer=%s resume_after=%s max=%" PRId64, cl->peer, cl->sent_id,
		    w->conf.stream_catchup);
	} else if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		/* Without the count (scripts refused): everything it missed, in pages. */
		w->stats.redis_errors++;
		ms_warn("event=redis_error reason=\"%.200s\"", r ? r->str : "disconnected");
	}
	client_page(cl);
}

static void
keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;
	struct sse_client *cl, *next;

	for (cl = TAILQ_FIRST(&w->clients); cl; cl = next) {
		next = TAILQ_NEXT(cl, link);
		if (cl->full) {
			size_t n = client_backlog(cl);

			/* Slow: a full queue that did not shrink in a whole tick. */
			if (cl->full_seen != SIZE_MAX && n >= cl->full_seen) {
				w->stats.sse_dropped_slow++;
				client_drop(cl, "slow_reader");
				continue;
			}
			cl->full_seen = n;
			continue;
		}
		client_send(cl, ": keepalive\n\n", 13);
		if (cl->behind)
			client_page(cl);
	}
}

/* --- Redis -------------------------------------------------------------- */

/*
 * [total, agents]: at most ARGV[1] agents, the silent ones first – over
 * web.agents_max, a stopped agent must not be the one left out (which
 * ones were was the hash's order) – and how many there are.
 */
static const char agents_lua[] =
	"local ls = redis.call('HGETALL', 'minisoc:agents:last_seen')\n"
	"local max, out, rest = tonumber(ARGV[1]), {}, {}\n"
	"local function add(i)\n"
	"  local id = ls[i]\n"
	"  out[#out + 1] = { id, ls[i + 1], redis.call('HGETALL', 'minisoc:agent:' .. id),\n"
	"    redis.call('HGETALL', 'minisoc:agent:' .. id .. ':health') }\n"
	"end\n"
	"for i = 1, #ls, 2 do\n"
	"  if #out < max and redis.call('HGET', 'minisoc:agent:' .. ls[i], 'status') == 'silent' then\n"
	"    add(i)\n"
	"  else\n"
	"    rest[#rest + 1] = i\n"
	"  end\n"
	"end\n"
	"for _, i in ipairs(rest) do\n"
	"  if #out >= max then break end\n"
	"  add(i)\n"
	"end\n"
	"return { #ls / 2, out }\n";

/*
 * The register's systems: the hash minisoc:systems (id -> JSON record,
 * published by the collector), each with its summary from
 * minisoc:systems:compliance (id -> JSON, minisocctl report --publish)
 * and its agents: those the record lists, online when their
 * minisoc:agent:<id> status says so. Without a published register, the
 * systems of the compliance hash; else what agents carry (system, level
 * in minisoc:agent:<id>); else none. A record that is not JSON is passed
 * on as it is, its agents counted from the agents' hashes.
 */
static const char systems_lua[] =
	"local out = {}\n"
	"local reg = redis.call('HGETALL', 'minisoc:systems')\n"
	"local comp = redis.call('HGETALL', 'minisoc:systems:compliance')\n"
	"local cmap = {}\n"
	"for i = 1, #comp, 2 do cmap[comp[i]] = comp[i + 1] end\n"
	"local count, online, lvl = {}, {}, {}\n"
	"local ls = redis.call('HKEYS', 'minisoc:agents:last_seen')\n"
	"for i = 1, #ls do\n"
	"  local s = redis.call('HMGET', 'minisoc:agent:' .. ls[i], 'system', 'level', 'status')\n"
	"  if s[1] then\n"
	"    count[s[1]] = (count[s[1]] or 0) + 1; lvl[s[1]] = s[2]\n"
	"    if s[3] == 'online' then online[s[1]] = (online[s[1]] or 0) + 1 end\n"
	"  end\n"
	"end\n"
	"if #reg > 0 then\n"
	"  for i = 1, #reg, 2 do\n"
	"    local id = reg[i]\n"
	"    local total, on = count[id] or 0, online[id] or 0\n"
	"    local ok, rec = pcall(cjson.decode, reg[i + 1])\n"
	"    if ok and type(rec) == 'table' and type(rec.agent_ids) == 'table' then\n"
	"      total, on = 0, 0\n"
	"      for _, a in ipairs(rec.agent_ids) do\n"
	"        if type(a) == 'string' then\n"
	"          total = total + 1\n"
	"          if redis.call('HGET', 'minisoc:agent:' .. a, 'status') == 'online' then on = on + 1 end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"    out[#out + 1] = { id, reg[i + 1], '', total, cmap[id] or '', on }\n"
	"  end\n"
	"  return { 'register', out }\n"
	"end\n"
	"if #comp > 0 then\n"
	"  for i = 1, #comp, 2 do\n"
	"    local id = comp[i]\n"
	"    out[#out + 1] = { id, '', lvl[id] or '', count[id] or 0, comp[i + 1], online[id] or 0 }\n"
	"  end\n"
	"  return { 'compliance', out }\n"
	"end\n"
	"for id, n in pairs(count) do out[#out + 1] = { id, '', lvl[id] or '', n, '', online[id] or 0 } end\n"
	"if #out > 0 then return { 'agents', out } end\n"
	"return { 'none', out }\n";

/*
 * Alerts of the last 24 h by hour (0 = the last hour) and severity, read
 * newest first, at most ARGV[2] entries. The severity is the entry's
 * "severity" field, or the alert JSON's (today's "severity", or the ECS
 * rule.level / numeric event.severity).
 */
static const char chart_lua[] =
	"local now, cap = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local sev = { informational = 1, low = 2, medium = 3, high = 4, critical = 5 }\n"
	"local num = { 'informational', 'low', 'medium', 'high', 'critical' }\n"
	"local c = {}\n"
	"for i = 1, 24 * 6 do c[i] = 0 end\n"
	"local last, scanned = '+', 0\n"
	"local from = tostring(now - 86400000)\n"
	"while scanned < cap do\n"
	"  local n = math.min(1000, cap - scanned)\n"
	"  local b = redis.call('XREVRANGE', KEYS[1], last, from, 'COUNT', n)\n"
	"  if #b == 0 then break end\n"
	"  for _, e in ipairs(b) do\n"
	"    local ms = tonumber(string.match(e[1], '^(%d+)'))\n"
	"    local f, s, js = e[2], nil, nil\n"
	"    for k = 1, #f, 2 do\n"
	"      if f[k] == 'severity' then s = f[k + 1] elseif f[k] == 'alert' then js = f[k + 1] end\n"
	"    end\n"
	"    if not sev[s or ''] and js then\n"
	"      local ok, a = pcall(cjson.decode, js)\n"
	"      if ok and type(a) == 'table' then\n"
	"        s = a.severity\n"
	"        if type(a.rule) == 'table' and sev[a.rule.level or ''] then s = a.rule.level end\n"
	"        if not sev[s or ''] and type(a.event) == 'table' then s = num[a.event.severity or 0] end\n"
	"      end\n"
	"    end\n"
	"    local h = math.floor((now - ms) / 3600000)\n"
	"    if h < 0 then h = 0 end\n"
	"    if h < 24 then\n"
	"      local k = h * 6 + (sev[s or ''] or 6)\n"
	"      c[k] = c[k] + 1\n"
	"    end\n"
	"    scanned = scanned + 1\n"
	"  end\n"
	"  last = '(' .. b[#b][1]\n"
	"end\n"
	"return { scanned, c }\n";

/*
 * Whether more than ARGV[2] entries follow ARGV[1]: "" when not, else the
 * id of the ARGV[2] + 1-th newest, after which a reconnecting client goes
 * on. Counted in steps of 100 entries: big alerts stay small steps.
 */
static const char catchup_lua[] =
	"local cap, n, from = tonumber(ARGV[2]), 0, '+'\n"
	"while true do\n"
	"  local b = redis.call('XREVRANGE', KEYS[1], from, '(' .. ARGV[1], 'COUNT', math.min(100, cap + 1 - n))\n"
	"  if #b == 0 then return '' end\n"
	"  n = n + #b\n"
	"  if n > cap then return b[#b][1] end\n"
	"  from = '(' .. b[#b][1]\n"
	"end\n";

static void
pending_closed_cb(struct evhttp_connection *conn, void *arg)
{
	struct pending *p = arg;

	/* Detached (the browser went away): ours to free; else evhttp frees it now. */
	if (p->req && evhttp_request_get_connection(p->req) == NULL)
		p->orphan = true;
	else
		p->req = NULL;
}

static struct pending *
pending_new(struct web *w, enum q_kind kind, struct evhttp_request *req)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->w = w;
	p->kind = kind;
	p->req = req;
	if (req && kind != Q_BACKFILL && kind != Q_CATCHUP)
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), pending_closed_cb, p);
	TAILQ_INSERT_TAIL(&w->pending, p, link);
	return p;
}

/*
 * The request of p, to be answered now: its connection stops reporting to
 * p first (answering may free the request and its connection at once).
 * NULL when the browser went away.
 */
static struct evhttp_request *
pending_req(struct pending *p)
{
	struct evhttp_request *req = p->req;

	p->req = NULL;
	if (req && p->orphan) {
		evhttp_request_free(req);
		return NULL;
	}
	if (req && p->kind != Q_BACKFILL && p->kind != Q_CATCHUP)
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
	return req;
}

static void
pending_done(struct pending *p)
{
	(void)pending_req(p);
	TAILQ_REMOVE(&p->w->pending, p, link);
	free(p);
}

static void
chart_answer(struct web *w)
{
	struct evhttp_request *req;
	struct pending *p;

	while ((p = TAILQ_FIRST(&w->chart_wait)) != NULL) {
		TAILQ_REMOVE(&w->chart_wait, p, link);
		TAILQ_INSERT_TAIL(&w->pending, p, link);
		if ((req = pending_req(p)) != NULL) {
			if (w->chart.len)
				reply_json(req, 200, &w->chart);
			else
				reply_error(req, 503, "Unavailable", "Redis did not answer");
		}
		pending_done(p);
	}
}

static void
query_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pending *p = privdata;
	struct web *w = p->w;
	redisReply *r = reply;
	struct evhttp_request *req;
	struct ms_buf b;
	struct ms_json j;
	int code = 200;

	if (p->kind == Q_CHART) {
		w->chart_busy = false;
		if (r && r->type != REDIS_REPLY_ERROR) {
			ms_buf_reset(&w->chart);
			ms_json_init(&j, &w->chart);
			build_chart(&j, r, w->conf.chart_max_scan, w->chart_ms);
			if (ms_json_finish(&j) < 0)
				ms_buf_reset(&w->chart);
		} else {
			w->chart_ms = 0;
		}
		chart_answer(w);
		free(p);
		return;
	}
	if (p->kind == Q_BACKFILL || p->kind == Q_CATCHUP) {
		struct sse_client *cl = p->client;
		enum q_kind kind = p->kind;

		pending_done(p);
		if (cl && kind == Q_BACKFILL)
			client_paged(cl, r);
		else if (cl)
			client_catchup(cl, r);
		return;
	}
	if ((req = pending_req(p)) == NULL) {
		pending_done(p);
		return;
	}
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		w->stats.redis_errors++;
		ms_warn("event=redis_error reason=\"%.200s\"", r ? r->str : "disconnected");
		reply_error(req, 503, "Unavailable", "Redis did not answer");
		pending_done(p);
		return;
	}
	ms_buf_init(&b, WEB_REPLY_CAP);
	ms_json_init(&j, &b);
	switch (p->kind) {
	case Q_ALERTS:
		build_alerts(&j, r);
		break;
	case Q_ALERT:
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
			code = 404;
			ms_json_obj_open(&j);
			ms_json_key(&j, "error");
			ms_json_str(&j, "no such alert");
			ms_json_obj_close(&j);
		} else {
			json_entry(&j, r->element[0]);
		}
		break;
	case Q_AGENTS:
		build_agents(&j, r);
		break;
	case Q_SYSTEMS:
		build_systems(&j, r);
		break;
	default:
		break;
	}
	(void)ms_json_finish(&j);
	reply_json(req, code, &b);
	ms_buf_fini(&b);
	pending_done(p);
}

/* Sends one query for p; on failure answers 503 and frees p. */
static void
query(struct web *w, struct pending *p, int argc, const char **argv)
{
	if (p == NULL)
		return;
	if (!w->q_up || redisAsyncCommandArgv(w->q, query_cb, p, argc, argv, NULL) != REDIS_OK) {
		struct evhttp_request *req = pending_req(p);
		if (req)
			reply_error(req, 503, "Unavailable", "Redis is not connected");
		pending_done(p);
	}
}

static void
live_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct web *w = ac->data;
	redisReply *r = reply;

	if (w == NULL || r == NULL)
		return;	/* disconnecting: the disconnect callback reconnects */
	if (r->type == REDIS_REPLY_ERROR) {
		w->stats.redis_errors++;
		ms_warn("event=redis_error stream=%s reason=\"%.200s\"", w->conf.redis_stream, r->str);
		redisAsyncDisconnect(ac);
		return;
	}
	w->retry_s = 1;		/* Redis answers (signed in): the next loss is retried at once */
	if (privdata == NULL) {
		/* XREVRANGE + - COUNT 1: where the live reader starts. */
		const redisReply *e = r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0] : NULL;
		if (e && e->type == REDIS_REPLY_ARRAY && e->elements == 2 && is_str(e->element[0]))
			ms_copy(w->last_id, sizeof(w->last_id), e->element[0]->str, e->element[0]->len);
		else
			ms_copy(w->last_id, sizeof(w->last_id), "0-0", 3);
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
		/* XREAD: [[stream, [entries]]] */
		const redisReply *s = r->element[0];
		if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
		    s->element[1]->type == REDIS_REPLY_ARRAY && s->element[1]->elements) {
			const redisReply *ents = s->element[1];
			const redisReply *e = ents->element[ents->elements - 1];
			if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 && is_str(e->element[0]))
				ms_copy(w->last_id, sizeof(w->last_id), e->element[0]->str,
				    e->element[0]->len);
			fan_out(w, ents);
		}
	}
	live_next(w);
}

static void
live_next(struct web *w)
{
	char block[16], count[16];
	const char *argv[] = { "XREAD", "COUNT", count, "BLOCK", block, "STREAMS",
		w->conf.redis_stream, w->last_id };

	if (!w->live_up)
		return;
	if (w->last_id[0] == '\0') {
		const char *first[] = { "XREVRANGE", w->conf.redis_stream, "+", "-", "COUNT", "1" };
		redisAsyncCommandArgv(w->live, live_cb, NULL, 6, first, NULL);
		return;
	}
	snprintf(block, sizeof(block), "%d", WEB_BLOCK_MS);
	snprintf(count, sizeof(count), "%d", WEB_READ_COUNT);
	redisAsyncCommandArgv(w->live, live_cb, w, (int)MS_ARRAY_LEN(argv), argv, NULL);
}

/*
 * The next try at Redis: 1 s after it answered, doubling to 30 s while it
 * does not (a refused password, a Redis that will not come back): before,
 * every second for ever, two warnings a second for a wrong password.
 */
static void
retry_later(struct web *w)
{
	if (evtimer_pending(w->retry, NULL))
		return;
	event_add(w->retry, &(struct timeval){ w->retry_s, 0 });
	w->retry_s = w->retry_s < 16 ? w->retry_s * 2 : 30;
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct web *w = ac->data;

	if (w == NULL)
		return;
	if (status != REDIS_OK) {
		ms_warn("event=redis_connect_failed reason=\"%.200s\"", ac->errstr);
		if (ac == w->q)
			w->q = NULL;
		else
			w->live = NULL;
		retry_later(w);
		return;
	}
	if (ac == w->q) {
		w->q_up = true;
	} else {
		w->live_up = true;
		live_next(w);
	}
	ms_info("event=redis_connected role=%s", ac == w->q ? "query" : "live");
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct web *w = ac->data;

	if (w == NULL)
		return;
	if (ac == w->q) {
		w->q = NULL;
		w->q_up = false;
	} else {
		w->live = NULL;
		w->live_up = false;
	}
	ms_warn("event=redis_disconnected reason=\"%.200s\"", status == REDIS_OK ? "closed" : ac->errstr);
	retry_later(w);
}

static redisAsyncContext *
redis_open(struct web *w)
{
	redisAsyncContext *ac = w->conf.redis_unix[0] ? redisAsyncConnectUnix(w->conf.redis_unix) :
	    redisAsyncConnect(w->conf.redis_host, (int)w->conf.redis_port);

	if (ac == NULL || ac->err) {
		ms_warn("event=redis_connect_failed reason=\"%.200s\"", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		return NULL;
	}
	ac->data = w;
	if (redisLibeventAttach(ac, w->base) != REDIS_OK ||
	    ms_redis_auth_async(ac, w->conf.redis_user, w->redis_password) < 0) {
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	return ac;
}

static void
redis_connect(struct web *w)
{
	if (w->q == NULL)
		w->q = redis_open(w);
	if (w->live == NULL)
		w->live = redis_open(w);
	if (w->q == NULL || w->live == NULL)
		retry_later(w);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	redis_connect(arg);
}

/* --- API ---------------------------------------------------------------- */

/* The value of name in the request's query string, or "" when absent or bad. */
static void
query_arg(struct evhttp_request *req, const char *name, char *out, size_t outsz)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *q = u ? evhttp_uri_get_query(u) : NULL;

	if (q == NULL || web_form_get(q, strlen(q), name, out, outsz) < 0)
		out[0] = '\0';
}

static void
api_alerts(struct web *w, struct evhttp_request *req)
{
	char before[48], count[16], end[50];
	const char *argv[] = { "XREVRANGE", w->conf.redis_stream, "+", "-", "COUNT", count };
	int64_t n = w->conf.history;

	query_arg(req, "before", before, sizeof(before));
	query_arg(req, "count", count, sizeof(count));
	if (count[0] && ms_parse_i64(count, 1, w->conf.history, &n) < 0) {
		reply_error(req, 400, "Bad Request", "count out of range");
		return;
	}
	snprintf(count, sizeof(count), "%" PRId64, n);
	if (before[0]) {
		if (!web_stream_id_ok(before)) {
			reply_error(req, 400, "Bad Request", "bad stream id");
			return;
		}
		snprintf(end, sizeof(end), "(%s", before);
		argv[2] = end;
	}
	query(w, pending_new(w, Q_ALERTS, req), 6, argv);
}

static void
api_alert(struct web *w, struct evhttp_request *req)
{
	char id[48];
	const char *argv[] = { "XRANGE", w->conf.redis_stream, id, id };

	query_arg(req, "id", id, sizeof(id));
	if (!web_stream_id_ok(id)) {
		reply_error(req, 400, "Bad Request", "bad or missing id");
		return;
	}
	query(w, pending_new(w, Q_ALERT, req), 4, argv);
}

static void
api_agents(struct web *w, struct evhttp_request *req)
{
	char max[24];
	const char *argv[] = { "EVAL", agents_lua, "0", max };

	snprintf(max, sizeof(max), "%" PRId64, w->conf.agents_max);
	query(w, pending_new(w, Q_AGENTS, req), 4, argv);
}

static void
api_systems(struct web *w, struct evhttp_request *req)
{
	const char *argv[] = { "EVAL", systems_lua, "0" };

	query(w, pending_new(w, Q_SYSTEMS, req), 3, argv);
}

static void
api_chart(struct web *w, struct evhttp_request *req)
{
	char now[24], cap[24];
	const char *argv[] = { "EVAL", chart_lua, "1", w->conf.redis_stream, now, cap };
	struct pending *p;
	int64_t t = ms_now_ms();

	if (w->chart.len && t - w->chart_ms < WEB_CHART_TTL_MS) {
		reply_json(req, 200, &w->chart);
		return;
	}
	if ((p = pending_new(w, Q_CHART, req)) == NULL) {
		reply_error(req, 500, "Error", "out of memory");
		return;
	}
	/* Browsers asking meanwhile share the one computation. */
	TAILQ_REMOVE(&w->pending, p, link);
	TAILQ_INSERT_TAIL(&w->chart_wait, p, link);
	if (w->chart_busy)
		return;
	w->chart_ms = t;
	snprintf(now, sizeof(now), "%" PRId64, t);
	snprintf(cap, sizeof(cap), "%" PRId64, w->conf.chart_max_scan);
	{
		struct pending *q = calloc(1, sizeof(*q));
		if (q == NULL || !w->q_up ||
		    redisAsyncCommandArgv(w->q, query_cb, q, 6, argv, NULL) != REDIS_OK) {
			free(q);
			ms_buf_reset(&w->chart);
			chart_answer(w);
			return;
		}
		q->w = w;
		q->kind = Q_CHART;
		w->chart_busy = true;
	}
}

/* GET /api/stream: Server-Sent Events, one "alert" event per new entry. */
static void
api_stream(struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *last = evhttp_find_header(in, "Last-Event-ID");
	struct sse_client *cl;
	struct bufferevent *bev;
	struct timeval wt = { 60, 0 };

	/* HEAD: the head a stream would have, and no stream (nor a slot of max_clients). */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		security_headers(req, "text/event-stream; charset=utf-8", false);
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if ((int64_t)w->nclients >= w->conf.max_clients) {
		w->stats.sse_refused++;
		reply_error(req, 503, "Busy", "too many live streams (web.max_clients)");
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		reply_error(req, 500, "Error", "out of memory");
		return;
	}
	cl->w = w;
	cl->req = req;
	cl->conn = evhttp_request_get_connection(req);
	peer_of(req, cl->peer, sizeof(cl->peer));
	TAILQ_INSERT_TAIL(&w->clients, cl, link);
	w->nclients++;
	evhttp_connection_set_closecb(cl->conn, client_closed_cb, cl);
	conn_request(w, req, true);
	security_headers(req, "text/event-stream; charset=utf-8", false);
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	/* The browser sends nothing more: no read timeout; a reader stuck for a minute goes. */
	if ((bev = evhttp_connection_get_bufferevent(cl->conn)) != NULL)
		bufferevent_set_timeouts(bev, NULL, &wt);
	client_send(cl, "retry: 2000\n: hello\n\n", 21);
	ms_info("event=stream_open peer=%s clients=%zu", cl->peer, w->nclients);
	/* A new stream follows the live reader from where it is now. */
	ms_copy(cl->sent_id, sizeof(cl->sent_id), w->last_id, strlen(w->last_id));
	/*
	 * ... and is told so: an id with no data is no event, but it is the
	 * browser's Last-Event-ID, so a stream that drops before its first
	 * alert resumes from here instead of from nothing (missing whatever
	 * came while it reconnected).
	 */
	if (!(last && web_stream_id_ok(last)) && cl->sent_id[0]) {
		char idl[64];
		int n = snprintf(idl, sizeof(idl), "id: %s\n\n", cl->sent_id);

		if (n > 0 && (size_t)n < sizeof(idl))
			client_send(cl, idl, (size_t)n);
	}
	/*
	 * A reconnecting browser gets what it missed, page by page, the newest
	 * web.stream_catchup at most (past that a "gap" event says so).
	 */
	if (last && web_stream_id_ok(last)) {
		char cap[24];
		const char *argv[] = { "EVAL", catchup_lua, "1", w->conf.redis_stream, last, cap };
		struct pending *p;

		ms_copy(cl->sent_id, sizeof(cl->sent_id), last, strlen(last));
		cl->behind = true;
		snprintf(cap, sizeof(cap), "%" PRId64, w->conf.stream_catchup);
		if ((p = pending_new(w, Q_CATCHUP, NULL)) == NULL)
			return;	/* the keepalive tick pages it, without the count */
		p->client = cl;
		cl->paging = true;
		if (!w->q_up ||
		    redisAsyncCommandArgv(w->q, query_cb, p, (int)MS_ARRAY_LEN(argv), argv, NULL) != REDIS_OK) {
			cl->paging = false;
			pending_done(p);
		}
	}
}

static void
api_health(struct web *w, struct evhttp_request *req)
{
	struct ms_buf b;
	struct ms_json j;

	ms_buf_init(&b, 4096);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "redis");
	ms_json_bool(&j, w->q_up && w->live_up);
	ms_json_key(&j, "clients");
	ms_json_int(&j, (int64_t)w->nclients);
	ms_json_key(&j, "version");
	ms_json_str(&j, MINISOC_VERSION);
	ms_json_obj_close(&j);
	(void)ms_json_finish(&j);
	reply_json(req, w->q_up && w->live_up ? 200 : 503, &b);
	ms_buf_fini(&b);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	w->stats.requests++;
	conn_request(w, req, false);
	if (path == NULL) {
		struct sse_client *cl;
		/* evhttp calls again with a request that failed while we answered it. */
		TAILQ_FOREACH(cl, &w->clients, link)
			if (cl->req == req) {
				client_drop(cl, "write_error");
				return;
			}
	}
	if (path == NULL || path[0] != '/') {
		evhttp_send_error(req, 400, "Bad Request");
		return;
	}
	if (strcmp(path, "/login") == 0) {
		handle_login(w, req);
		return;
	}
	if (strcmp(path, "/app.css") == 0) {
		serve_asset(req, path, 200);	/* the login page's style; nothing secret */
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		api_health(w, req);
		return;
	}
	if (!authorized(w, req)) {
		w->stats.unauthorized++;
		if (strncmp(path, "/api/", 5) == 0) {
			reply_error(req, 401, "Unauthorized", "token required");
		} else {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/login");
			security_headers(req, "text/plain; charset=utf-8", false);
			evhttp_send_reply(req, 303, "See Other", NULL);
		}
		return;
	}
	if (strcmp(path, "/logout") == 0)
		handle_logout(w, req);
	else if (strcmp(path, "/api/alerts") == 0)
		api_alerts(w, req);
	else if (strcmp(path, "/api/alert") == 0)
		api_alert(w, req);
	else if (strcmp(path, "/api/agents") == 0)
		api_agents(w, req);
	else if (strcmp(path, "/api/systems") == 0)
		api_systems(w, req);
	else if (strcmp(path, "/api/chart") == 0)
		api_chart(w, req);
	else if (strcmp(path, "/api/stream") == 0)
		api_stream(w, req);
	else if (strcmp(path, "/") == 0)
		serve_asset(req, "/index.html", 200);
	else
		serve_asset(req, path, 200);
}

/* What ms_config_load cannot check by itself. */
static int
conf_check(const struct web_conf *cf, char *err, size_t errsz)
{
	if (strcmp(cf->secure_cookie, "auto") != 0 && strcmp(cf->secure_cookie, "always") != 0 &&
	    strcmp(cf->secure_cookie, "never") != 0) {
		snprintf(err, errsz, "web.secure_cookie: %.32s is not auto, always or never",
		    cf->secure_cookie);
		return -1;
	}
	return 0;
}

/* --- start and stop --------------------------------------------------- */

static int
token_load(struct web *w, char *err, size_t errsz)
{
	FILE *f = fopen(w->conf.token_file, "r");
	size_t n;

	if (f == NULL) {
		snprintf(err, errsz, "%.900s: cannot open the token file", w->conf.token_file);
		return -1;
	}
	n = fread(w->token, 1, sizeof(w->token) - 1, f);
	fclose(f);
	w->token[n] = '\0';
	n = strcspn(w->token, "\r\n");
	w->token[n] = '\0';
	w->token_len = n;
	/* It goes into a cookie: printable ASCII without ; , space or quotes. */
	for (size_t i = 0; i < n; i++)
		if (w->token[i] <= ' ' || w->token[i] > '~' || strchr(";,\"\\", w->token[i])) {
			snprintf(err, errsz, "%.900s: the token may hold printable ASCII only, without "
			    "spaces, ; , \" or \\", w->conf.token_file);
			return -1;
		}
	if (n < 16) {
		snprintf(err, errsz, "%.900s: the token must have at least 16 characters "
		    "(e.g. openssl rand -hex 32)", w->conf.token_file);
		return -1;
	}
	return 0;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct web *w = arg;

	if (sig == SIGUSR1) {
		ms_info("event=stats requests=%" PRIu64 " unauthorized=%" PRIu64 " login_failed=%" PRIu64
		    " clients=%zu sse_refused=%" PRIu64 " sse_dropped_slow=%" PRIu64
		    " sse_gaps=%" PRIu64 " redis_errors=%" PRIu64 " connections=%zu conn_refused=%" PRIu64
		    " conn_timed_out=%" PRIu64 " accept_errors=%" PRIu64, w->stats.requests,
		    w->stats.unauthorized, w->stats.login_failed, w->nclients, w->stats.sse_refused,
		    w->stats.sse_dropped_slow, w->stats.sse_gaps, w->stats.redis_errors, w->nconns,
		    w->stats.conn_refused, w->stats.conn_timed_out, w->stats.accept_errors);
		return;
	}
	ms_info("event=shutdown signal=%d", (int)sig);
	event_base_loopexit(w->base, NULL);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisoc-web -c FILE [-t] [-l LEVEL]\n"
	    "\n"
	    "The minisoc dashboard: live alerts (Server-Sent Events), alert details,\n"
	    "agents, information systems and a 24 h chart, read from the collector's\n"
	    "Redis. Serves plain HTTP on loopback; access needs the token.\n"
	    "\n"
	    "  -c, --config FILE     configuration (YAML), required\n"
	    "  -t, --check           check the configuration and the token file, then exit\n"
	    "  -l, --log-level LVL   debug, info, warn or error (overrides the file)\n"
	    "  -V, --version         print the version\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop; SIGUSR1 logs the counters.\n"
	    "\n"
	    "Configuration keys:\n");
	ms_config_print_keys(out, web_keys);
	fprintf(out, "\nExit status: 0 on a clean stop, 1 on a configuration or start-up error.\n");
}

int
main(int argc, char **argv)
{
	static struct web w;
	struct ms_daemon_args args;
	const char *config;
	const int signums[3] = { SIGTERM, SIGINT, SIGUSR1 };
	struct event *sigs[3] = { NULL };
	struct sse_client *cl;
	struct pending *p;
	struct web_fresh *f;
	struct evhttp_bound_socket *bound;
	bool check;
	char err[1024];
	int ch, rc = 1;

	TAILQ_INIT(&w.clients);
	TAILQ_INIT(&w.pending);
	TAILQ_INIT(&w.chart_wait);
	TAILQ_INIT(&w.fresh);
	if ((ch = ms_daemon_args(argc, argv, "web", usage, &args)) >= 0)
		return ch;
	config = args.config;
	check = args.check;
	if (ms_config_load(config, web_keys, &w.conf, NULL, err, sizeof(err)) < 0 ||
	    conf_check(&w.conf, err, sizeof(err)) < 0 || token_load(&w, err, sizeof(err)) < 0 ||
	    ms_redis_password_load(w.conf.redis_password_file, w.redis_password,
	    sizeof(w.redis_password), err, sizeof(err)) < 0) {
		ms_err("event=config_error reason=\"%s\"", err);
		return 1;
	}
	if (ms_daemon_log_level("web", &args, w.conf.log_level) < 0)
		return 1;
	if (check) {
		printf("%s: configuration and token OK\n", config);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	ms_buf_init(&w.chart, 1 << 20);
	w.retry_s = 1;
	conn_fit_nofile(&w);
	if ((w.base = event_base_new()) == NULL || (w.http = evhttp_new(w.base)) == NULL ||
	    (w.retry = evtimer_new(w.base, retry_cb, &w)) == NULL ||
	    (w.keepalive = event_new(w.base, -1, EV_PERSIST, keepalive_cb, &w)) == NULL ||
	    (w.admit = event_new(w.base, -1, 0, admit_cb, &w)) == NULL ||
	    (w.sweep = event_new(w.base, -1, EV_PERSIST, sweep_cb, &w)) == NULL ||
	    (w.accept_resume = evtimer_new(w.base, accept_resume_cb, &w)) == NULL ||
	    (w.addrs = connlimit_new(WEB_MAX_ADDRS)) == NULL ||
	    (w.conns = calloc((size_t)w.conf.max_connections, sizeof(*w.conns))) == NULL) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	for (size_t i = 0; i < (size_t)w.conf.max_connections; i++)
		w.conns[i].fd = -1;
	evhttp_set_max_headers_size(w.http, 16384);
	evhttp_set_max_body_size(w.http, 4096);
	evhttp_set_timeout(w.http, 30);
	evhttp_set_allowed_methods(w.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(w.http, request_cb, &w);
	evhttp_set_bevcb(w.http, conn_bev_cb, &w);
	if ((bound = evhttp_bind_socket_with_handle(w.http, w.conf.address,
	    (ev_uint16_t)w.conf.port)) == NULL) {
		ms_err("event=start_error reason=\"cannot listen on %s port %" PRId64 "\"", w.conf.address,
		    w.conf.port);
		goto out;
	}
	w.listener = evhttp_bound_socket_get_listener(bound);
	web_of_listener = &w;
	evconnlistener_set_error_cb(w.listener, accept_error_cb);
	ms_priv_root_said(w.conf.user, "web.user");
	if (ms_priv_drop(w.conf.user, err, sizeof(err)) < 0) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	if (ms_daemon_signals(w.base, signums, MS_ARRAY_LEN(signums), signal_cb, &w, sigs) < 0)
		goto out;
	event_add(w.keepalive, &(struct timeval){ WEB_KEEPALIVE_S, 0 });
	event_add(w.sweep, &(struct timeval){ 1, 0 });
	redis_connect(&w);
	ms_info("event=listening address=%s port=%" PRId64 " version=%s", w.conf.address, w.conf.port,
	    MINISOC_VERSION);
	event_base_dispatch(w.base);
	rc = 0;
	ms_info("event=stop");
out:
	while ((cl = TAILQ_FIRST(&w.clients)) != NULL)
		client_drop(cl, "shutdown");
	if (w.q) {
		w.q->data = NULL;
		redisAsyncFree(w.q);
	}
	if (w.live) {
		w.live->data = NULL;
		redisAsyncFree(w.live);
	}
	/* Queries freed with their context got no callback with data: free their state. */
	while ((p = TAILQ_FIRST(&w.pending)) != NULL)
		pending_done(p);
	while ((p = TAILQ_FIRST(&w.chart_wait)) != NULL) {
		TAILQ_REMOVE(&w.chart_wait, p, link);
		TAILQ_INSERT_TAIL(&w.pending, p, link);
		pending_done(p);
	}
	while ((f = TAILQ_FIRST(&w.fresh)) != NULL) {
		TAILQ_REMOVE(&w.fresh, f, link);
		bufferevent_decref(f->bev);
		free(f);
	}
	if (w.http)
		evhttp_free(w.http);
	for (size_t i = 0; i < MS_ARRAY_LEN(sigs); i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (w.retry)
		event_free(w.retry);
	if (w.keepalive)
		event_free(w.keepalive);
	if (w.admit)
		event_free(w.admit);
	if (w.sweep)
		event_free(w.sweep);
	if (w.accept_resume)
		event_free(w.accept_resume);
	connlimit_free(w.addrs);
	free(w.conns);
	ms_buf_fini(&w.chart);
	if (w.base)
		event_base_free(w.base);
	return rc;
}
