/*
 * enroll – the collector's enrolment listener (enroll.port).
 *
 * TLS with the collector's certificate; a client certificate is asked for
 * but not required (a new agent has none). One ENROLL frame in, one
 * ENROLL_RESULT frame out, then the connection closes:
 *
 *  - with a token: the CSR is checked first (a bad one does not burn the
 *    token), then one Redis script consumes the token atomically (so it is
 *    one-time even with several collectors on one Redis) and reserves the
 *    agent id; the certificate is signed with the token's agent id and
 *    system – never anything from the CSR – and recorded in
 *    minisoc:enroll:agents;
 *  - without a token but with a valid, unrevoked client certificate: a
 *    renewal for the id and system of that certificate, allowed only while
 *    it is the one on record (not revoked, not replaced).
 *
 * Each request opens its own Redis connection: enrolments are rare, and a
 * connection per request has no state to get wrong across Redis restarts.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "collector.h"
#include "detect.h"
#include "ms_json.h"
#include "ms_log.h"
#include "ms_pki.h"
#include "ms_proto.h"
#include "ms_redis.h"
#include "ms_tls.h"
#include "ms_util.h"
#include "sink.h"

/*
 * KEYS: token hash, agents hash. ARGV: now (ms). Returns {status, agent,
 * system, replace}. The token is marked used whatever follows: one try.
 */
static const char claim_lua[] =
	"local t = redis.call('HMGET', KEYS[1], 'agent', 'system', 'replace', 'expires_ms', 'used')\n"
	"if not t[1] then return {'token_unknown'} end\n"
	"if t[5] then return {'token_used', t[1]} end\n"
	"if tonumber(t[4]) <= tonumber(ARGV[1]) then return {'token_expired', t[1]} end\n"
	"redis.call('HSET', KEYS[1], 'used', ARGV[1])\n"
	"local cur = redis.call('HGET', KEYS[2], t[1])\n"
	"local live = cur and not string.find(cur, '\"revoked\":true', 1, true)\n"
	"if live and t[3] ~= '1' then return {'already_enrolled', t[1]} end\n"
	"if not live then\n"
	"  redis.call('HSET', KEYS[2], t[1], '{\"pending\":true,\"system\":\"' .. t[2] .. '\"}')\n"
	"end\n"
	"return {'ok', t[1], t[2], t[3]}\n";

/*
 * KEYS: agents hash, the id's serials (MS_ENROLL_SERIALS_KEY). ARGV: id, serial of
 * the presented certificate, new record, new serial. The presented
 * certificate stays valid until it expires (an agent that did not get the
 * new one keeps working): both serials are remembered for `pki revoke`.
 */
static const char renew_lua[] =
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not cur then return 'unknown' end\n"
	"if string.find(cur, '\"revoked\":true', 1, true) then return 'revoked' end\n"
	"if not string.find(cur, '\"serial\":\"' .. ARGV[2] .. '\"', 1, true) then\n"
	"  return 'superseded' end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"redis.call('SADD', KEYS[2], ARGV[2], ARGV[4])\n"
	"return 'ok'\n";

/*
 * KEYS: agents hash, the id's serials. ARGV: id, record, serial. The
 * record of a new certificate; with a --replace token the one it replaces
 * stays valid until it expires, so its serial is remembered as well.
 */
static const char issue_lua[] =
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"local old = cur and string.match(cur, '\"serial\":\"([0-9a-f]+)\"')\n"
	"if old then redis.call('SADD', KEYS[2], old) end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('SADD', KEYS[2], ARGV[3])\n"
	"return 'ok'\n";

/* KEYS: agents hash. ARGV: id. Gives back an id reserved by claim_lua (a refusal after it). */
static const char release_lua[] =
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if cur and string.find(cur, '\"pending\":true', 1, true) then\n"
	"  redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
	"return 1\n";

struct enroll {
	struct collector *c;
	struct evconnlistener *el;
	SSL_CTX *ctx;
	X509 *ca;			/* signs agent certificates */
	EVP_PKEY *ca_key;
	STACK_OF(X509) *ca_chain;	/* enroll.ca_cert's certificates below the root, sent along */
	size_t nconns;
	TAILQ_HEAD(, econn) conns;
	uint64_t enrolled, renewed, refused;
};

enum econn_state { EC_READ, EC_REDIS, EC_CLOSING };

