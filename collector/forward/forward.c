/*
 * minisoc-forward – reads alerts and incident events from Redis streams
 * through a consumer group and forwards them to the national monitoring
 * center (see forward.h and docs/operations.md).
 *
 * Durability: the consumer group's pending list in Redis is the store. An
 * entry read is pending until XACKed, and it is XACKed only once it is
 * delivered (fwd_upstream.h: the receiver's TCP acknowledged all of its
 * bytes and the connection stayed healthy forward.confirm_ms longer), or
 * when it is not to be forwarded (filtered, malformed). After a restart
 * the pending entries of this consumer are read again first, then those
 * another consumer left pending (XAUTOCLAIM), then new ones. At least
 * once: the receiver deduplicates on the alert id (in MSG and SD).
 *
 * Memory is bounded: at most forward.max_inflight entries (and
 * FWD_MAX_WINDOW_BYTES of messages) are held; the rest waits in Redis.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "forward.h"
#include "fwd_upstream.h"
#include "ms_log.h"
#include "ms_map.h"
#include "ms_redis.h"
#include "ms_tls.h"
#include "ms_util.h"

#define FWD_MAX_WINDOW_BYTES (64u << 20)
#define FWD_MAX_JSON_NODES 100000
#define FWD_TICK_MS 50
#define FWD_NSTREAMS 2

enum { S_ALERTS = 0, S_INCIDENTS = 1 };

enum ent_state {
	ENT_LOOKUP,	/* an incident waiting for its alerts (EVAL in flight or to send) */
	ENT_READY,	/* frame built, not sent on the current connection */
	ENT_SENT,	/* handed to the connection as send number send_no */
	ENT_ACKED,	/* the receiver's TCP has it since acked_ms */
};

struct fwd;

struct fwd_entry {
	TAILQ_ENTRY(fwd_entry) link;
	struct fwd *f;
	int stream;
	char id[48];			/* stream entry id */
	char key[52];			/* "<stream>:<id>" for the map */
	enum ent_state state;
	bool lookup_sent;
	struct ms_jsonr *doc;		/* incident JSON while looking up */
	char *frame;			/* owned */
	size_t len;
	uint64_t send_no;
	int64_t acked_ms;
	unsigned sends;
};

TAILQ_HEAD(fwd_entryq, fwd_entry);

struct fwd_stats {
	uint64_t read, forwarded, filtered, failed, retried, missing, alerts, incidents;
	uint64_t redis_errors, severity_unknown;
};

struct fwd {
	struct fwd_conf conf;
	struct event_base *base;
	struct fwd_upstream *up;
	redisAsyncContext *ac;
	bool redis_up, group_ready;
	unsigned init_pending;
	struct event *redis_retry, *tick, *stats_ev, *metrics_ev, *stop_ev;
	int64_t redis_backoff_ms;
	const char *streams[FWD_NSTREAMS];
	unsigned nstreams;
	char hist[FWD_NSTREAMS][48];	/* history cursor ("0" …) */
	bool hist_done[FWD_NSTREAMS];
	char claim[FWD_NSTREAMS][48];	/* XAUTOCLAIM cursor */
	bool claim_due;
	unsigned claim_stream;
	int64_t next_claim_ms;
	bool reading;			/* a read or claim in flight */
	struct fwd_entryq win;
	size_t nwin, win_bytes;
	struct ms_map *keys;		/* key -> entry */
	int min_sev;
	struct fwd_stats st;
	struct ms_buf buf;
	bool stopping;
	int64_t stop_deadline_ms;
};

static void redis_connect(struct fwd *f);
static void read_more(struct fwd *f);
static void pump(struct fwd *f);

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisoc-forward -c FILE [-t] [-l LEVEL]\n"
	    "\n"
	    "Forwards minisoc alerts at or above a severity, and incidents (as IODEF),\n"
	    "from Redis to an upstream receiver (the national monitoring center) as\n"
	    "RFC 5424 syslog over mutual TLS (RFC 5425). Nothing is lost while the\n"
	    "receiver is down: entries stay pending in Redis until delivered.\n"
	    "\n"
	    "  -c, --config FILE     configuration (YAML), required\n"
	    "  -t, --check           check the configuration and certificates, then exit\n"
	    "  -l, --log-level LVL   debug, info, warn or error (overrides the file)\n"
	    "  -V, --version         print the version\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop after what was sent is confirmed (at most\n"
	    "forward.shutdown_timeout_ms); SIGUSR1 logs the counters.\n"
	    "\n"
	    "Configuration keys:\n");
	fwd_conf_usage(out);
	fprintf(out, "\nExit status: 0 on a clean stop, 1 on a configuration or start-up error.\n");
}

static void
timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(ev, &tv);
}

/* ---- the window ---- */

static void
ent_free(struct fwd_entry *e)
{
	if (e == NULL)
		return;
	ms_jsonr_free(e->doc);
	free(e->frame);
	free(e);
}

static void
win_remove(struct fwd *f, struct fwd_entry *e)
{
	TAILQ_REMOVE(&f->win, e, link);
	f->nwin--;
	f->win_bytes -= e->len;
	ms_map_del(f->keys, e->key, strlen(e->key));
	ent_free(e);
}

static void
redis_cmd(struct fwd *f, redisCallbackFn *cb, void *priv, int argc, const char **argv,
    const size_t *argl)
{
	if (!f->redis_up || redisAsyncCommandArgv(f->ac, cb, priv, argc, argv, argl) != REDIS_OK) {
		/* No connection: the reply callback learns it, as for a lost one. */
		if (cb)
			cb(f->ac, NULL, priv);
	}
}

