/*
 * minisoc-collector – accepts agents over mutual TLS, decodes their events,
 * runs detection and writes alerts to Redis. See docs/architecture.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "aggregate.h"
#include "archive.h"
#include "collector.h"
#include "ms_compliance.h"
#include "ms_log.h"
#include "ms_register.h"
#include "ms_priv.h"
#include "ms_redis.h"
#include "ms_proto.h"
#include "ms_tls.h"
#include "sigma_set.h"
#include "sink.h"

static void rules_reload(struct collector *c);
static void summary_cb(struct alert *a, void *arg);

static void crl_track(struct collector *c);

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisoc-collector -c FILE [-t] [-l LEVEL]\n"
	    "\n"
	    "Accepts minisoc agents over mutual TLS, decodes their log lines, runs\n"
	    "detection and adds alerts to a Redis stream.\n"
	    "\n"
	    "  -c, --config FILE     configuration (YAML), required\n"
	    "  -t, --check           check the configuration and certificates, then exit\n"
	    "  -l, --log-level LVL   debug, info, warn or error (overrides the file)\n"
	    "  -V, --version         print the version\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop after Redis confirmed pending work;\n"
	    "SIGHUP reloads certificates, key, CA and CRL (sessions of revoked agents\n"
	    "are closed) and the rules (a folder with any rejected rule keeps the old\n"
	    "ones running); SIGUSR1 logs the counters.\n"
	    "\n"
	    "Configuration keys:\n");
	collector_conf_usage(out);
	fprintf(out, "\nExit status: 0 on a clean stop, 1 on a configuration or start-up error.\n");
}

static void
agent_state_free(void *p)
{
	free(p);
}

struct agent_state *
collector_agent(struct collector *c, const char *id)
{
	struct agent_state *st = ms_map_get(c->agents, id, strlen(id));

	if (st)
		return st;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	ms_copy(st->id, sizeof(st->id), id, strlen(id));
	if (ms_map_put(c->agents, id, strlen(id), st) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

/*
 * A UUID version 7: 48 bits of ms time, then random bits. The random bits
 * come from a pool filled by one RAND_bytes call per 409 alerts: the same
 * generator, without its per-call cost on every alert.
 */
static void
alert_make_id(char *out, size_t outsz, int64_t ms)
{
	static unsigned char pool[4096];
	static size_t pool_pos = sizeof(pool);
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t k = 0;

	if (pool_pos + 10 > sizeof(pool)) {
		if (RAND_bytes(pool, (int)sizeof(pool)) != 1)
			memset(pool, 0, sizeof(pool));
		pool_pos = 0;
	}
	memcpy(b + 6, pool + pool_pos, 10);
	/* Used bits never serve twice. */
	memset(pool + pool_pos, 0, 10);
	pool_pos += 10;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	if (outsz < 37) {
		if (outsz)
			out[0] = '\0';
		return;
	}
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = '\0';
}

/* Appends n bytes of s at t + *o, as many as fit in cap. */
static void
log_put(char *t, size_t *o, size_t cap, const char *s, size_t n)
{
	if (n > cap - *o)
		n = cap - *o;
	memcpy(t + *o, s, n);
	*o += n;
}

#define LOG_PUT_LIT(t, o, cap, lit) log_put((t), (o), (cap), lit, sizeof(lit) - 1)

/* A string as printf's %s writes it: NULL as "(null)". */
static void
log_put_str(char *t, size_t *o, size_t cap, const char *s, size_t max)
{
	if (s == NULL)
		LOG_PUT_LIT(t, o, cap, "(null)");
	else
		log_put(t, o, cap, s, strnlen(s, max));
}

/*
 * The info line of a sent alert, "event=alert id=... rule=... agent=...
 * src_ip=... count=N[ aggregate=1]", put together by hand: one per alert
 * written, where a printf of it cost more than the alert's JSON.
 */
static void
alert_log(const struct alert *a)
{
	char t[MS_LOG_LINE_MAX], d[16], *p = d + sizeof(d);
	size_t o = 0, cap = sizeof(t);
	unsigned u = a->count;

	LOG_PUT_LIT(t, &o, cap, "event=alert id=");
	log_put_str(t, &o, cap, a->id, sizeof(a->id));
	LOG_PUT_LIT(t, &o, cap, " rule=");
	log_put_str(t, &o, cap, a->rule_id, SIZE_MAX);
	LOG_PUT_LIT(t, &o, cap, " agent=");
	log_put_str(t, &o, cap, a->agent_id, sizeof(a->agent_id));
	LOG_PUT_LIT(t, &o, cap, " src_ip=");
	log_put_str(t, &o, cap, a->src_ip, sizeof(a->src_ip));
	LOG_PUT_LIT(t, &o, cap, " count=");
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	log_put(t, &o, cap, p, (size_t)(d + sizeof(d) - p));
	if (a->aggregated > 1)
		LOG_PUT_LIT(t, &o, cap, " aggregate=1");
	ms_log_text(MS_LOG_INFO, t, o);
}

/*
 * Gives a its id and time and sends it; a detection may instead be folded
 * into an open aggregation window (aggregate.c).
 */