struct econn {
	struct enroll *e;
	struct bufferevent *bev;
	SSL *ssl;
	struct event *timer;
	redisAsyncContext *ac;
	enum econn_state state;
	bool freeing;
	bool renewal;
	char peer[64];
	char agent[MS_PKI_MAX_ID + 1];
	char system[MS_PKI_MAX_ID + 1];
	char old_serial[80];
	char hostname[256];
	int refuse_code;		/* a refusal waiting for the id to be given back */
	char refuse_msg[512];
	X509 *issued;			/* waiting for Redis to record it */
	EVP_PKEY *pub;			/* the CSR's key */
	struct ms_buf out;
	TAILQ_ENTRY(econn) link;
};

static void
econn_free(struct econn *k)
{
	if (k->ac) {
		redisAsyncContext *ac = k->ac;
		k->freeing = true;
		k->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);	/* pending callbacks run now, with no reply */
	}
	if (k->timer)
		event_free(k->timer);
	if (k->bev)
		bufferevent_free(k->bev);
	X509_free(k->issued);
	EVP_PKEY_free(k->pub);
	ms_buf_fini(&k->out);
	k->e->nconns--;
	TAILQ_REMOVE(&k->e->conns, k, link);
	free(k);
}

static void
econn_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct econn *k = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		SSL_shutdown(k->ssl);
		econn_free(k);
	}
}

/*
 * Done with Redis: forget the context at once and let hiredis close it
 * (after the reply being handled, when called from a callback).
 */
static void
econn_redis_done(struct econn *k)
{
	redisAsyncContext *ac = k->ac;

	if (ac == NULL || k->freeing)
		return;
	k->ac = NULL;
	ac->data = NULL;
	redisAsyncDisconnect(ac);
}

/*
 * The SOC sees identities appear and failed attempts in its alert stream:
 * an enrolment (informational) and a refused token or renewal (medium: a
 * leaked, replayed or guessed token, or a revoked agent trying on). Not for
 * malformed requests or Redis trouble.
 */
static void
econn_alert(struct econn *k, int code, const char *msg)
{
	static struct alert a;	/* large (samples): off the stack */
	char tags[2][96];
	const char *tagv[2] = { tags[0], tags[1] };

	if (code != MS_ENROLL_OK && (code == MS_ENROLL_BAD_REQUEST || code == MS_ENROLL_UNAVAILABLE ||
	    code == MS_ENROLL_BAD_CSR))
		return;
	if (code == MS_ENROLL_OK && k->renewal)
		return;
	memset(&a, 0, sizeof(a));
	a.rule_id = code == MS_ENROLL_OK ? "minisoc-agent-enrolled" : "minisoc-enroll-refused";
	a.rule_title = code == MS_ENROLL_OK ? "An agent was enrolled (new certificate)" :
	    "An agent enrolment or renewal was refused";
	a.severity = code == MS_ENROLL_OK ? "informational" : "medium";
	ms_copy(a.agent_id, sizeof(a.agent_id), k->agent, strlen(k->agent));
	ms_copy(a.host, sizeof(a.host), k->hostname[0] ? k->hostname : k->peer,
	    strlen(k->hostname[0] ? k->hostname : k->peer));
	ms_copy(a.src_ip, sizeof(a.src_ip), k->peer, strlen(k->peer));
	a.count = 1;
	a.first_ms = a.last_ms = ms_now_ms();
	snprintf(a.samples[0], sizeof(a.samples[0]), "%s agent=%s system=%s peer=%s host=%s: %s",
	    k->renewal ? "renewal" : "enrolment", k->agent[0] ? k->agent : "-",
	    k->system[0] ? k->system : "-", k->peer, k->hostname[0] ? k->hostname : "-",
	    code == MS_ENROLL_OK ? "enrolled" : msg);
	a.n_samples = 1;
	snprintf(tags[0], sizeof(tags[0]), "minisoc.enroll.%s", ms_enroll_code_name(code));
	snprintf(tags[1], sizeof(tags[1]), "minisoc.system.%s", k->system[0] ? k->system : "none");
	a.tags = tagv;
	a.ntags = 2;
	collector_alert(k->e->c, &a);
}

#define REFUSED_FMT " peer=%s agent=%s host=%s code=%s reason=\"%s\" refused_total=%" PRIu64