static void
xack_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fwd *f = priv;
	redisReply *r = reply;

	/* Lost XACKs are harmless: the entries come back after a restart (duplicates). */
	if (r && r->type == REDIS_REPLY_ERROR) {
		f->st.redis_errors++;
		ms_err("event=xack_failed reason=\"%.200s\"", r->str);
	}
}

/* Acknowledges ids of one stream (a batch). */
static void
xack(struct fwd *f, int stream, const char **ids, size_t n)
{
	const char *argv[3 + 256];
	size_t argl[3 + 256];

	while (n > 0) {
		size_t k = n > 256 ? 256 : n;
		argv[0] = "XACK";
		argv[1] = f->streams[stream];
		argv[2] = f->conf.group;
		for (size_t i = 0; i < k; i++)
			argv[3 + i] = ids[i];
		for (size_t i = 0; i < 3 + k; i++)
			argl[i] = strlen(argv[i]);
		redis_cmd(f, xack_reply_cb, f, (int)(3 + k), argv, argl);
		ids += k;
		n -= k;
	}
}

static void
xack_one(struct fwd *f, int stream, const char *id)
{
	xack(f, stream, &id, 1);
}

/* Entries delivered (acknowledged by TCP, then healthy for confirm_ms): XACK and forget. */
static void
confirm(struct fwd *f, bool all_acked)
{
	int64_t now = ms_mono_ms();
	const char *ids[FWD_NSTREAMS][256];
	size_t n[FWD_NSTREAMS] = { 0 };
	struct fwd_entry *e, *next;

	/* Without Redis the XACKs would be lost: keep them until it is back. */
	if (!f->redis_up)
		return;
	for (e = TAILQ_FIRST(&f->win); e; e = next) {
		next = TAILQ_NEXT(e, link);
		if (e->state != ENT_ACKED || (!all_acked && now - e->acked_ms < f->conf.confirm_ms))
			continue;
		/* The id must outlive the XACK call: send the batch before freeing. */
		ids[e->stream][n[e->stream]++] = e->id;
		f->st.forwarded++;
		if (n[e->stream] == 256) {
			xack(f, e->stream, ids[e->stream], 256);
			n[e->stream] = 0;
			/* the entries named are freed below, after their batch went out */
		}
	}
	for (int s = 0; s < FWD_NSTREAMS; s++)
		if (n[s])
			xack(f, s, ids[s], n[s]);
	/* hiredis formatted the commands already: the ids may go now. */
	for (e = TAILQ_FIRST(&f->win); e; e = next) {
		next = TAILQ_NEXT(e, link);
		if (e->state == ENT_ACKED && (all_acked || now - e->acked_ms >= f->conf.confirm_ms))
			win_remove(f, e);
	}
}

/* ---- building what is sent ---- */

static const struct fwd_syslog_opts *
syslog_opts(const struct fwd *f, struct fwd_syslog_opts *o)
{
	o->hostname = f->conf.syslog_hostname;
	o->app_name = f->conf.syslog_app_name;
	o->facility = (int)f->conf.syslog_facility;
	o->sd_id = f->conf.syslog_sd_id;
	o->bom = f->conf.syslog_bom;
	return o;
}

/* Keeps the frame in f->buf for e; 0, or -1 (counted, logged, XACKed by the caller). */
static int
ent_take_frame(struct fwd *f, struct fwd_entry *e)
{
	if ((e->frame = malloc(f->buf.len)) == NULL)
		return -1;
	memcpy(e->frame, f->buf.data, f->buf.len);
	e->len = f->buf.len;
	f->win_bytes += e->len;
	e->state = ENT_READY;
	return 0;
}

static int
build_alert(struct fwd *f, struct fwd_entry *e, const char *json, size_t len, bool *skip)
{
	struct fwd_syslog_opts o;
	struct fwd_alert_view v;
	struct ms_jsonr *doc;
	char err[128];
	int rc = -1;

	*skip = false;
	if ((doc = ms_jsonr_parse(json, len, FWD_MAX_JSON_NODES, err, sizeof(err))) == NULL) {
		ms_err("event=alert_malformed entry=%s reason=\"%s\"", e->id, err);
		return -1;
	}
	fwd_alert_view(ms_jsonr_root(doc), &v);
	if (v.sev == FWD_SEV_UNKNOWN) {
		/* Better one alert too many upstream than a serious one missing. */
		f->st.severity_unknown++;
		ms_warn("event=alert_severity_unknown entry=%s note=\"forwarded\"", e->id);
	} else if (v.sev < f->min_sev) {
		*skip = true;
		rc = 0;
		goto out;
	}
	{
		const struct fwd_sd_param sd[] = {
			{ "id", v.id }, { "entry", e->id }, { "severity", v.sev >= 0 ? fwd_sev_name(v.sev) : NULL },
			{ "rule", v.rule_id }, { "host", v.host }, { "src_ip", v.src_ip },
		};
		ms_buf_reset(&f->buf);
		if (fwd_msg_syslog(&f->buf, syslog_opts(f, &o), "alert", v.sev, v.time, ms_now_ms(), sd,
		    MS_ARRAY_LEN(sd), json, len) < 0) {
			ms_err("event=alert_too_big entry=%s id=%s bytes=%zu max=%" PRIu64, e->id,
			    v.id ? v.id : "-", len, f->conf.max_message);
			goto out;
		}
	}
	rc = ent_take_frame(f, e);
	f->st.alerts += rc == 0;
out:
	ms_jsonr_free(doc);
	return rc;
}