static void
alert_send(struct collector *c, struct alert *a, bool fold)
{
	a->time_ms = ms_now_ms();
	alert_make_id(a->id, sizeof(a->id), a->time_ms);
	c->stats.alerts++;
	metrics_alert(c, a->severity);
	if (a->agent_id[0]) {
		/* Only known agents: a lookup, never a new entry from here. */
		struct agent_state *st = ms_map_get(c->agents, a->agent_id, strlen(a->agent_id));
		if (st)
			st->alerts++;
	}
	/* Counted above as raised; a folded one is not sent on its own. */
	if (fold && c->aggregate && aggregate_offer(c->aggregate, a, ms_mono_ms(), summary_cb, c)) {
		c->stats.alerts_folded++;
		return;
	}
	/* Only for what is sent: a summary looks its system up again when it goes out. */
	a->system_id = registry_system(c, a->agent_id, &a->system_level);
	ms_buf_reset(&c->alert_buf);
	if (alert_to_json(a, &c->alert_buf) < 0) {
		/*
		 * Too big: the event's fields (slices of a line of up to 64 KiB,
		 * escaped) are cut, or left out, rather than the alert dropped –
		 * its events are acknowledged with the batch.
		 */
		const struct decoded *ev = a->event;
		bool left_out = false;

		ms_buf_reset(&c->alert_buf);
		if (ev == NULL || alert_to_json_cut(a, &c->alert_buf, ALERT_FIELD_CUT) < 0) {
			a->event = NULL;
			left_out = true;
			ms_buf_reset(&c->alert_buf);
			if (alert_to_json(a, &c->alert_buf) < 0) {
				a->event = ev;
				c->stats.alerts_failed++;
				ms_err("event=alert_dropped rule=%s reason=too_big", a->rule_id);
				return;
			}
			a->event = ev;
		}
		ms_warn("event=alert_fields_cut id=%s rule=%s agent=%s fields=%s "
		    "note=\"the event's fields made the alert too big\"", a->id, a->rule_id,
		    a->agent_id, left_out ? "left_out" : "cut");
	}
	/* Nothing is formatted when info lines are off. */
	if (ms_log_on(MS_LOG_INFO))
		alert_log(a);
	if (sink_alert(c->sink, a, c->alert_buf.data, c->alert_buf.len) < 0) {
		c->stats.alerts_failed++;
		ms_err("event=alert_dropped rule=%s reason=out_of_memory", a->rule_id);
	}
}

/* The summary of an aggregation window that ended. */
static void
summary_cb(struct alert *a, void *arg)
{
	struct collector *c = arg;

	c->stats.alerts_aggregated++;
	alert_send(c, a, false);
}

static void
emit_cb(struct alert *a, void *arg)
{
	alert_send(arg, a, true);
}

void
collector_alert(struct collector *c, const struct alert *a0)
{
	/* Rare (agent silent, back, flooding): the caller's alert stays as it was. */
	struct alert a = *a0;

	/* The collector's own alerts are state changes: never folded. */
	alert_send(c, &a, false);
}

/*
 * Summaries per slice of a tick, and the gap between slices: about 25,600
 * a second, each slice about 0.5 ms of the loop's time and as much of
 * Redis's, so the alerts raised meanwhile are not queued behind a flood's
 * summaries.
 */
#define AGGREGATE_TICK_MAX 128
#define AGGREGATE_SLICE_US 5000

static void
aggregate_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval gap = { 0, AGGREGATE_SLICE_US };
	struct collector *c = arg;
	bool more;

	/* Summaries closing together: their log lines in one write, as a batch's. */
	ms_log_hold();
	more = aggregate_tick(c->aggregate, ms_mono_ms(), false, AGGREGATE_TICK_MAX, summary_cb, c);
	ms_log_release();
	collector_log_later(c);
	/*
	 * The windows a flood opened in one second end in one second, a minute
	 * later: their summaries go in slices, with the agents' data read and
	 * their alerts written in between, not in one stop of the loop and one
	 * queue in front of every alert.
	 */
	if (more)
		evtimer_add(c->aggregate_more, &gap);
}

static void
log_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	ms_log_flush();
}

void
collector_log_later(struct collector *c)
{
	struct timeval tv;

	if (c->log_timer == NULL || !ms_log_pending() || evtimer_pending(c->log_timer, NULL))
		return;
	tv.tv_sec = (time_t)(c->conf.log_flush_ms / 1000);
	tv.tv_usec = (suseconds_t)(c->conf.log_flush_ms % 1000 * 1000);
	evtimer_add(c->log_timer, &tv);
}

void
collector_detect_line(struct collector *c, const struct decode_ctx *ctx, const char *agent_id,
    const char *host, struct ms_str source, struct ms_str line, uint64_t seq)
{
	struct decode_ctx dctx = *ctx;

	/* auditd records of one event are keyed by agent: serials are per host */
	dctx.auditd = c->auditd;
	dctx.agent_id = agent_id;
	detect_line(c->detectors, c->ndetectors, c->decoded, &dctx, agent_id, host, source, line,
	    seq, emit_cb, c);
	/* Still an event (keyword rules saw it), but no decoder knew it. */
	if (c->decoded->fmt == DECODE_SYSLOG_NONE && c->decoded->product == NULL &&
	    c->decoded->category == NULL)
		c->stats.events_undecoded++;
	if (c->decoded->time_capped)
		c->stats.events_time_capped++;
	if (c->decoded->values_cut)
		c->stats.events_values_cut++;
}

void
collector_sink_drained(struct collector *c)
{
	struct session *s, *next;

	/* session_resume may close (and free) a session: take next first. */
	for (s = TAILQ_FIRST(&c->sessions); s; s = next) {
		next = session_next(s);
		if (session_is_paused(s))
			session_resume(s);
	}
}