/* Sends the result and closes once it is written. */
static void
econn_reply(struct econn *k, int code, const char *msg, const char *chain, size_t chain_len)
{
	struct enroll *e = k->e;

	if (code == MS_ENROLL_OK) {
		if (k->renewal)
			e->renewed++;
		else
			e->enrolled++;
	} else {
		const char *agent = k->agent[0] ? k->agent : "-";
		const char *host = k->hostname[0] ? k->hostname : "-";

		e->refused++;
		/* Each name written out: tests/docs/collector_events.sh finds it in the docs. */
		if (k->renewal)
			ms_warn("event=renew_refused" REFUSED_FMT, k->peer, agent, host,
			    ms_enroll_code_name(code), msg, e->refused);
		else
			ms_warn("event=enroll_refused" REFUSED_FMT, k->peer, agent, host,
			    ms_enroll_code_name(code), msg, e->refused);
	}
	{
		/* Next to the collector's other counters (minisoc:collector:stats). */
		char v[3][24];
		const char *kv[6] = { "enroll.enrolled", v[0], "enroll.renewed", v[1],
			"enroll.refused", v[2] };

		snprintf(v[0], sizeof(v[0]), "%" PRIu64, e->enrolled);
		snprintf(v[1], sizeof(v[1]), "%" PRIu64, e->renewed);
		snprintf(v[2], sizeof(v[2]), "%" PRIu64, e->refused);
		if (e->c->sink)
			collector_stats_hset(e->c, kv, 6);
	}
	econn_alert(k, code, msg);
	k->state = EC_CLOSING;
	econn_redis_done(k);
	bufferevent_disable(k->bev, EV_READ);
	ms_buf_reset(&k->out);
	if (ms_enroll_result_encode(&k->out, (uint16_t)code, msg, chain, chain_len) == 0)
		bufferevent_write(k->bev, k->out.data, k->out.len);
	bufferevent_setcb(k->bev, NULL, econn_flushed_cb, NULL, k);
	/* The write callback fires once the output is empty; the timer bounds the wait. */
	bufferevent_setwatermark(k->bev, EV_WRITE, 0, 0);
}

#define ISSUED_FMT " agent=%s system=%s peer=%s host=%s serial=%s not_after=%s total=%" PRIu64

/* The certificate is on record: send it with the CA certificates below the root. */
static void
econn_send_cert(struct econn *k)
{
	struct enroll *e = k->e;
	X509 *certs[8];
	size_t n = 0;
	struct ms_buf pem;
	char serial[80], na[40];
	int64_t not_after = ms_pki_cert_not_after(k->issued);

	certs[n++] = k->issued;
	for (int i = 0; i < sk_X509_num(e->ca_chain) && n < MS_ARRAY_LEN(certs); i++)
		certs[n++] = sk_X509_value(e->ca_chain, i);
	ms_buf_init(&pem, MS_ENROLL_MAX_RESULT - 2048);
	if (ms_pki_pem_certs(&pem, certs, n) < 0) {
		ms_buf_fini(&pem);
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "cannot encode the certificate", NULL, 0);
		return;
	}
	ms_pki_serial_hex(k->issued, serial, sizeof(serial));
	ms_fmt_time(na, sizeof(na), not_after * 1000);
	if (k->renewal)
		ms_info("event=cert_renewed" ISSUED_FMT, k->agent, k->system, k->peer,
		    k->hostname[0] ? k->hostname : "-", serial, na, e->renewed + 1);
	else
		ms_info("event=agent_enrolled" ISSUED_FMT, k->agent, k->system, k->peer,
		    k->hostname[0] ? k->hostname : "-", serial, na, e->enrolled + 1);
	econn_reply(k, MS_ENROLL_OK, k->renewal ? "renewed" : "enrolled", pem.data, pem.len);
	ms_buf_fini(&pem);
}

/* The record of the newly issued certificate (minisoc:enroll:agents). */
static void
record_json(struct econn *k, struct ms_buf *b)
{
	struct ms_json j;
	char serial[80], na[40], now[40];
	int64_t not_after = ms_pki_cert_not_after(k->issued);

	ms_pki_serial_hex(k->issued, serial, sizeof(serial));
	ms_fmt_time(na, sizeof(na), not_after * 1000);
	ms_fmt_time(now, sizeof(now), ms_now_ms());
	ms_json_init(&j, b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "system");
	ms_json_str(&j, k->system);
	ms_json_key(&j, "serial");
	ms_json_str(&j, serial);
	ms_json_key(&j, "not_after");
	ms_json_str(&j, na);
	ms_json_key(&j, "not_after_s");
	ms_json_int(&j, not_after);
	ms_json_key(&j, "issued");
	ms_json_str(&j, now);
	ms_json_key(&j, "how");
	ms_json_str(&j, k->renewal ? "renewal" : "enrolment");
	ms_json_key(&j, "host");
	ms_json_str(&j, k->hostname);
	ms_json_key(&j, "peer");
	ms_json_str(&j, k->peer);
	ms_json_obj_close(&j);
	ms_json_finish(&j);
}