/* Builds the IODEF message of an incident whose alerts (JSON or NULL) are known. */
static int
build_incident(struct fwd *f, struct fwd_entry *e, const char *const *alerts, size_t nalerts)
{
	const struct ms_jv *inc = ms_jsonr_root(e->doc);
	struct ms_jsonr **docs = NULL;
	const struct ms_jv **roots = NULL;
	struct fwd_iodef_opts io = { f->conf.iodef_name, f->conf.iodef_lang,
		f->conf.iodef_contact_name, f->conf.iodef_contact_email,
		(size_t)f->conf.iodef_max_alerts };
	struct fwd_syslog_opts o;
	struct ms_buf xml;
	char err[128];
	int rc = -1;
	const struct ms_jv *sev = ms_jv_get(inc, "severity");
	int rank = fwd_sev_rank(sev);

	ms_buf_init(&xml, f->conf.max_message);
	if (nalerts && ((docs = calloc(nalerts, sizeof(*docs))) == NULL ||
	    (roots = calloc(nalerts, sizeof(*roots))) == NULL))
		goto out;
	for (size_t i = 0; i < nalerts; i++) {
		if (alerts[i] == NULL)
			continue;
		docs[i] = ms_jsonr_parse(alerts[i], strlen(alerts[i]), FWD_MAX_JSON_NODES, err,
		    sizeof(err));
		roots[i] = ms_jsonr_root(docs[i]);
	}
	if (fwd_iodef(&xml, &io, inc, roots, nalerts, ms_now_ms()) < 0) {
		ms_err("event=incident_failed entry=%s reason=\"no id, or bigger than forward.max_message\"",
		    e->id);
		goto out;
	}
	{
		const struct fwd_sd_param sd[] = {
			{ "id", ms_jv_path_str(inc, "id") }, { "entry", e->id },
			{ "severity", rank >= 0 ? fwd_sev_name(rank) : NULL },
			{ "status", ms_jv_path_str(inc, "status") },
		};
		ms_buf_reset(&f->buf);
		if (fwd_msg_syslog(&f->buf, syslog_opts(f, &o), "incident", rank,
		    ms_jv_path_str(inc, "updated"), ms_now_ms(), sd, MS_ARRAY_LEN(sd), xml.data,
		    xml.len) < 0) {
			ms_err("event=incident_failed entry=%s reason=\"bigger than forward.max_message\"",
			    e->id);
			goto out;
		}
	}
	rc = ent_take_frame(f, e);
	f->st.incidents += rc == 0;
out:
	for (size_t i = 0; docs && i < nalerts; i++)
		ms_jsonr_free(docs[i]);
	free(docs);
	free(roots);
	ms_buf_fini(&xml);
	ms_jsonr_free(e->doc);
	e->doc = NULL;
	return rc;
}

/*
 * Looks the incident's alerts up in the alert stream: an alert id is a
 * UUIDv7, whose first 48 bits are the ms it was raised, and the entry was
 * added within moments of that, so each search covers a short range of
 * the stream (server-side, one script for all of them). ARGV[i] is the id
 * in quotes: alerts without that text are passed over unparsed; the one
 * taken is the alert whose own id it is (read as fwd_msg.c's names_id
 * reads it: "id", else "event.id", a dotted key or nested), not an earlier
 * one that carries the id in another field (a log line, a user name).
 */
static const char lookup_lua[] =
	"local function own_id(js)\n"
	"  local ok, a = pcall(cjson.decode, js)\n"
	"  if not ok or type(a) ~= 'table' then return nil end\n"
	"  if type(a.id) == 'string' and a.id ~= '' then return a.id end\n"
	"  local v = a['event.id']\n"
	"  if v == nil and type(a.event) == 'table' then v = a.event.id end\n"
	"  if type(v) == 'string' and v ~= '' then return v end\n"
	"  return nil\n"
	"end\n"
	"local out = {}\n"
	"for i = 1, #ARGV, 3 do\n"
	"  local found = false\n"
	"  local id = string.sub(ARGV[i], 2, -2)\n"
	"  if ARGV[i + 1] ~= '' then\n"
	"    local es = redis.call('XRANGE', KEYS[1], ARGV[i + 1], ARGV[i + 2], 'COUNT', 20000)\n"
	"    for _, e in ipairs(es) do\n"
	"      local fl = e[2]\n"
	"      for j = 1, #fl, 2 do\n"
	"        if fl[j] == 'alert' and string.find(fl[j + 1], ARGV[i], 1, true) and\n"
	"            own_id(fl[j + 1]) == id then\n"
	"          found = fl[j + 1]; break\n"
	"        end\n"
	"      end\n"
	"      if found then break end\n"
	"    end\n"
	"  end\n"
	"  out[#out + 1] = found\n"
	"end\n"
	"return out\n";