void
collector_log_stats(const struct collector *c, const char *why)
{
	const struct collector_stats *s = &c->stats;
	size_t tracked = 0;
	uint64_t cut = 0, skipped = 0, unreadable = 0;

	for (size_t i = 0; i < c->ndetectors; i++)
		if (c->detectors[i]->tracked)
			tracked += c->detectors[i]->tracked(c->detectors[i]->state);
	if (c->sink)
		sink_spool_losses(c->sink, &cut, &skipped, &unreadable);
	ms_info("event=stats why=%s sessions=%zu sessions_accepted=%" PRIu64
	    " sessions_refused=%" PRIu64 " tls_failures=%" PRIu64 " frames_in=%" PRIu64
	    " frames_bad=%" PRIu64 " batches_in=%" PRIu64 " events_in=%" PRIu64
	    " events_dup=%" PRIu64 " events_undecoded=%" PRIu64 " events_time_capped=%" PRIu64
	    " events_values_cut=%" PRIu64
	    " alerts=%" PRIu64 " alerts_written=%" PRIu64
	    " alerts_failed=%" PRIu64 " redis_errors=%" PRIu64 " redis_pending=%zu"
	    " detect_tracked=%zu health_reports=%" PRIu64 " health_malformed=%" PRIu64
	    " health_skipped=%" PRIu64 " agents_silent=%zu sessions_rate_limited=%" PRIu64
	    " sessions_handshake_limited=%" PRIu64 " sessions_throttled=%" PRIu64
	    " tls_expired=%" PRIu64 " tls_unknown_ca=%" PRIu64 " tls_purpose=%" PRIu64
	    " tls_revoked=%" PRIu64 " tls_no_cert=%" PRIu64 " tls_bad_identity=%" PRIu64
	    " tls_timeout=%" PRIu64 " tls_closed=%" PRIu64 " tls_other=%" PRIu64
	    " spool_records=%" PRIu64 " spool_replayed=%" PRIu64 " spool_bytes=%" PRIu64
	    " spool_cut_bytes=%" PRIu64 " spool_damaged_bytes=%" PRIu64
	    " spool_unreadable_bytes=%" PRIu64
	    " alerts_folded=%" PRIu64 " alerts_aggregated=%" PRIu64 " alerts_unbatched=%" PRIu64,
	    why, c->nsessions, s->sessions_accepted, s->sessions_refused, s->tls_failures,
	    s->frames_in, s->frames_bad, s->batches_in, s->events_in, s->events_dup,
	    s->events_undecoded, s->events_time_capped, s->events_values_cut,
	    s->alerts, s->alerts_written, s->alerts_failed, s->redis_errors,
	    c->sink ? sink_pending(c->sink) : 0, tracked, s->health_reports, s->health_malformed,
	    s->health_skipped, c->agents_silent, s->sessions_rate_limited,
	    s->sessions_handshake_limited, s->sessions_throttled,
	    s->tls_fail[TLS_FAIL_EXPIRED], s->tls_fail[TLS_FAIL_UNKNOWN_CA],
	    s->tls_fail[TLS_FAIL_PURPOSE], s->tls_fail[TLS_FAIL_REVOKED], s->tls_fail[TLS_FAIL_NO_CERT],
	    s->tls_fail[TLS_FAIL_BAD_ID], s->tls_fail[TLS_FAIL_TIMEOUT], s->tls_fail[TLS_FAIL_CLOSED],
	    s->tls_fail[TLS_FAIL_OTHER], s->spool_records, s->spool_replayed,
	    c->sink ? sink_spool_bytes(c->sink) : 0, cut, skipped, unreadable, s->alerts_folded,
	    s->alerts_aggregated, s->alerts_unbatched);
}

void
collector_maybe_exit(struct collector *c)
{
	struct session *s, *next;

	if (!c->stopping || (c->sink && sink_pending(c->sink) > 0))
		return;
	/* Everything handled is acknowledged: close each session cleanly. */
	for (s = TAILQ_FIRST(&c->sessions); s; s = next) {
		next = session_next(s);
		session_close(s, MS_ERR_SHUTDOWN, "collector_stopping");
	}
	if (c->nsessions == 0)
		event_base_loopexit(c->base, NULL);
	/* else session_free ends the loop when the last one is gone */
}

static void
stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;

	ms_warn("event=shutdown_timeout redis_pending=%zu reason=\"Redis did not confirm in time; "
	    "agents will resend what was not acknowledged\"", sink_pending(c->sink));
	event_base_loopexit(c->base, NULL);
}

/*
 * SIGHUP: certificates, key, CA and CRL are read again for the handshakes
 * to come; open sessions keep their TLS state, but one whose certificate
 * the new CRL revokes is closed. On any error the old context stays.
 */
static void
tls_reload(struct collector *c)
{
	char err[1024];
	SSL_CTX *n;
	struct session *s, *next;
	int revoked = 0;

	n = ms_tls_server_ctx_new(c->conf.tls_ca, c->conf.tls_cert, c->conf.tls_key, err,
	    sizeof(err));
	if (n == NULL) {
		/* After dropping root the key may be out of reach: keep the loaded one. */
		ms_info("event=tls_reload note=\"%s; the loaded certificate and key are kept\"", err);
		n = ms_tls_server_ctx_renew(c->ssl_ctx, c->conf.tls_ca, err, sizeof(err));
	}
	if (n == NULL || (c->conf.tls_crl[0] &&
	    ms_tls_ctx_load_crl(n, c->conf.tls_crl, err, sizeof(err)) < 0) ||
	    (c->conf.tls_allow_tls12 && ms_tls_ctx_allow_tls12(n) < 0)) {
		ms_err("event=tls_reload_failed reason=\"%s\" note=\"the previous TLS settings stay\"",
		    err);
		SSL_CTX_free(n);
		return;
	}
	/* Sessions hold their own reference to the old context. */
	SSL_CTX_free(c->ssl_ctx);
	c->ssl_ctx = n;
	crl_track(c);
	for (s = TAILQ_FIRST(&c->sessions); s; s = next) {
		next = session_next(s);
		revoked += session_recheck_revoked(s, n);
	}
	ms_info("event=tls_reload result=ok crl=%s sessions_revoked=%d",
	    c->conf.tls_crl[0] ? c->conf.tls_crl : "none", revoked);
}