/*
 * With a register of information systems (register.path), an agent listed
 * as an asset of one system is not certified for another: the register is
 * what alerts are attributed by. Unlisted agents and shared sensors pass.
 * 0, or -1 with why filled.
 */
static int
econn_register_ok(struct econn *k, char *why, size_t whysz)
{
	int level;
	const char *sys = registry_system(k->e->c, k->agent, &level);

	if (sys == NULL || level == 0 || strcmp(sys, k->system) == 0)
		return 0;
	snprintf(why, whysz, "the register puts agent %s in system %s, not %s", k->agent, sys,
	    k->system);
	return -1;
}

static void
release_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct econn *k = privdata;

	if (k == NULL || k->freeing)
		return;
	econn_reply(k, k->refuse_code, k->refuse_msg, NULL, 0);
}

/*
 * Refuses after claim_lua reserved the id: the id is given back first, and
 * the agent told once that is done (so a new try sees it free).
 */
static void
econn_refuse_claimed(struct econn *k, int code, const char *msg)
{
	const char *argv[] = { "EVAL", release_lua, "1", "minisoc:enroll:agents", k->agent };
	size_t argl[] = { 4, strlen(release_lua), 1, 21, strlen(k->agent) };

	k->refuse_code = code;
	ms_copy(k->refuse_msg, sizeof(k->refuse_msg), msg, strlen(msg));
	if (k->ac == NULL || k->freeing ||
	    redisAsyncCommandArgv(k->ac, release_cb, k, 5, argv, argl) != REDIS_OK)
		econn_reply(k, code, msg, NULL, 0);
}

static int
econn_sign(struct econn *k)
{
	struct ms_pki_profile p = { .kind = MS_PKI_AGENT, .cn = k->agent, .system = k->system,
		.validity_s = k->e->c->conf.enroll_validity_s };
	char err[256];

	if ((k->issued = ms_pki_issue(k->e->ca, k->e->ca_key, k->pub, &p, err, sizeof(err))) == NULL) {
		ms_err("event=enroll_sign_failed agent=%s reason=\"%s\"", k->agent, err);
		return -1;
	}
	return 0;
}

/* A reply we did not get (Redis away, or we are freeing). True when the caller must stop. */
static bool
redis_failed(struct econn *k, redisReply *r)
{
	if (k == NULL || k->freeing)
		return true;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		ms_err("event=enroll_redis_error peer=%s reason=\"%.200s\"", k->peer,
		    r ? r->str : k->ac && k->ac->errstr[0] ? k->ac->errstr : "no reply");
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "Redis unavailable: try again", NULL, 0);
		return true;
	}
	return false;
}

static void
record_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct econn *k = privdata;

	if (redis_failed(k, reply))
		return;
	econn_send_cert(k);
}

static void
claim_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct econn *k = privdata;
	redisReply *r = reply;
	const char *status;
	struct ms_buf rec;
	char serial[80], skey[sizeof(MS_ENROLL_SERIALS_KEY) + MS_PKI_MAX_ID];

	if (redis_failed(k, r))
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "unexpected Redis reply", NULL, 0);
		return;
	}
	status = r->element[0]->str;
	if (r->elements >= 2 && r->element[1]->type == REDIS_REPLY_STRING)
		ms_copy(k->agent, sizeof(k->agent), r->element[1]->str, r->element[1]->len);
	if (strcmp(status, "ok") != 0) {
		static const struct { const char *s; int code; const char *msg; } m[] = {
			{ "token_unknown", MS_ENROLL_TOKEN_UNKNOWN, "unknown token" },
			{ "token_used", MS_ENROLL_TOKEN_USED, "token already used" },
			{ "token_expired", MS_ENROLL_TOKEN_EXPIRED, "token expired" },
			{ "already_enrolled", MS_ENROLL_ALREADY_ENROLLED,
			  "agent id already enrolled; ask for a token made with --replace" },
		};
		for (size_t i = 0; i < MS_ARRAY_LEN(m); i++)
			if (strcmp(status, m[i].s) == 0) {
				econn_reply(k, m[i].code, m[i].msg, NULL, 0);
				return;
			}
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "unexpected Redis reply", NULL, 0);
		return;
	}
	if (r->elements < 3 || r->element[2]->type != REDIS_REPLY_STRING) {
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "unexpected Redis reply", NULL, 0);
		return;
	}
	ms_copy(k->system, sizeof(k->system), r->element[2]->str, r->element[2]->len);
	{
		char why[512];

		if (econn_register_ok(k, why, sizeof(why)) < 0) {
			econn_refuse_claimed(k, MS_ENROLL_NOT_ALLOWED, why);
			return;
		}
	}
	if (!ms_pki_id_ok(k->agent) || !ms_pki_id_ok(k->system) || econn_sign(k) < 0) {
		econn_refuse_claimed(k, MS_ENROLL_UNAVAILABLE, "cannot sign");
		return;
	}
	ms_buf_init(&rec, 8192);
	record_json(k, &rec);
	ms_pki_serial_hex(k->issued, serial, sizeof(serial));
	snprintf(skey, sizeof(skey), MS_ENROLL_SERIALS_KEY "%s", k->agent);
	{
		const char *argv[] = { "EVAL", issue_lua, "2", "minisoc:enroll:agents", skey, k->agent,
			rec.data, serial };
		size_t argl[] = { 4, strlen(issue_lua), 1, 21, strlen(skey), strlen(k->agent), rec.len,
			strlen(serial) };

		if (redisAsyncCommandArgv(ac, record_cb, k, 8, argv, argl) != REDIS_OK)
			econn_reply(k, MS_ENROLL_UNAVAILABLE, "Redis unavailable: try again", NULL, 0);
	}
	ms_buf_fini(&rec);
}