static void
lookup_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fwd_entry *e = priv;
	struct fwd *f = e->f;
	redisReply *r = reply;
	const char **alerts = NULL;
	const char *ids[256];
	size_t n;

	e->lookup_sent = false;
	if (r == NULL)
		return;		/* Redis gone: looked up again once it is back */
	n = fwd_incident_alert_ids(ms_jsonr_root(e->doc), ids, MS_ARRAY_LEN(ids));
	if (n > (size_t)f->conf.iodef_max_alerts)
		n = (size_t)f->conf.iodef_max_alerts;
	if (r->type == REDIS_REPLY_ERROR) {
		f->st.redis_errors++;
		ms_warn("event=incident_lookup_failed entry=%s reason=\"%.200s\" note=\"sent without "
		    "the alerts' details\"", e->id, r->str);
	} else if (r->type == REDIS_REPLY_ARRAY && n && (alerts = calloc(n, sizeof(*alerts))) != NULL) {
		for (size_t i = 0; i < n && i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING)
				alerts[i] = r->element[i]->str;
	}
	if (build_incident(f, e, alerts, alerts ? n : 0) < 0) {
		f->st.failed++;
		xack_one(f, e->stream, e->id);
		win_remove(f, e);
	}
	free(alerts);
	pump(f);
	read_more(f);
}

static void
lookup_send(struct fwd *f, struct fwd_entry *e)
{
	const char *ids[256];
	const char *argv[4 + 3 * 256];
	size_t argl[4 + 3 * 256];
	char q[256][64], a[256][24], b[256][24];
	size_t n, k = 0;

	n = fwd_incident_alert_ids(ms_jsonr_root(e->doc), ids, MS_ARRAY_LEN(ids));
	if (n > (size_t)f->conf.iodef_max_alerts)
		n = (size_t)f->conf.iodef_max_alerts;
	argv[k++] = "EVAL";
	argv[k++] = lookup_lua;
	argv[k++] = "1";
	argv[k++] = f->streams[S_ALERTS];
	for (size_t i = 0; i < n; i++) {
		int64_t ms = fwd_uuid7_ms(ids[i]);

		snprintf(q[i], sizeof(q[i]), "\"%.60s\"", ids[i]);
		if (ms >= 0) {
			snprintf(a[i], sizeof(a[i]), "%" PRId64, ms > 60000 ? ms - 60000 : 0);
			snprintf(b[i], sizeof(b[i]), "%" PRId64, ms + 600000);
		} else {
			a[i][0] = b[i][0] = '\0';	/* not a UUIDv7: not searched */
		}
		argv[k++] = q[i];
		argv[k++] = a[i];
		argv[k++] = b[i];
	}
	for (size_t i = 0; i < k; i++)
		argl[i] = strlen(argv[i]);
	e->lookup_sent = true;
	redis_cmd(f, lookup_reply_cb, e, (int)k, argv, argl);
}

/* ---- reading the streams ---- */

/* One stream entry [id, [field, value, …] or nil]. */
static void
take_entry(struct fwd *f, int stream, const redisReply *r)
{
	const char *field = stream == S_ALERTS ? "alert" : "incident";
	const redisReply *fl;
	const char *val = NULL;
	size_t vlen = 0;
	struct fwd_entry *e = NULL;
	char key[52];
	bool skip = false;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(e->id))
		return;
	snprintf(key, sizeof(key), "%d:%s", stream, r->element[0]->str);
	if (ms_map_get(f->keys, key, strlen(key)) != NULL)
		return;		/* already held (read again after a Redis reconnect, or claimed) */
	f->st.read++;
	fl = r->element[1];
	if (fl->type != REDIS_REPLY_ARRAY) {
		/* Pending, but trimmed from the stream (MAXLEN) before it was delivered. */
		f->st.missing++;
		ms_err("event=entry_missing stream=%s entry=%s reason=\"trimmed from the stream before "
		    "it was forwarded\"", f->streams[stream], r->element[0]->str);
		xack_one(f, stream, r->element[0]->str);
		return;
	}
	for (size_t i = 0; i + 1 < fl->elements; i += 2)
		if (fl->element[i]->type == REDIS_REPLY_STRING && strcmp(fl->element[i]->str, field) == 0 &&
		    fl->element[i + 1]->type == REDIS_REPLY_STRING) {
			val = fl->element[i + 1]->str;
			vlen = fl->element[i + 1]->len;
		}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;		/* stays pending; read again after a restart */
	e->f = f;
	e->stream = stream;
	ms_copy(e->id, sizeof(e->id), r->element[0]->str, r->element[0]->len);
	ms_copy(e->key, sizeof(e->key), key, strlen(key));
	if (val == NULL) {
		ms_err("event=entry_malformed stream=%s entry=%s reason=\"no %s field\"",
		    f->streams[stream], e->id, field);
		goto failed;
	}
	if (stream == S_ALERTS) {
		if (build_alert(f, e, val, vlen, &skip) < 0)
			goto failed;
		if (skip) {
			f->st.filtered++;
			xack_one(f, stream, e->id);
			ent_free(e);
			return;
		}
	} else {
		char err[128];
		if ((e->doc = ms_jsonr_parse(val, vlen, FWD_MAX_JSON_NODES, err, sizeof(err))) == NULL) {
			ms_err("event=incident_malformed entry=%s reason=\"%s\"", e->id, err);
			goto failed;
		}
		e->state = ENT_LOOKUP;
	}
	if (ms_map_put(f->keys, e->key, strlen(e->key), e) < 0) {
		ent_free(e);
		return;
	}
	TAILQ_INSERT_TAIL(&f->win, e, link);
	f->nwin++;
	if (e->state == ENT_LOOKUP)
		lookup_send(f, e);
	return;
failed:
	f->st.failed++;
	xack_one(f, stream, e->id);
	ent_free(e);
}