/* SIGHUP: certificates and CRL, enrolment, rules, register. */
static void
reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;

	tls_reload(c);
	enroll_reload(c->enroll);
	rules_reload(c);
	registry_reload(c);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct collector *c = arg;
	struct session *s, *next;
	struct timeval tv;

	if (sig == SIGHUP) {
		/*
		 * libevent calls this once per signal delivered: a burst of N
		 * would reload N times in a row. Made active, the reload event
		 * runs once for all of them.
		 */
		if (c->reload_ev)
			event_active(c->reload_ev, EV_TIMEOUT, 0);
		else
			reload_cb(-1, EV_TIMEOUT, c);
		return;
	}
	if (sig == SIGUSR1) {
		collector_log_stats(c, "sigusr1");
		return;
	}
	if (c->stopping)
		return;
	ms_info("event=shutdown signal=%d redis_pending=%zu", (int)sig, sink_pending(c->sink));
	/* Open aggregation windows: their summaries go out with the rest. */
	if (c->aggregate)
		aggregate_tick(c->aggregate, ms_mono_ms(), true, 0, summary_cb, c);
	/* Their last sign of life goes out with the rest; closing sessions write nothing more. */
	health_flush(c);
	c->stopping = true;
	listener_free(c->listener);
	c->listener = NULL;
	/* Stop taking events; acks for what was handled still go out. */
	for (s = TAILQ_FIRST(&c->sessions); s; s = next) {
		next = session_next(s);
		session_pause_for_shutdown(s);
	}
	tv.tv_sec = c->conf.shutdown_timeout_ms / 1000;
	tv.tv_usec = (c->conf.shutdown_timeout_ms % 1000) * 1000;
	c->stop_timer = evtimer_new(c->base, stop_timeout_cb, c);
	if (c->stop_timer)
		evtimer_add(c->stop_timer, &tv);
	collector_maybe_exit(c);
}

/*
 * Loads the configured rules. Returns the set (or NULL when nothing is
 * configured or path is unreadable; *failed tells). With strict, any
 * rejected document fails the load (reload keeps the old rules then).
 */
static struct sigma_set *
rules_load(const struct collector_conf *cf, bool strict, bool *failed)
{
	struct sigma_set_opts opts = { (size_t)cf->rules_max_groups, cf->rules_placeholders,
	    (size_t)cf->rules_max_memory_mb << 20 };
	struct sigma_report rep;
	struct sigma_set *set;
	char err[1024];

	*failed = false;
	if (cf->rules_path[0] == '\0')
		return NULL;
	sigma_report_init(&rep);
	set = sigma_set_load(cf->rules_path, &opts, &rep, err, sizeof(err));
	if (set == NULL) {
		ms_err("event=rules_error path=%s reason=\"%s\"", cf->rules_path, err);
		*failed = true;
		goto out;
	}
	if (rep.text.data) {
		char *line = rep.text.data, *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (strncmp(line, "rejected: ", 10) == 0)
				ms_err("event=rule_rejected reason=\"%.900s\"", line + 10);
			else if (strncmp(line, "inert: ", 7) == 0)
				ms_debug("event=rule_inert reason=\"%.900s\"", line + 7);
			line = nl + 1;
		}
	}
	ms_info("event=rules_loaded path=%s files=%zu rules=%zu correlations=%zu inert=%zu "
	    "rejected=%zu filters=%zu", cf->rules_path, rep.files, rep.rules, rep.correlations,
	    rep.inert, rep.rejected, rep.filters);
	if (strict && rep.rejected) {
		*failed = true;
		sigma_set_free(set);
		set = NULL;
	}
out:
	sigma_report_fini(&rep);
	return set;
}

static void
rules_reload(struct collector *c)
{
	struct collector_conf cf;
	char err[1024];
	bool failed;
	struct sigma_set *set;

	/* Re-read the config file for the rules path; nothing else changes live. */
	if (collector_conf_load(c->config_file, &cf, err, sizeof(err)) < 0) {
		ms_err("event=reload_failed reason=\"%s\" note=\"old rules kept\"", err);
		return;
	}
	set = rules_load(&cf, true, &failed);
	if (failed) {
		ms_err("event=reload_failed reason=\"rules did not load cleanly\" note=\"old rules kept\"");
		return;
	}
	if (set == NULL) {
		ms_warn("event=reload note=\"no rules.path configured; old rules kept\"");
		return;
	}
	if (c->sigma == NULL) {
		if (c->ndetectors >= MS_ARRAY_LEN(c->detectors) ||
		    (c->sigma = sigma_detector_new(set)) == NULL) {
			ms_err("event=reload_failed reason=\"cannot add the rule detector\"");
			return;
		}
		c->detectors[c->ndetectors++] = c->sigma;
	} else {
		sigma_detector_swap(c->sigma, set);
	}
	ms_info("event=reload result=ok");
}

/* --- the event archive --------------------------------------------- */

void
collector_archive_event(struct collector *c, const struct agent_state *st, int64_t time_ms,
    uint64_t seq, struct ms_str source, struct ms_str line)
{
	int level;

	if (c->archive == NULL)
		return;
	/* The register's system (NULL without a register: "unassigned"). */
	archive_add(c->archive, registry_system(c, st->id, &level), time_ms, st->id, seq, source,
	    line);
}

void
collector_archive_flush(struct collector *c)
{
	if (c->archive)
		archive_flush(c->archive);
}