static void
renew_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct econn *k = privdata;
	redisReply *r = reply;

	if (redis_failed(k, r))
		return;
	if (r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_STRING) {
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "unexpected Redis reply", NULL, 0);
		return;
	}
	if (strcmp(r->str, "ok") == 0) {
		econn_send_cert(k);
		return;
	}
	econn_reply(k, MS_ENROLL_NOT_ALLOWED, strcmp(r->str, "revoked") == 0 ?
	    "certificate revoked" : strcmp(r->str, "superseded") == 0 ?
	    "this certificate was replaced by a newer one" :
	    "agent not enrolled through the enrolment service", NULL, 0);
}

static void
redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct econn *k = ac->data;

	if (k)
		k->ac = NULL;
}

static void
redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct econn *k = ac->data;

	/* On failure hiredis frees the context; the queued commands fail with no reply. */
	if (k && status != REDIS_OK)
		k->ac = NULL;
}

static int
econn_redis(struct econn *k)
{
	const struct collector_conf *cf = &k->e->c->conf;
	redisAsyncContext *ac = cf->redis_unix[0] ? redisAsyncConnectUnix(cf->redis_unix) :
	    redisAsyncConnect(cf->redis_host, (int)cf->redis_port);

	if (ac == NULL || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		return -1;
	}
	if (redisLibeventAttach(ac, k->e->c->base) != REDIS_OK) {
		redisAsyncFree(ac);
		return -1;
	}
	ac->data = k;
	if (ms_redis_auth_async(ac, cf->redis_user, cf->redis_password) < 0) {
		redisAsyncFree(ac);
		return -1;
	}
	redisAsyncSetConnectCallback(ac, redis_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_disconnect_cb);
	k->ac = ac;
	return 0;
}

/* A renewal: the id and system come from the verified client certificate. */
static void
econn_renew(struct econn *k)
{
	X509 *peer = SSL_get1_peer_certificate(k->ssl);
	struct ms_buf rec;
	char serial[80], skey[sizeof(MS_ENROLL_SERIALS_KEY) + MS_PKI_MAX_ID];
	int ok;

	k->renewal = true;
	ok = peer != NULL && SSL_get_verify_result(k->ssl) == X509_V_OK &&
	    ms_pki_cert_cn(peer, k->agent, sizeof(k->agent)) == 0 &&
	    ms_pki_cert_system(peer, k->system, sizeof(k->system)) == 0 &&
	    ms_pki_serial_hex(peer, k->old_serial, sizeof(k->old_serial)) == 0;
	X509_free(peer);
	if (!ok) {
		econn_reply(k, MS_ENROLL_BAD_REQUEST,
		    "no token, and no client certificate with an agent id and system", NULL, 0);
		return;
	}
	{
		char why[512];

		if (econn_register_ok(k, why, sizeof(why)) < 0) {
			econn_reply(k, MS_ENROLL_NOT_ALLOWED, why, NULL, 0);
			return;
		}
	}
	if (econn_sign(k) < 0) {
		econn_reply(k, MS_ENROLL_UNAVAILABLE, "cannot sign", NULL, 0);
		return;
	}
	ms_buf_init(&rec, 8192);
	record_json(k, &rec);
	ms_pki_serial_hex(k->issued, serial, sizeof(serial));
	snprintf(skey, sizeof(skey), MS_ENROLL_SERIALS_KEY "%s", k->agent);
	{
		const char *argv[] = { "EVAL", renew_lua, "2", "minisoc:enroll:agents", skey, k->agent,
			k->old_serial, rec.data, serial };
		size_t argl[] = { 4, strlen(renew_lua), 1, 21, strlen(skey), strlen(k->agent),
			strlen(k->old_serial), rec.len, strlen(serial) };

		if (econn_redis(k) < 0 ||
		    redisAsyncCommandArgv(k->ac, renew_cb, k, 9, argv, argl) != REDIS_OK)
			econn_reply(k, MS_ENROLL_UNAVAILABLE, "Redis unavailable: try again", NULL, 0);
		else
			k->state = EC_REDIS;
	}
	ms_buf_fini(&rec);
}