static int
stream_index(const struct fwd *f, const redisReply *name)
{
	for (unsigned i = 0; i < f->nstreams; i++)
		if (name->type == REDIS_REPLY_STRING && strcmp(name->str, f->streams[i]) == 0)
			return (int)i;
	return -1;
}

enum read_kind { RK_HISTORY, RK_CLAIM, RK_NEW };

struct read_op {
	struct fwd *f;
	enum read_kind kind;
	int stream;
};

static void
read_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct read_op *op = priv;
	struct fwd *f = op->f;
	redisReply *r = reply;

	f->reading = false;
	if (r == NULL)
		goto out;	/* connection gone; the reconnect starts over */
	if (r->type == REDIS_REPLY_ERROR) {
		f->st.redis_errors++;
		ms_err("event=redis_read_failed reason=\"%.200s\"", r->str);
		if (strncmp(r->str, "NOGROUP", 7) == 0)
			f->group_ready = false;
		/* Reconnect (with backoff): the group is created again if it went away. */
		redisAsyncDisconnect(f->ac);
		goto out;
	}
	if (op->kind == RK_CLAIM) {
		/* [next cursor, [entries], [deleted ids] (Redis 7)] */
		if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
			const redisReply *es = r->element[1];
			for (size_t i = 0; es->type == REDIS_REPLY_ARRAY && i < es->elements; i++) {
				if (es->element[i]->type == REDIS_REPLY_ARRAY)
					take_entry(f, op->stream, es->element[i]);
			}
			if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY &&
			    r->element[2]->elements > 0) {
				f->st.missing += r->element[2]->elements;
				ms_err("event=entry_missing stream=%s count=%zu reason=\"claimed entries were "
				    "trimmed from the stream before they were forwarded\"",
				    f->streams[op->stream], r->element[2]->elements);
			}
			if (r->element[0]->type == REDIS_REPLY_STRING)
				ms_copy(f->claim[op->stream], sizeof(f->claim[0]), r->element[0]->str,
				    r->element[0]->len);
			if (strcmp(f->claim[op->stream], "0-0") == 0) {
				ms_copy(f->claim[op->stream], sizeof(f->claim[0]), "0-0", 3);
				if (++f->claim_stream >= f->nstreams) {
					f->claim_due = false;
					f->next_claim_ms = ms_mono_ms() + f->conf.claim_idle_ms;
				}
			}
		}
		goto out;
	}
	/* XREADGROUP: nil on timeout, else [[stream, [entries]], …] */
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t s = 0; s < r->elements; s++) {
			const redisReply *sr = r->element[s];
			int idx;

			if (sr->type != REDIS_REPLY_ARRAY || sr->elements < 2 ||
			    (idx = stream_index(f, sr->element[0])) < 0 ||
			    sr->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			if (op->kind == RK_HISTORY && sr->element[1]->elements == 0)
				f->hist_done[idx] = true;
			for (size_t i = 0; i < sr->element[1]->elements; i++) {
				const redisReply *er = sr->element[1]->element[i];
				take_entry(f, idx, er);
				if (op->kind == RK_HISTORY && er->type == REDIS_REPLY_ARRAY &&
				    er->elements >= 1 && er->element[0]->type == REDIS_REPLY_STRING)
					ms_copy(f->hist[idx], sizeof(f->hist[0]), er->element[0]->str,
					    er->element[0]->len);
			}
		}
	} else if (op->kind == RK_HISTORY) {
		f->hist_done[op->stream] = true;
	}
out:
	free(op);
	if (r != NULL && !(r->type == REDIS_REPLY_ERROR)) {
		pump(f);
		read_more(f);
	}
}

static size_t
win_room(const struct fwd *f)
{
	if (f->win_bytes >= FWD_MAX_WINDOW_BYTES || f->nwin >= (size_t)f->conf.max_inflight)
		return 0;
	return (size_t)f->conf.max_inflight - f->nwin;
}