/*
 * How many days of system's files to keep: its level's retention under its
 * framework's profile plus the margin, at least archive.keep_days; without
 * a profile or register entry archive.keep_days alone (0: all).
 */
static int
archive_keep_days(const char *system, void *arg)
{
	const struct collector *c = arg;
	const struct ms_reg_system *s = c->reg ? ms_register_find(c->reg, system) : NULL;
	const struct ms_comp_profile *p = NULL;
	int64_t keep = c->conf.archive_keep_days, today, months = -1;

	if (s != NULL && s->framework != NULL)
		p = c->archive_prof[strcmp(s->framework, "old") == 0 ? 0 : 1];
	if (p == NULL || s->level < 1 || s->level > MS_COMP_MAX_LEVEL)
		return (int)keep;
	for (size_t i = 0; i < p->nreqs; i++)
		if (p->reqs[i].check == MS_CHECK_RETENTION && p->reqs[i].from_level <= s->level &&
		    p->reqs[i].months[s->level] > months)
			months = p->reqs[i].months[s->level];
	if (months < 0)
		return (int)keep;	/* the profile says nothing of retention */
	today = ms_now_ms() / 86400000;
	months = today - ms_date_add_months(today, -(int)months) + c->conf.archive_keep_margin_days;
	return (int)(months > keep ? months : keep);
}

static void
archive_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	int64_t now = ms_now_ms();

	archive_sync(c->archive);
	if (now - c->archive_stats_ms >= 10000) {
		const struct archive_stats *as = archive_get_stats(c->archive);
		char v[6][24];
		const char *kv[12] = { "archive_events", v[0], "archive_bytes_in", v[1],
			"archive_bytes_out", v[2], "archive_write_errors", v[3], "archive_dropped", v[4],
			"archive_files_expired", v[5] };

		c->archive_stats_ms = now;
		snprintf(v[0], sizeof(v[0]), "%" PRIu64, as->events);
		snprintf(v[1], sizeof(v[1]), "%" PRIu64, as->bytes_in);
		snprintf(v[2], sizeof(v[2]), "%" PRIu64, as->bytes_out);
		snprintf(v[3], sizeof(v[3]), "%" PRIu64, as->write_errors);
		snprintf(v[4], sizeof(v[4]), "%" PRIu64, as->dropped);
		snprintf(v[5], sizeof(v[5]), "%" PRIu64, as->files_expired);
		collector_stats_hset(c, kv, MS_ARRAY_LEN(kv));
	}
	if ((c->conf.archive_keep_days > 0 || c->archive_prof[0] || c->archive_prof[1]) &&
	    now - c->archive_expired_ms >= 3600 * 1000) {
		c->archive_expired_ms = now;
		archive_expire(c->archive, now, archive_keep_days, c);
	}
}