static void
econn_request(struct econn *k, const uint8_t *p, size_t len)
{
	struct ms_enroll_req r;
	const char *why;
	char err[256], hash[65], key[96], now[24];
	X509_REQ *req;

	if (ms_enroll_req_decode(p, len, &r, &why) < 0) {
		snprintf(err, sizeof(err), "malformed request: %s", why);
		econn_reply(k, MS_ENROLL_BAD_REQUEST, err, NULL, 0);
		return;
	}
	ms_copy(k->hostname, sizeof(k->hostname), r.hostname, strlen(r.hostname));
	/*
	 * Said by whoever reached the port, before any check: it goes into
	 * log lines (host=...), the record and an alert's host, so only what
	 * a host name holds is kept – a space, '=' or '"' would add fields of
	 * its own choosing to the refusal's log line.
	 */
	for (char *c = k->hostname; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '.' || *c == '-' || *c == '_'))
			*c = '?';
	/* The CSR first: a broken one must not use up the token. */
	if ((req = ms_pki_csr_parse(r.csr, r.csr_len, err, sizeof(err))) == NULL) {
		econn_reply(k, MS_ENROLL_BAD_CSR, err, NULL, 0);
		return;
	}
	k->pub = X509_REQ_get_pubkey(req);
	X509_REQ_free(req);
	if (k->pub == NULL) {
		econn_reply(k, MS_ENROLL_BAD_CSR, "request without a key", NULL, 0);
		return;
	}
	if (r.token[0] == '\0') {
		econn_renew(k);
		return;
	}
	ms_pki_token_hash(r.token, hash);
	snprintf(key, sizeof(key), "minisoc:enroll:token:%s", hash);
	snprintf(now, sizeof(now), "%" PRId64, ms_now_ms());
	{
		const char *argv[] = { "EVAL", claim_lua, "2", key, "minisoc:enroll:agents", now };
		size_t argl[] = { 4, strlen(claim_lua), 1, strlen(key), 21, strlen(now) };

		if (econn_redis(k) < 0 ||
		    redisAsyncCommandArgv(k->ac, claim_cb, k, 6, argv, argl) != REDIS_OK) {
			econn_reply(k, MS_ENROLL_UNAVAILABLE, "Redis unavailable: try again", NULL, 0);
			return;
		}
	}
	k->state = EC_REDIS;
}

static void
econn_read_cb(struct bufferevent *bev, void *arg)
{
	struct econn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t avail = evbuffer_get_length(in);
	struct ms_frame_hdr h;
	unsigned char *p;
	int rc;

	if (k->state != EC_READ || avail == 0)
		return;
	p = evbuffer_pullup(in, avail < MS_PROTO_HDR_LEN ? (ssize_t)avail : MS_PROTO_HDR_LEN);
	rc = ms_proto_hdr_parse(p, avail, MS_ENROLL_MAX_REQUEST, &h);
	if (rc == MS_PROTO_NEED_MORE)
		return;
	if (rc != MS_PROTO_OK || h.type != MS_MSG_ENROLL) {
		econn_reply(k, MS_ENROLL_BAD_REQUEST, rc != MS_PROTO_OK ? ms_proto_strerror(rc) :
		    "expected an ENROLL frame", NULL, 0);
		return;
	}
	if (avail < MS_PROTO_HDR_LEN + (size_t)h.len)
		return;
	bufferevent_disable(bev, EV_READ);
	p = evbuffer_pullup(in, (ssize_t)(MS_PROTO_HDR_LEN + h.len));
	econn_request(k, p + MS_PROTO_HDR_LEN, h.len);
}