static void
read_more(struct fwd *f)
{
	struct read_op *op;
	const char *argv[16];
	size_t argl[16];
	char count[24], block[24], idle[24];
	size_t room = win_room(f);
	int argc = 0;

	if (!f->redis_up || !f->group_ready || f->reading || f->stopping || room == 0)
		return;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return;
	op->f = f;
	snprintf(count, sizeof(count), "%zu", room);
	for (unsigned s = 0; s < f->nstreams; s++) {
		if (f->hist_done[s])
			continue;
		/* Ours first: pending since before a restart or a Redis reconnect. */
		op->kind = RK_HISTORY;
		op->stream = (int)s;
		argv[argc++] = "XREADGROUP";
		argv[argc++] = "GROUP";
		argv[argc++] = f->conf.group;
		argv[argc++] = f->conf.consumer;
		argv[argc++] = "COUNT";
		argv[argc++] = count;
		argv[argc++] = "STREAMS";
		argv[argc++] = f->streams[s];
		argv[argc++] = f->hist[s];
		goto send;
	}
	if (!f->claim_due && ms_mono_ms() >= f->next_claim_ms) {
		f->claim_due = true;
		f->claim_stream = 0;
		for (unsigned s = 0; s < f->nstreams; s++)
			ms_copy(f->claim[s], sizeof(f->claim[0]), "0-0", 3);
	}
	if (f->claim_due) {
		/* Then what another consumer of the group left pending for too long. */
		op->kind = RK_CLAIM;
		op->stream = (int)f->claim_stream;
		snprintf(idle, sizeof(idle), "%" PRId64, f->conf.claim_idle_ms);
		argv[argc++] = "XAUTOCLAIM";
		argv[argc++] = f->streams[op->stream];
		argv[argc++] = f->conf.group;
		argv[argc++] = f->conf.consumer;
		argv[argc++] = idle;
		argv[argc++] = f->claim[op->stream];
		argv[argc++] = "COUNT";
		argv[argc++] = count;
		goto send;
	}
	op->kind = RK_NEW;
	snprintf(block, sizeof(block), "%" PRId64, f->conf.block_ms);
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = f->conf.group;
	argv[argc++] = f->conf.consumer;
	argv[argc++] = "COUNT";
	argv[argc++] = count;
	argv[argc++] = "BLOCK";
	argv[argc++] = block;
	argv[argc++] = "STREAMS";
	for (unsigned s = 0; s < f->nstreams; s++)
		argv[argc++] = f->streams[s];
	for (unsigned s = 0; s < f->nstreams; s++)
		argv[argc++] = ">";
send:
	for (int i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	f->reading = true;
	if (redisAsyncCommandArgv(f->ac, read_reply_cb, op, argc, argv, argl) != REDIS_OK) {
		f->reading = false;
		free(op);
	}
}

/* ---- sending ---- */

static void
pump(struct fwd *f)
{
	struct fwd_entry *e;

	/* Stopping: what is out gets confirmed, the rest waits in Redis for the next start. */
	if (!fwd_upstream_ready(f->up) || f->stopping)
		return;
	TAILQ_FOREACH(e, &f->win, link) {
		int64_t no;

		if (e->state != ENT_READY)
			continue;
		/* Keep the socket's buffer modest; the rest goes when it drains. */
		if (fwd_upstream_queued(f->up) > (1u << 20))
			break;
		if ((no = fwd_upstream_send(f->up, e->frame, e->len)) < 0)
			break;
		if (e->sends++ > 0)
			f->st.retried++;
		e->state = ENT_SENT;
		e->send_no = (uint64_t)no;
	}
}

static void
up_ready_cb(void *arg)
{
	pump(arg);
}

static void
up_drained_cb(void *arg)
{
	pump(arg);
}

static void
up_acked_cb(void *arg, uint64_t upto)
{
	struct fwd *f = arg;
	struct fwd_entry *e;
	int64_t now = ms_mono_ms();

	TAILQ_FOREACH(e, &f->win, link) {
		if (e->state == ENT_SENT && e->send_no < upto) {
			e->state = ENT_ACKED;
			e->acked_ms = now;
		}
	}
}

static void
up_lost_cb(void *arg, bool clean)
{
	struct fwd *f = arg;
	struct fwd_entry *e;
	size_t resend = 0;

	/* A receiver that closed in order took what its TCP acknowledged. */
	if (clean)
		confirm(f, true);
	TAILQ_FOREACH(e, &f->win, link) {
		if (e->state == ENT_SENT || e->state == ENT_ACKED) {
			e->state = ENT_READY;
			resend++;
		}
	}
	if (resend)
		ms_info("event=resend_pending entries=%zu note=\"sent again on the next connection\"",
		    resend);
	read_more(f);
}

/* ---- Redis connection ---- */

static void
group_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fwd *f = priv;
	redisReply *r = reply;

	if (r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
		f->st.redis_errors++;
		ms_err("event=redis_group_failed reason=\"%.200s\"", r->str);
		redisAsyncDisconnect(f->ac);
		return;
	}
	if (--f->init_pending > 0)
		return;
	f->group_ready = true;
	f->redis_backoff_ms = 0;
	ms_info("event=redis_ready group=%s consumer=%s", f->conf.group, f->conf.consumer);
	read_more(f);
}

static void
redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct fwd *f = ac->data;
	struct fwd_entry *e;

	if (status != REDIS_OK) {
		ms_warn("event=redis_connect_failed reason=\"%.200s\"", ac->errstr);
		f->ac = NULL;	/* hiredis frees it */
		f->redis_backoff_ms = f->redis_backoff_ms ? f->redis_backoff_ms * 2 : 200;
		if (f->redis_backoff_ms > 5000)
			f->redis_backoff_ms = 5000;
		if (!f->stopping)
			timer_ms(f->redis_retry, f->redis_backoff_ms);
		else
			event_base_loopexit(f->base, NULL);
		return;
	}
	f->redis_up = true;
	/*
	 * The backoff is reset once the group is ready (group_reply_cb), not
	 * here: connected is not signed in – a refused password (or a group
	 * the ACL user may not make) was otherwise tried every 200 ms for ever.
	 */
	f->reading = false;
	f->init_pending = f->nstreams;
	/* Everything pending for us is read again; what the window holds is skipped. */
	for (unsigned s = 0; s < f->nstreams; s++) {
		const char *argv[] = { "XGROUP", "CREATE", f->streams[s], f->conf.group,
			strcmp(f->conf.start_at, "all") == 0 ? "0" : "$", "MKSTREAM" };
		size_t argl[MS_ARRAY_LEN(argv)];

		for (size_t i = 0; i < MS_ARRAY_LEN(argv); i++)
			argl[i] = strlen(argv[i]);
		ms_copy(f->hist[s], sizeof(f->hist[0]), "0", 1);
		f->hist_done[s] = false;
		redisAsyncCommandArgv(f->ac, group_reply_cb, f, (int)MS_ARRAY_LEN(argv), argv, argl);
	}
	f->next_claim_ms = 0;	/* claim once after every (re)connect */
	f->claim_due = false;
	ms_info("event=redis_connected");
	TAILQ_FOREACH(e, &f->win, link)
		if (e->state == ENT_LOOKUP && !e->lookup_sent)
			lookup_send(f, e);
}