static int
archive_start(struct collector *c, char *err, size_t errsz)
{
	struct timeval tv;

	if (c->conf.archive_path[0] == '\0')
		return 0;
	if ((c->archive = archive_new(c->conf.archive_path, (int)c->conf.archive_level,
	    (size_t)c->conf.archive_backlog_max, err, errsz)) == NULL)
		return -1;
	if (c->conf.archive_profiles[0]) {
		static const char *const ids[2] = { "old", "new" };
		for (int i = 0; i < 2; i++) {
			c->archive_prof[i] = ms_comp_profile_find(c->conf.archive_profiles, ids[i], err,
			    errsz);
			if (c->archive_prof[i] == NULL)
				return -1;
		}
	}
	if ((c->archive_timer = event_new(c->base, -1, EV_PERSIST, archive_timer_cb, c)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	tv.tv_sec = c->conf.archive_sync_ms / 1000;
	tv.tv_usec = (c->conf.archive_sync_ms % 1000) * 1000;
	evtimer_add(c->archive_timer, &tv);
	ms_info("event=archive_start path=%s level=%lld sync_ms=%lld keep_days=%lld",
	    c->conf.archive_path, (long long)c->conf.archive_level,
	    (long long)c->conf.archive_sync_ms, (long long)c->conf.archive_keep_days);
	return 0;
}

/*
 * A CRL past its next update refuses the clients its CA signed (fail-closed):
 * the whole fleet when it is the enrolment CA's, 180 days after the last
 * pki crl. A collector that runs for months without a reload would learn it
 * from the refusals; from CRL_WARN_DAYS before, it says so once a day in
 * its log and in the alert stream, which operators watch.
 */
#define CRL_WARN_DAYS	30
#define CRL_DAY_MS	INT64_C(86400000)

/* Reads the loaded CRLs' soonest next update (at start and each reload). */
static void
crl_track(struct collector *c)
{
	c->crl_next_ms = c->conf.tls_crl[0] ?
	    ms_tls_ctx_crl_next_ms(c->ssl_ctx, c->crl_issuer, sizeof(c->crl_issuer)) : INT64_MAX;
	c->crl_said_ms = 0;
}

static void
crl_watch(struct collector *c, int64_t now)
{
	static struct alert a;	/* large (samples): off the stack */
	char when[40], q[300], host[256] = "";
	int64_t left, days;

	if (c->crl_next_ms == INT64_MAX || (c->crl_said_ms && now - c->crl_said_ms < CRL_DAY_MS))
		return;
	left = c->crl_next_ms - now;
	if (left > CRL_WARN_DAYS * CRL_DAY_MS)
		return;
	c->crl_said_ms = now;
	/* whole days left, rounded down; negative once past */
	days = left >= 0 ? left / CRL_DAY_MS : -((-left + CRL_DAY_MS - 1) / CRL_DAY_MS);
	ms_fmt_time(when, sizeof(when), c->crl_next_ms);
	ms_log_quote(q, sizeof(q), c->crl_issuer, strlen(c->crl_issuer));
	ms_warn("event=crl_expiring file=%s issuer=%s next_update=%s days_left=%" PRId64
	    " note=\"past it every agent whose certificate this CA signed is refused: sign a new "
	    "one (minisocctl pki crl; minisoc-crl.timer does it weekly) and reload\"",
	    c->conf.tls_crl, q, when, days);
	memset(&a, 0, sizeof(a));
	a.rule_id = "minisoc-crl-expiring";
	a.rule_title = left > 0 ? "The CRL the collector checks agents against expires soon" :
	    "The CRL the collector checks agents against has expired";
	a.severity = left > 7 * CRL_DAY_MS ? "medium" : "high";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	ms_copy(a.host, sizeof(a.host), host, strlen(host));
	a.count = 1;
	a.first_ms = a.last_ms = now;
	snprintf(a.samples[0], sizeof(a.samples[0]), "%.120s (%.120s): next update %.32s, %"
	    PRId64 " day(s) left; past it every agent whose certificate this CA signed is "
	    "refused – minisocctl pki crl, then systemctl reload minisoc-collector",
	    c->conf.tls_crl, c->crl_issuer, when, days);
	a.n_samples = 1;
	collector_alert(c, &a);
}

static void
stats_cb(evutil_socket_t fd, short what, void *arg)
{
	collector_log_stats(arg, "periodic");
}

/* The counters as a Redis hash, for operators and dashboards. */
static void
metrics_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;

	crl_watch(c, ms_now_ms());
	const struct collector_stats *st = &c->stats;
	const uint64_t vals[] = { c->nsessions, st->sessions_accepted, st->sessions_refused,
		st->tls_failures, st->frames_in, st->frames_bad, st->batches_in, st->events_in,
		st->events_dup, st->events_undecoded, st->alerts, st->alerts_written,
		st->alerts_failed, st->redis_errors, sink_pending(c->sink), st->health_reports,
		st->health_malformed, st->health_skipped, c->agents_silent,
		st->sessions_rate_limited, st->sessions_handshake_limited, st->sessions_throttled,
		st->tls_fail[TLS_FAIL_EXPIRED],
		st->tls_fail[TLS_FAIL_UNKNOWN_CA], st->tls_fail[TLS_FAIL_PURPOSE],
		st->tls_fail[TLS_FAIL_REVOKED], st->tls_fail[TLS_FAIL_NO_CERT],
		st->tls_fail[TLS_FAIL_BAD_ID], st->tls_fail[TLS_FAIL_TIMEOUT],
		st->tls_fail[TLS_FAIL_CLOSED], st->tls_fail[TLS_FAIL_OTHER], st->agents_unassigned,
		st->spool_records, st->spool_replayed, sink_spool_bytes(c->sink), st->alerts_folded,
		st->alerts_aggregated, st->events_time_capped, st->events_values_cut };
	static const char *const names[] = { "sessions", "sessions_accepted", "sessions_refused",
		"tls_failures", "frames_in", "frames_bad", "batches_in", "events_in", "events_dup",
		"events_undecoded", "alerts", "alerts_written", "alerts_failed", "redis_errors",
		"redis_pending", "health_reports", "health_malformed", "health_skipped",
		"agents_silent", "sessions_rate_limited", "sessions_handshake_limited",
		"sessions_throttled", "tls_failures.expired",
		"tls_failures.unknown_ca", "tls_failures.purpose", "tls_failures.revoked",
		"tls_failures.no_cert", "tls_failures.bad_identity", "tls_failures.timeout",
		"tls_failures.closed", "tls_failures.other", "agents_unassigned", "spool_records",
		"spool_replayed", "spool_bytes", "alerts_folded", "alerts_aggregated",
		"events_time_capped", "events_values_cut" };
	_Static_assert(MS_ARRAY_LEN(vals) == MS_ARRAY_LEN(names), "one name per counter");
	char v[MS_ARRAY_LEN(names)][24], now[32];
	const char *kv[2 * (MS_ARRAY_LEN(names) + 1)];
	size_t n = 0;

	for (size_t i = 0; i < MS_ARRAY_LEN(names); i++) {
		snprintf(v[i], sizeof(v[i]), "%" PRIu64, vals[i]);
		kv[n++] = names[i];
		kv[n++] = v[i];
	}
	ms_fmt_time(now, sizeof(now), ms_now_ms());
	kv[n++] = "updated";
	kv[n++] = now;
	collector_stats_hset(c, kv, n);
}

void
collector_stats_hset(struct collector *c, const char *const *kv, size_t nkv)
{
	/*
	 * Collectors of one deployment share Redis (failover): in one common
	 * hash a standby's zeros replaced the primary's numbers every 10 s.
	 * Each has its own; the common one stays (the last to write it) for
	 * what reads it already.
	 */
	sink_hset(c->sink, c->stats_key, kv, nkv);
	sink_hset(c->sink, "minisoc:collector:stats", kv, nkv);
}

/*
 * Whether the heap is on transparent huge pages: glibc asked for them
 * (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as the systemd unit sets) and
 * the kernel gives them ("always" or "madvise"); "hugetlb" for =2 (the
 * reserved pool). Said at start, so that an operator sees a drop-in take
 * effect (README.md, "Installing with systemd"). A kernel without the
 * sysfs file has no transparent huge pages.
 */
static const char *
collector_heap_thp(void)
{
	static const char key[] = "glibc.malloc.hugetlb=";
	const char *t = getenv("GLIBC_TUNABLES"), *p;
	char mode[128] = "";
	FILE *f;

	if (t == NULL || (p = strstr(t, key)) == NULL)
		return "off";
	p += sizeof(key) - 1;
	if (*p == '2')
		return "hugetlb";
	if (*p != '1')
		return "off";
	if ((f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r")) == NULL)
		return "unavailable";
	if (fgets(mode, sizeof(mode), f) == NULL)
		mode[0] = '\0';
	fclose(f);
	return strstr(mode, "[always]") != NULL || strstr(mode, "[madvise]") != NULL ?
	    "on" : "unavailable";
}

int
main(int argc, char **argv)
{
	struct collector c;
	struct ms_daemon_args args;
	const char *config;
	bool check;
	char err[1024];
	struct event *sigs[4] = { NULL }, *stats = NULL, *metrics = NULL;
	struct timeval metrics_tv = { 10, 0 };
	const int signums[4] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct bruteforce_conf bfc;
	struct timeval stats_tv = { 300, 0 };
	int ch, rc = 1;

	memset(&c, 0, sizeof(c));
	TAILQ_INIT(&c.sessions);
	c.started_ms = ms_now_ms();
	if ((ch = ms_daemon_args(argc, argv, "collector", usage, &args)) >= 0)
		return ch;
	config = args.config;
	check = args.check;
	/* The password is read once, here: a reload runs without root. */
	if (collector_conf_load(config, &c.conf, err, sizeof(err)) < 0 ||
	    ms_redis_password_load(c.conf.redis_password_file, c.conf.redis_password,
	    sizeof(c.conf.redis_password), err, sizeof(err)) < 0) {
		ms_err("event=config_error reason=\"%s\"", err);
		return 1;
	}
	if (ms_daemon_log_level("collector", &args, c.conf.log_level) < 0)
		return 1;
	{
		char host[256] = "";

		if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
			ms_copy(host, sizeof(host), "localhost", 9);
		snprintf(c.stats_key, sizeof(c.stats_key), "minisoc:collector:stats:%s:%" PRId64, host,
		    c.conf.listen_port);
	}
	if ((c.ssl_ctx = ms_tls_server_ctx_new(c.conf.tls_ca, c.conf.tls_cert, c.conf.tls_key,
	    err, sizeof(err))) == NULL || (c.conf.tls_crl[0] &&
	    ms_tls_ctx_load_crl(c.ssl_ctx, c.conf.tls_crl, err, sizeof(err)) < 0) ||
	    (c.conf.tls_allow_tls12 && ms_tls_ctx_allow_tls12(c.ssl_ctx) < 0 &&
	    snprintf(err, sizeof(err), "cannot allow TLS 1.2") > 0)) {
		ms_err("event=config_error reason=\"%s\"", err);
		SSL_CTX_free(c.ssl_ctx);
		return 1;
	}
	crl_track(&c);
	if (check) {
		bool failed;
		struct aggregate *ag = aggregate_new(0, c.conf.aggregate_rules, 16, err, sizeof(err));
		struct sigma_set *set;

		if (ag == NULL) {
			ms_err("event=config_error reason=\"%s\"", err);
			SSL_CTX_free(c.ssl_ctx);
			return 1;
		}
		aggregate_free(ag);
		set = rules_load(&c.conf, true, &failed);
		sigma_set_free(set);
		SSL_CTX_free(c.ssl_ctx);
		if (!failed && registry_start(&c, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		registry_stop(&c);
		if (!failed && enroll_check(&c.conf, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", config, err);
			return 1;
		}
		if (failed) {
			fprintf(stderr, "%s: rules did not load cleanly (see above)\n", config);
			return 1;
		}
		printf("%s: configuration, certificates, rules and register OK\n", config);
		return 0;
	}
	c.config_file = config;
	signal(SIGPIPE, SIG_IGN);
	ms_buf_init(&c.alert_buf, 256 * 1024);
	if ((c.decoded = malloc(sizeof(*c.decoded))) == NULL ||
	    (c.auditd = decode_auditd_cache_new()) == NULL ||
	    (c.base = event_base_new()) == NULL ||
	    (c.agents = ms_map_new(agent_state_free)) == NULL) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	/*
	 * Signals are caught from here on (they are handled once the loop
	 * runs): a SIGUSR1 or SIGHUP that comes while the rules load or the
	 * spool is scanned must not kill the process with the default action.
	 */
	if ((c.reload_ev = event_new(c.base, -1, 0, reload_cb, &c)) == NULL ||
	    (c.conf.log_flush_ms > 0 &&
	    (c.log_timer = evtimer_new(c.base, log_timer_cb, &c)) == NULL)) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	/* Info lines (one per alert) wait for the log timer: see collector_log_later. */
	if (c.log_timer)
		ms_log_set_lazy(true);
	if (ms_daemon_signals(c.base, signums, MS_ARRAY_LEN(signums), signal_cb, &c, sigs) < 0)
		goto out;
	bruteforce_conf_defaults(&bfc);
	bfc.threshold = (unsigned)c.conf.bf_threshold;
	bfc.window_ms = c.conf.bf_window_s * 1000;
	bfc.quiet_ms = c.conf.bf_quiet_s * 1000;
	bfc.max_sources = (size_t)c.conf.bf_max_sources;
	if (c.conf.bf_enabled) {
		if ((c.detectors[c.ndetectors] = detect_bruteforce_new(&bfc)) == NULL) {
			ms_err("event=start_error reason=\"cannot create the brute-force detector\"");
			goto out;
		}
		c.ndetectors++;
	}
	if (c.conf.rules_path[0]) {
		bool failed;
		/* At start, run what loaded; every reject was logged. */
		struct sigma_set *set = rules_load(&c.conf, false, &failed);
		if (set == NULL) {
			ms_err("event=start_error reason=\"cannot load rules.path\"");
			goto out;
		}
		if ((c.sigma = sigma_detector_new(set)) == NULL)
			goto out;
		c.detectors[c.ndetectors++] = c.sigma;
	}
	if (c.conf.aggregate_window_s > 0 || c.conf.aggregate_rules[0]) {
		struct timeval tv = { 1, 0 };
		if ((c.aggregate = aggregate_new(c.conf.aggregate_window_s * 1000,
		    c.conf.aggregate_rules, (size_t)c.conf.aggregate_max_keys, err,
		    sizeof(err))) == NULL ||
		    (c.aggregate_timer = event_new(c.base, -1, EV_PERSIST, aggregate_timer_cb,
		    &c)) == NULL ||
		    (c.aggregate_more = evtimer_new(c.base, aggregate_timer_cb, &c)) == NULL) {
			ms_err("event=start_error reason=\"%s\"", c.aggregate ? "out of memory" : err);
			goto out;
		}
		evtimer_add(c.aggregate_timer, &tv);
	}
	if (registry_start(&c, err, sizeof(err)) < 0) {
		ms_err("event=start_error reason=\"%.900s\"", err);
		goto out;
	}
	/* Known agents and their status are read back before any session's work. */
	if ((c.sink = sink_redis_new(&c, err, sizeof(err))) == NULL ||
	    health_start(&c, err, sizeof(err)) < 0 ||
	    metrics_start(&c, err, sizeof(err)) < 0 ||
	    (c.listener = listener_new(&c, err, sizeof(err))) == NULL) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	/* The register for the dashboard, sent once Redis answers. */
	registry_publish(&c);
	/* The enrolment CA key is read here, while still root. */
	if ((c.enroll = enroll_new(&c, err, sizeof(err))) == NULL && err[0]) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	/* The spool is opened as the collector's user: its folder is given to it first. */
	if (c.conf.spool_dir[0] && c.conf.user[0] &&
	    ((mkdir(c.conf.spool_dir, 0750) < 0 && errno != EEXIST &&
	    snprintf(err, sizeof(err), "spool.dir %s: %s", c.conf.spool_dir, strerror(errno)) > 0) ||
	    ms_priv_give_dir(c.conf.user, c.conf.spool_dir, err, sizeof(err)) < 0)) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	/* Port bound, keys and rules loaded: root is not needed any more. */
	ms_priv_root_said(c.conf.user, "collector.user");
	if (ms_priv_drop(c.conf.user, err, sizeof(err)) < 0) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	/* As the collector's own user, so it owns what it creates. */
	if (sink_spool_open(c.sink, err, sizeof(err)) < 0) {
		ms_err("event=start_error reason=\"spool: %s\"", err);
		goto out;
	}
	if (archive_start(&c, err, sizeof(err)) < 0) {
		ms_err("event=start_error reason=\"archive: %s\"", err);
		goto out;
	}
	if ((stats = event_new(c.base, -1, EV_PERSIST, stats_cb, &c)) != NULL)
		evtimer_add(stats, &stats_tv);
	if ((metrics = event_new(c.base, -1, EV_PERSIST, metrics_cb, &c)) != NULL)
		evtimer_add(metrics, &metrics_tv);
	/* pcre2_jit=off under MemoryDenyWriteExecute=yes: the regexes are interpreted. */
	ms_info("event=start version=%s config=%s heap_thp=%s pcre2_jit=%s", MINISOC_VERSION, config,
	    collector_heap_thp(), sigma_re_jit_available() ? "on" : "off");
	event_base_dispatch(c.base);
	collector_log_stats(&c, "exit");
	if (c.archive) {
		const struct archive_stats *as = archive_get_stats(c.archive);
		ms_info("event=archive_stats events=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64
		    " write_errors=%" PRIu64 " dropped=%" PRIu64 " files_opened=%" PRIu64
		    " files_expired=%" PRIu64, as->events, as->bytes_in, as->bytes_out,
		    as->write_errors, as->dropped, as->files_opened, as->files_expired);
	}
	rc = 0;
	ms_info("event=stop");
out:
	while (!TAILQ_EMPTY(&c.sessions))
		session_free(TAILQ_FIRST(&c.sessions));
	listener_free(c.listener);
	metrics_stop(&c);
	enroll_free(c.enroll);
	health_stop(&c);
	sink_free(c.sink);
	if (c.archive_timer)
		event_free(c.archive_timer);
	archive_free(c.archive);
	ms_comp_profile_free(c.archive_prof[0]);
	ms_comp_profile_free(c.archive_prof[1]);
	for (size_t i = 0; i < c.ndetectors; i++)
		detector_free(c.detectors[i]);
	for (size_t i = 0; i < MS_ARRAY_LEN(sigs); i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (stats)
		event_free(stats);
	if (metrics)
		event_free(metrics);
	if (c.stop_timer)
		event_free(c.stop_timer);
	if (c.aggregate_timer)
		event_free(c.aggregate_timer);
	if (c.aggregate_more)
		event_free(c.aggregate_more);
	ms_log_set_lazy(false);
	if (c.log_timer)
		event_free(c.log_timer);
	if (c.reload_ev)
		event_free(c.reload_ev);
	aggregate_free(c.aggregate);
	ms_map_free(c.agents);
	registry_stop(&c);
	free(c.decoded);
	decode_auditd_cache_free(c.auditd);
	ms_buf_fini(&c.alert_buf);
	SSL_CTX_free(c.ssl_ctx);
	if (c.base)
		event_base_free(c.base);
	return rc;
}