static void
econn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct econn *k = arg;

	if (what & BEV_EVENT_CONNECTED) {
		econn_read_cb(bev, k);	/* the request may already be in */
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char why[256] = "connection closed";

		if (e)
			ERR_error_string_n(e, why, sizeof(why));
		ms_info("event=enroll_closed peer=%s reason=\"%s\"", k->peer, why);
		econn_free(k);
	}
}

static void
econn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct econn *k = arg;

	ms_warn("event=enroll_timeout peer=%s state=%d", k->peer, (int)k->state);
	econn_free(k);
}

static void
enroll_accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct enroll *e = arg;
	struct collector *c = e->c;
	struct econn *k;
	SSL *ssl;
	int64_t ms = c->conf.handshake_timeout_ms * 3;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	char host[64] = "?";
	int one = 1;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
	{
		/* At most 32 by default: counting them is cheaper than keeping a map. */
		int64_t same = 0;

		TAILQ_FOREACH(k, &e->conns, link)
			same += strcmp(k->peer, host) == 0;
		if (c->stopping || e->nconns >= (size_t)c->conf.enroll_max_conns ||
		    same >= c->conf.enroll_max_conns_per_ip) {
			e->refused++;
			ms_warn("event=enroll_refused peer=%s reason=%s", host,
			    c->stopping ? "shutting_down" : same >= c->conf.enroll_max_conns_per_ip ?
			    "max_connections_per_ip" : "max_connections");
			evutil_closesocket(fd);
			return;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	k->e = e;
	e->nconns++;
	TAILQ_INSERT_TAIL(&e->conns, k, link);
	ms_copy(k->peer, sizeof(k->peer), host, strlen(host));
	ms_buf_init(&k->out, MS_ENROLL_MAX_RESULT + MS_PROTO_HDR_LEN);
	if ((ssl = SSL_new(e->ctx)) == NULL) {
		evutil_closesocket(fd);
		econn_free(k);
		return;
	}
	k->bev = bufferevent_openssl_socket_new(c->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (k->bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		econn_free(k);
		return;
	}
	k->ssl = ssl;
	bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
	bufferevent_setcb(k->bev, econn_read_cb, NULL, econn_event_cb, k);
	/* Nothing past one request is buffered. */
	bufferevent_setwatermark(k->bev, EV_READ, 0, MS_ENROLL_MAX_REQUEST + MS_PROTO_HDR_LEN);
	/* One deadline for the whole exchange: handshake, request, Redis, reply. */
	if ((k->timer = evtimer_new(c->base, econn_timer_cb, k)) == NULL) {
		econn_free(k);
		return;
	}
	evtimer_add(k->timer, &tv);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

/*
 * The server context: the collector's certificate plus the CA, client
 * certificate optional. On reload (old set) the files are read again; when
 * the key is out of reach after dropping root, the loaded one is kept.
 */
static SSL_CTX *
enroll_ctx(struct enroll *e, SSL_CTX *old, char *err, size_t errsz)
{
	const struct collector_conf *cf = &e->c->conf;
	STACK_OF(X509) *cas = NULL;
	SSL_CTX *ctx;
	bool fresh = true;

	ctx = ms_tls_server_ctx_new(cf->tls_ca, cf->tls_cert, cf->tls_key, err, errsz);
	if (ctx == NULL && old != NULL) {
		ctx = ms_tls_server_ctx_renew(old, cf->tls_ca, err, errsz);
		fresh = false;	/* the old chain, CA included, comes along */
	}
	if (ctx == NULL)
		return NULL;
	/* A renewal presents a certificate (verified, CRL-checked); a first enrolment has none. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((cf->tls_crl[0] && ms_tls_ctx_load_crl(ctx, cf->tls_crl, err, errsz) < 0) ||
	    (cf->tls_allow_tls12 && ms_tls_ctx_allow_tls12(ctx) < 0))
		goto fail;
	if (fresh) {
		/*
		 * The CA goes with the collector's chain: an agent holding only the
		 * CA key's hash from its token finds its trust anchor here.
		 */
		if ((cas = ms_pki_chain_read(cf->tls_ca, err, errsz)) == NULL)
			goto fail;
		for (int i = 0; i < sk_X509_num(cas); i++)
			if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(cas, i)) != 1) {
				snprintf(err, errsz, "cannot add %s to the chain", cf->tls_ca);
				goto fail;
			}
		sk_X509_pop_free(cas, X509_free);
	}
	return ctx;
fail:
	sk_X509_pop_free(cas, X509_free);
	SSL_CTX_free(ctx);
	return NULL;
}