static void
redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct fwd *f = ac->data;

	f->ac = NULL;
	f->redis_up = false;
	f->group_ready = false;
	f->reading = false;
	if (f->stopping) {
		event_base_loopexit(f->base, NULL);
		return;
	}
	if (status != REDIS_OK)
		ms_warn("event=redis_disconnected reason=\"%.200s\"", ac->errstr);
	f->redis_backoff_ms = f->redis_backoff_ms ? f->redis_backoff_ms * 2 : 200;
	if (f->redis_backoff_ms > 5000)
		f->redis_backoff_ms = 5000;
	timer_ms(f->redis_retry, f->redis_backoff_ms);
}

static void
redis_connect(struct fwd *f)
{
	redisAsyncContext *ac;

	if (f->ac != NULL)
		return;
	if (f->conf.redis_unix[0])
		ac = redisAsyncConnectUnix(f->conf.redis_unix);
	else
		ac = redisAsyncConnect(f->conf.redis_host, (int)f->conf.redis_port);
	if (ac == NULL || ac->err) {
		ms_warn("event=redis_connect_failed reason=\"%.200s\"", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		timer_ms(f->redis_retry, 1000);
		return;
	}
	ac->data = f;
	if (redisLibeventAttach(ac, f->base) != REDIS_OK ||
	    ms_redis_auth_async(ac, f->conf.redis_user, f->conf.redis_password) < 0) {
		redisAsyncFree(ac);
		timer_ms(f->redis_retry, 1000);
		return;
	}
	redisAsyncSetConnectCallback(ac, redis_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_disconnect_cb);
	f->ac = ac;
}

static void
redis_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	redis_connect(arg);
}

/* ---- counters, ticks, signals ---- */

static void
log_stats(const struct fwd *f, const char *why)
{
	ms_info("event=stats why=%s read=%" PRIu64 " forwarded=%" PRIu64 " alerts=%" PRIu64
	    " incidents=%" PRIu64 " filtered=%" PRIu64 " failed=%" PRIu64 " retried=%" PRIu64
	    " missing=%" PRIu64 " severity_unknown=%" PRIu64 " redis_errors=%" PRIu64
	    " upstream_connects=%" PRIu64 " upstream_failures=%" PRIu64 " inflight=%zu inflight_bytes=%zu",
	    why, f->st.read, f->st.forwarded, f->st.alerts, f->st.incidents, f->st.filtered,
	    f->st.failed, f->st.retried, f->st.missing, f->st.severity_unknown, f->st.redis_errors,
	    fwd_upstream_connects(f->up), fwd_upstream_failures(f->up), f->nwin, f->win_bytes);
}

static void
metrics_write(struct fwd *f)
{
	const uint64_t vals[] = { f->st.read, f->st.forwarded, f->st.alerts, f->st.incidents,
		f->st.filtered, f->st.failed, f->st.retried, f->st.missing, f->st.severity_unknown,
		f->st.redis_errors, fwd_upstream_connects(f->up), fwd_upstream_failures(f->up),
		f->nwin, fwd_upstream_ready(f->up) ? 1 : 0 };
	static const char *const names[] = { "read", "forwarded", "alerts", "incidents", "filtered",
		"failed", "retried", "missing", "severity_unknown", "redis_errors",
		"upstream_connects", "upstream_failures", "inflight", "upstream_up" };
	_Static_assert(MS_ARRAY_LEN(vals) == MS_ARRAY_LEN(names), "one name per counter");
	char v[MS_ARRAY_LEN(names)][24], now[32];
	const char *argv[2 + 2 * (MS_ARRAY_LEN(names) + 1)];
	size_t argl[MS_ARRAY_LEN(argv)];
	size_t n = 0;

	argv[n++] = "HSET";
	argv[n++] = f->conf.stats_key;
	for (size_t i = 0; i < MS_ARRAY_LEN(names); i++) {
		snprintf(v[i], sizeof(v[i]), "%" PRIu64, vals[i]);
		argv[n++] = names[i];
		argv[n++] = v[i];
	}
	ms_fmt_time(now, sizeof(now), ms_now_ms());
	argv[n++] = "updated";
	argv[n++] = now;
	for (size_t i = 0; i < n; i++)
		argl[i] = strlen(argv[i]);
	if (f->redis_up)
		redisAsyncCommandArgv(f->ac, NULL, NULL, (int)n, argv, argl);
}

static void
metrics_cb(evutil_socket_t fd, short what, void *arg)
{
	metrics_write(arg);
}

static void
stats_cb(evutil_socket_t fd, short what, void *arg)
{
	log_stats(arg, "periodic");
}

static bool
win_in_flight(const struct fwd *f)
{
	const struct fwd_entry *e;

	TAILQ_FOREACH(e, &f->win, link)
		if (e->state == ENT_SENT || e->state == ENT_ACKED)
			return true;
	return false;
}