struct enroll *
enroll_new(struct collector *c, char *err, size_t errsz)
{
	const struct collector_conf *cf = &c->conf;
	struct enroll *e;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char addr[300];

	err[0] = '\0';
	if (cf->enroll_port == 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	e->c = c;
	TAILQ_INIT(&e->conns);
	if ((e->ca = ms_pki_cert_read(cf->enroll_ca_cert, err, errsz)) == NULL ||
	    (e->ca_key = ms_pki_key_read(cf->enroll_ca_key, err, errsz)) == NULL ||
	    (e->ca_chain = ms_pki_chain_read(cf->enroll_ca_cert, err, errsz)) == NULL)
		goto fail;
	if (X509_check_private_key(e->ca, e->ca_key) != 1 || X509_check_ca(e->ca) == 0) {
		snprintf(err, errsz, "enroll.ca_cert is not a CA matching enroll.ca_key");
		goto fail;
	}
	/* The root stays out of what is sent: the agent has it (pinned) already. */
	for (int i = sk_X509_num(e->ca_chain) - 1; i >= 0; i--) {
		X509 *x = sk_X509_value(e->ca_chain, i);
		if (X509_check_issued(x, x) == X509_V_OK) {
			sk_X509_delete(e->ca_chain, i);
			X509_free(x);
		}
	}
	if ((e->ctx = enroll_ctx(e, NULL, err, errsz)) == NULL)
		goto fail;
	if (strchr(cf->enroll_address, ':'))
		snprintf(addr, sizeof(addr), "[%s]:%lld", cf->enroll_address, (long long)cf->enroll_port);
	else
		snprintf(addr, sizeof(addr), "%s:%lld", cf->enroll_address, (long long)cf->enroll_port);
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errsz, "enroll.address: cannot parse \"%s\"", addr);
		goto fail;
	}
	e->el = evconnlistener_new_bind(c->base, enroll_accept_cb, e,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
	    (struct sockaddr *)&ss, sslen);
	if (e->el == NULL) {
		snprintf(err, errsz, "cannot listen on %s for enrolment: %s", addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	ms_info("event=enroll_listening address=%s validity_s=%lld", addr,
	    (long long)cf->enroll_validity_s);
	return e;
fail:
	enroll_free(e);
	return NULL;
}

int
enroll_check(const struct collector_conf *cf, char *err, size_t errsz)
{
	X509 *ca;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (cf->enroll_port == 0)
		return 0;
	if ((ca = ms_pki_cert_read(cf->enroll_ca_cert, err, errsz)) == NULL ||
	    (key = ms_pki_key_read(cf->enroll_ca_key, err, errsz)) == NULL)
		goto out;
	if (X509_check_ca(ca) == 0 || X509_check_private_key(ca, key) != 1) {
		snprintf(err, errsz, "enroll.ca_cert is not a CA matching enroll.ca_key");
		goto out;
	}
	if (ms_pki_cert_not_after(ca) <= (int64_t)time(NULL)) {
		snprintf(err, errsz, "enroll.ca_cert %s has expired", cf->enroll_ca_cert);
		goto out;
	}
	rc = 0;
out:
	X509_free(ca);
	EVP_PKEY_free(key);
	return rc;
}

void
enroll_reload(struct enroll *e)
{
	char err[1024];
	SSL_CTX *n;

	if (e == NULL)
		return;
	if ((n = enroll_ctx(e, e->ctx, err, sizeof(err))) == NULL) {
		ms_err("event=enroll_reload_failed reason=\"%s\" note=\"the previous TLS settings stay\"",
		    err);
		return;
	}
	SSL_CTX_free(e->ctx);
	e->ctx = n;
}

void
enroll_counts(const struct enroll *e, uint64_t n[3])
{
	n[0] = e->enrolled;
	n[1] = e->renewed;
	n[2] = e->refused;
}

void
enroll_free(struct enroll *e)
{
	if (e == NULL)
		return;
	if (e->el)
		evconnlistener_free(e->el);
	while (!TAILQ_EMPTY(&e->conns))
		econn_free(TAILQ_FIRST(&e->conns));
	if (e->enrolled || e->renewed || e->refused)
		ms_info("event=enroll_stats enrolled=%" PRIu64 " renewed=%" PRIu64 " refused=%" PRIu64,
		    e->enrolled, e->renewed, e->refused);
	SSL_CTX_free(e->ctx);
	X509_free(e->ca);
	EVP_PKEY_free(e->ca_key);
	sk_X509_pop_free(e->ca_chain, X509_free);
	free(e);
}