static void
finish(struct fwd *f)
{
	/* What was confirmed is acknowledged; the rest stays pending for the next start. */
	confirm(f, false);
	metrics_write(f);
	fwd_upstream_stop(f->up);
	if (f->redis_up && f->ac)
		redisAsyncDisconnect(f->ac);	/* after the replies to what was sent */
	else
		event_base_loopexit(f->base, NULL);
	timer_ms(f->stop_ev, f->conf.block_ms + 2000);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;

	if (f->reading && !f->redis_up)
		f->reading = false;
	confirm(f, false);
	pump(f);
	read_more(f);
	if (f->stopping && f->stop_deadline_ms) {
		if (!win_in_flight(f) || ms_mono_ms() >= f->stop_deadline_ms) {
			f->stop_deadline_ms = 0;
			finish(f);
			return;
		}
	}
	if (!f->stopping || f->stop_deadline_ms)
		timer_ms(f->tick, FWD_TICK_MS);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;

	ms_warn("event=shutdown_timeout note=\"Redis did not answer in time\"");
	event_base_loopexit(f->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct fwd *f = arg;

	if (sig == SIGUSR1) {
		log_stats(f, "sigusr1");
		return;
	}
	if (f->stopping)
		return;
	ms_info("event=shutdown signal=%d inflight=%zu", (int)sig, f->nwin);
	f->stopping = true;
	f->stop_deadline_ms = ms_mono_ms() + f->conf.shutdown_timeout_ms;
	if (f->stop_deadline_ms == ms_mono_ms())
		f->stop_deadline_ms++;
}

static void
entry_map_free(void *p)
{
	(void)p;	/* entries are freed from the window list */
}

int
main(int argc, char **argv)
{
	static const int signums[] = { SIGTERM, SIGINT, SIGUSR1 };
	static const struct fwd_upstream_cbs cbs = { up_ready_cb, up_lost_cb, up_acked_cb,
		up_drained_cb };
	struct fwd f;
	struct event *sigs[MS_ARRAY_LEN(signums)] = { NULL };
	struct ms_daemon_args args;
	const char *config;
	bool check;
	char err[1024];
	int ch, rc = 1;

	memset(&f, 0, sizeof(f));
	TAILQ_INIT(&f.win);
	ms_buf_init(&f.buf, 0);
	if ((ch = ms_daemon_args(argc, argv, "forward", usage, &args)) >= 0)
		return ch;
	config = args.config;
	check = args.check;
	if (fwd_conf_load(config, &f.conf, err, sizeof(err)) < 0 ||
	    ms_redis_password_load(f.conf.redis_password_file, f.conf.redis_password,
	    sizeof(f.conf.redis_password), err, sizeof(err)) < 0) {
		ms_err("event=config_error reason=\"%s\"", err);
		return 1;
	}
	if (ms_daemon_log_level("forward", &args, f.conf.log_level) < 0)
		return 1;
	f.min_sev = fwd_sev_rank_name(f.conf.min_severity);
	ms_buf_init(&f.buf, f.conf.max_message + 32);
	f.streams[f.nstreams++] = f.conf.alerts_stream;
	if (f.conf.incidents_stream[0])
		f.streams[f.nstreams++] = f.conf.incidents_stream;
	signal(SIGPIPE, SIG_IGN);
	if ((f.base = event_base_new()) == NULL || (f.keys = ms_map_new(entry_map_free)) == NULL) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	if ((f.up = fwd_upstream_new(f.base, &f.conf, &cbs, &f, err, sizeof(err))) == NULL) {
		ms_err("event=config_error reason=\"%s\"", err);
		goto out;
	}
	if (check) {
		printf("%s: configuration and certificates OK\n", config);
		rc = 0;
		goto out;
	}
	if (ms_daemon_signals(f.base, signums, MS_ARRAY_LEN(signums), signal_cb, &f, sigs) < 0)
		goto out;
	if ((f.redis_retry = evtimer_new(f.base, redis_retry_cb, &f)) == NULL ||
	    (f.tick = evtimer_new(f.base, tick_cb, &f)) == NULL ||
	    (f.stop_ev = evtimer_new(f.base, stop_cb, &f)) == NULL ||
	    (f.stats_ev = event_new(f.base, -1, EV_PERSIST, stats_cb, &f)) == NULL ||
	    (f.metrics_ev = event_new(f.base, -1, EV_PERSIST, metrics_cb, &f)) == NULL) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	timer_ms(f.stats_ev, 300000);
	timer_ms(f.metrics_ev, 10000);
	timer_ms(f.tick, FWD_TICK_MS);
	ms_info("event=start version=%s config=%s upstream=%s:%d min_severity=%s group=%s consumer=%s",
	    MINISOC_VERSION, config, f.conf.upstream_host, (int)f.conf.upstream_port,
	    fwd_sev_name(f.min_sev), f.conf.group, f.conf.consumer);
	redis_connect(&f);
	fwd_upstream_start(f.up);
	event_base_dispatch(f.base);
	log_stats(&f, "exit");
	rc = 0;
	ms_info("event=stop");
out:
	if (f.ac) {
		redisAsyncContext *ac = f.ac;
		f.ac = NULL;
		f.stopping = true;
		redisAsyncFree(ac);
	}
	while (!TAILQ_EMPTY(&f.win))
		win_remove(&f, TAILQ_FIRST(&f.win));
	fwd_upstream_free(f.up);
	for (size_t i = 0; i < MS_ARRAY_LEN(sigs); i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (f.redis_retry)
		event_free(f.redis_retry);
	if (f.tick)
		event_free(f.tick);
	if (f.stop_ev)
		event_free(f.stop_ev);
	if (f.stats_ev)
		event_free(f.stats_ev);
	if (f.metrics_ev)
		event_free(f.metrics_ev);
	ms_map_free(f.keys);
	ms_buf_fini(&f.buf);
	if (f.base)
		event_base_free(f.base);
	return rc;
}
