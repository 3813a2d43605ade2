/*
 * metrics – the collector's counters in the Prometheus text exposition
 * format (version 0.0.4) at GET /metrics, served by libevent's evhttp on
 * the collector's own loop from a separate listener (metrics.address,
 * metrics.port; off by default).
 *
 * Everything shown is read at scrape time from what the collector counts
 * anyway (struct collector_stats, the agents' states, the Sigma set's hit
 * counters, the sink's queue): counting costs an increment per event,
 * nothing is allocated per event. The page itself is built per scrape.
 *
 * No authentication: the listener is meant for loopback or a scrape
 * network, like node_exporter's. It only answers GET /metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "collector.h"
#include "ms_log.h"
#include "sigma_set.h"
#include "sink.h"

struct metrics {
	struct evhttp *http;
};

/* Upper bounds of the Redis round-trip buckets, in microseconds. */
static const int64_t rtt_bounds_us[] = { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 1000000 };
_Static_assert(MS_ARRAY_LEN(rtt_bounds_us) ==
    MS_ARRAY_LEN(((struct collector_stats *)0)->redis_rtt_bucket), "one counter per bucket");

static const char *const sev_names[] = { "informational", "low", "medium", "high", "critical",
	"other" };
_Static_assert(MS_ARRAY_LEN(sev_names) == MS_ARRAY_LEN(((struct collector_stats *)0)->alerts_sev),
    "one counter per severity");

/* Frame errors by the MS_ERR_* code the collector answered with. */
static const char *const frame_reasons[16] = { "other", "protocol", "version", "type", "too_big",
	"sequence", "timeout" };

void
metrics_redis_rtt(struct collector *c, int64_t us)
{
	struct collector_stats *s = &c->stats;
	size_t i;

	if (us < 0)
		us = 0;
	s->redis_rtt_count++;
	s->redis_rtt_sum_us += (uint64_t)us;
	for (i = 0; i < MS_ARRAY_LEN(rtt_bounds_us); i++)
		if (us <= rtt_bounds_us[i]) {
			s->redis_rtt_bucket[i]++;
			break;
		}
	/* above the last bound: only in count (+Inf) */
}

void
metrics_alert(struct collector *c, const char *severity)
{
	size_t i;

	for (i = 0; i + 1 < MS_ARRAY_LEN(sev_names); i++)
		/* The first byte first: one strcmp call, not one per level. */
		if (severity && severity[0] == sev_names[i][0] && strcmp(severity, sev_names[i]) == 0)
			break;
	c->stats.alerts_sev[i]++;
}

/* A label value: backslash, double quote and newline escaped (exposition format). */
static void
put_label(struct evbuffer *b, const char *v)
{
	const char *p = v;

	for (; *p; p++) {
		size_t run = strcspn(p, "\\\"\n");
		evbuffer_add(b, p, run);
		p += run;
		if (*p == '\0')
			break;
		evbuffer_add(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
	}
}

static void
head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(struct evbuffer *b, const char *name, const char *type, const char *help, uint64_t v)
{
	head(b, name, type, help);
	evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void
labelled(struct evbuffer *b, const char *name, const char *label, const char *value, uint64_t v)
{
	evbuffer_add_printf(b, "%s{%s=\"", name, label);
	put_label(b, value);
	evbuffer_add_printf(b, "\"} %" PRIu64 "\n", v);
}

static void
write_agents(struct evbuffer *b, struct collector *c)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "minisoc_agent_events_received_total", "counter",
		  "Events received from the agent since the collector started (duplicates included)" },
		{ "minisoc_agent_events_duplicate_total", "counter",
		  "Events of the agent skipped as already handled" },
		{ "minisoc_agent_alerts_total", "counter", "Alerts raised with the agent's id" },
		{ "minisoc_agent_connected", "gauge", "1 while the agent has a session here" },
		{ "minisoc_agent_silent", "gauge", "1 while the agent's status is silent" },
		{ "minisoc_agent_last_seen_timestamp_seconds", "gauge",
		  "Wall clock of the agent's last frame (0: never)" },
		{ "minisoc_agent_backlog_events", "gauge",
		  "Events the agent read and the collector has not acknowledged (last health report)" },
		{ "minisoc_agent_spool_bytes", "gauge",
		  "Bytes in the agent's spool on disk (last health report)" },
	};

	for (size_t k = 0; k < MS_ARRAY_LEN(m); k++) {
		struct ms_map_iter it;
		struct agent_state *st;

		head(b, m[k].name, m[k].type, m[k].help);
		ms_map_iter_init(&it);
		while ((st = ms_map_next(c->agents, &it, NULL, NULL)) != NULL) {
			uint64_t v;

			switch (k) {
			case 0: v = st->events_in; break;
			case 1: v = st->events_dup; break;
			case 2: v = st->alerts; break;
			case 3: v = st->session != NULL; break;
			case 4: v = st->status == AGENT_STATUS_SILENT; break;
			case 5: v = st->last_seen_ms > 0 ? (uint64_t)st->last_seen_ms / 1000 : 0; break;
			case 6: v = st->backlog_events; break;
			default: v = st->spool_bytes; break;
			}
			if (k >= 6 && !st->has_backlog)
				continue;
			labelled(b, m[k].name, "agent", st->id, v);
		}
	}
}

static void
write_rules(struct evbuffer *b, struct collector *c)
{
	const struct sigma_set *set = c->sigma ? sigma_detector_set(c->sigma) : NULL;

	head(b, "minisoc_rule_hits_total", "counter",
	    "Events a Sigma rule matched, or times a correlation fired, since the rules were (re)loaded");
	if (set == NULL)
		return;
	for (size_t i = 0, n = sigma_set_count(set); i < n; i++) {
		const char *key = sigma_set_key(set, i);
		if (*key)
			labelled(b, "minisoc_rule_hits_total", "rule", key, sigma_set_hits(set, i));
	}
	head(b, "minisoc_rule_groups_evicted_total", "counter",
	    "Groups a correlation dropped (least recently seen first) because it held "
	    "rules.max_groups, since the rules were (re)loaded; their windows are lost");
	for (size_t i = 0, n = sigma_set_count(set); i < n; i++) {
		const char *key = sigma_set_key(set, i);
		uint64_t ev;

		if (*key && sigma_set_evicted(set, i, &ev) == 0)
			labelled(b, "minisoc_rule_groups_evicted_total", "rule", key, ev);
	}
	one(b, "minisoc_rule_groups_bytes", "gauge",
	    "Bytes the correlation rules' groups hold (windows, samples, values); "
	    "rules.max_memory_mb caps it", sigma_set_groups_bytes(set));
	one(b, "minisoc_rule_chain_dropped_total", "counter",
	    "Feeds of chained correlations not made: one event set off more than the "
	    "per-event bounds, since the rules were (re)loaded", sigma_set_chain_dropped(set));
	one(b, "minisoc_rule_events_skipped_total", "counter",
	    "Events the rules did not run on because memory ran out building their "
	    "logsource's rule list, since the rules were (re)loaded", sigma_set_eval_skipped(set));
}

static void
write_all(struct evbuffer *b, struct collector *c)
{
	const struct collector_stats *s = &c->stats;
	uint64_t decoded = s->events_in - s->events_dup - s->events_undecoded, cum = 0;
	size_t tracked = 0;
	uint64_t cut = 0, skipped = 0, unreadable = 0;

	for (size_t i = 0; i < c->ndetectors; i++)
		if (c->detectors[i]->tracked)
			tracked += c->detectors[i]->tracked(c->detectors[i]->state);
	head(b, "minisoc_build_info", "gauge", "Version of the running collector");
	evbuffer_add_printf(b, "minisoc_build_info{version=\"%s\"} 1\n", MINISOC_VERSION);
	head(b, "minisoc_start_time_seconds", "gauge", "Wall clock when the collector started");
	evbuffer_add_printf(b, "minisoc_start_time_seconds %" PRId64 "\n", c->started_ms / 1000);

	one(b, "minisoc_events_received_total", "counter",
	    "Events received from agents (duplicates included)", s->events_in);
	one(b, "minisoc_events_decoded_total", "counter",
	    "Events a decoder recognised (neither duplicate nor undecoded)", decoded);
	head(b, "minisoc_events_rejected_total", "counter",
	    "Events not decoded, by reason (still seen by keyword rules when undecoded)");
	labelled(b, "minisoc_events_rejected_total", "reason", "duplicate", s->events_dup);
	labelled(b, "minisoc_events_rejected_total", "reason", "undecoded", s->events_undecoded);
	one(b, "minisoc_events_time_capped_total", "counter",
	    "Events dated more than 5 s ahead of the collector's clock, taken as dated then "
	    "(a wrong clock on the agent's host, or a forged line)", s->events_time_capped);
	one(b, "minisoc_events_values_cut_total", "counter",
	    "Events with a field that holds only the first and last bytes of a longer value "
	    "(an auditd exe or command line over its 512-byte slot: a program run from a deep "
	    "directory)", s->events_values_cut);
	one(b, "minisoc_batches_received_total", "counter", "Batches received from agents",
	    s->batches_in);
	one(b, "minisoc_frames_received_total", "counter", "Frames received from agents", s->frames_in);
	head(b, "minisoc_frames_rejected_total", "counter",
	    "Frames refused (session closed), by the error sent back");
	for (size_t i = 0; i < MS_ARRAY_LEN(frame_reasons); i++)
		if (frame_reasons[i] && (i < 7 || s->frames_bad_code[i]))
			labelled(b, "minisoc_frames_rejected_total", "reason", frame_reasons[i],
			    s->frames_bad_code[i]);

	write_agents(b, c);
	write_rules(b, c);

	head(b, "minisoc_alerts_total", "counter", "Alerts raised, by severity");
	for (size_t i = 0; i < MS_ARRAY_LEN(sev_names); i++)
		labelled(b, "minisoc_alerts_total", "severity", sev_names[i], s->alerts_sev[i]);
	one(b, "minisoc_alerts_written_total", "counter", "Alerts Redis confirmed", s->alerts_written);
	one(b, "minisoc_alerts_failed_total", "counter", "Alerts dropped (too big, out of memory)",
	    s->alerts_failed);
	one(b, "minisoc_detect_tracked", "gauge",
	    "Keys held by detectors (brute-force sources, correlation groups)", tracked);

	one(b, "minisoc_sink_pending", "gauge",
	    "Alerts and checkpoints waiting in memory for Redis or for the spool's fsync (alerts count one each)",
	    c->sink ? sink_pending(c->sink) : 0);
	one(b, "minisoc_spool_bytes", "gauge",
	    "Size of the collector's spool on disk (operations Redis has not confirmed yet)",
	    c->sink ? sink_spool_bytes(c->sink) : 0);
	if (c->sink)
		sink_spool_losses(c->sink, &cut, &skipped, &unreadable);
	one(b, "minisoc_spool_cut_bytes_total", "counter",
	    "Spool bytes cut at start: a tail torn by a crash (its agents send it again) or not proven on disk",
	    cut);
	one(b, "minisoc_spool_damaged_bytes_total", "counter",
	    "Spool bytes skipped as damage between good records (the alerts in them are lost)", skipped);
	one(b, "minisoc_spool_unreadable_bytes_total", "counter",
	    "Spool bytes the disk could not read after three tries", unreadable);
	one(b, "minisoc_spool_records_total", "counter",
	    "Operations written to the spool while Redis was away or behind", s->spool_records);
	one(b, "minisoc_spool_replayed_total", "counter",
	    "Spooled operations confirmed by Redis afterwards", s->spool_replayed);
	one(b, "minisoc_alerts_folded_total", "counter",
	    "Alerts folded into an aggregation window (not sent on their own)", s->alerts_folded);
	one(b, "minisoc_alerts_aggregated_total", "counter",
	    "Aggregation summaries sent", s->alerts_aggregated);
	one(b, "minisoc_sink_pending_max", "gauge",
	    "redis.max_pending: memory operations (behind a full spool, or without one) above which sessions stop reading",
	    c->conf.redis_max_pending);
	one(b, "minisoc_redis_connected", "gauge", "1 while the sink is connected to Redis",
	    c->sink && sink_connected(c->sink));
	one(b, "minisoc_redis_errors_total", "counter", "Error replies from Redis", s->redis_errors);
	one(b, "minisoc_redis_connects_total", "counter", "Connections made to Redis",
	    s->redis_reconnects);
	head(b, "minisoc_redis_rtt_seconds", "histogram",
	    "Time from sending an operation to Redis until its last reply");
	for (size_t i = 0; i < MS_ARRAY_LEN(rtt_bounds_us); i++) {
		cum += s->redis_rtt_bucket[i];
		evbuffer_add_printf(b, "minisoc_redis_rtt_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
		    (double)rtt_bounds_us[i] / 1e6, cum);
	}
	evbuffer_add_printf(b, "minisoc_redis_rtt_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "minisoc_redis_rtt_seconds_sum %.6f\nminisoc_redis_rtt_seconds_count %" PRIu64 "\n",
	    s->redis_rtt_count, (double)s->redis_rtt_sum_us / 1e6, s->redis_rtt_count);

	one(b, "minisoc_sessions", "gauge", "Agent connections open now", c->nsessions);
	one(b, "minisoc_sessions_handshaking", "gauge", "Connections still in the TLS handshake",
	    c->nhandshakes);
	one(b, "minisoc_sessions_accepted_total", "counter", "Connections accepted",
	    s->sessions_accepted);
	one(b, "minisoc_sessions_refused_total", "counter",
	    "Connections closed before TLS (limits, per-address limits)", s->sessions_refused);
	one(b, "minisoc_sessions_rate_limited_total", "counter",
	    "Of the refused: over limits.connect_rate_per_ip", s->sessions_rate_limited);
	one(b, "minisoc_sessions_handshake_limited_total", "counter",
	    "Of the refused: over limits.max_handshakes_per_ip", s->sessions_handshake_limited);
	one(b, "minisoc_sessions_throttled_total", "counter",
	    "Times an agent was paused by limits.agent_events_per_s", s->sessions_throttled);
	head(b, "minisoc_tls_handshake_failures_total", "counter",
	    "TLS handshakes or certificates refused, by reason");
	for (size_t i = 0; i < TLS_FAIL_N; i++)
		labelled(b, "minisoc_tls_handshake_failures_total", "reason", tls_fail_names[i],
		    s->tls_fail[i]);

	one(b, "minisoc_health_reports_total", "counter", "Valid agent health reports",
	    s->health_reports);
	one(b, "minisoc_health_reports_malformed_total", "counter",
	    "Health reports ignored as malformed", s->health_malformed);
	one(b, "minisoc_health_reports_skipped_total", "counter",
	    "Valid health reports not stored (Redis congested)", s->health_skipped);
	one(b, "minisoc_agents_known", "gauge", "Agent identities the collector knows",
	    ms_map_count(c->agents));
	one(b, "minisoc_agents_silent", "gauge", "Agents whose status is silent now",
	    c->agents_silent);
	if (c->enroll) {
		uint64_t n[3];

		enroll_counts(c->enroll, n);
		head(b, "minisoc_enrollments_total", "counter",
		    "Enrolment listener: certificates issued (enrolled, renewed) and requests refused");
		labelled(b, "minisoc_enrollments_total", "result", "enrolled", n[0]);
		labelled(b, "minisoc_enrollments_total", "result", "renewed", n[1]);
		labelled(b, "minisoc_enrollments_total", "result", "refused", n[2]);
	}
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct collector *c = arg;
	struct evbuffer *b;
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	/* "/metrics" and "/metrics?..." (Prometheus may add parameters). */
	if (uri == NULL || strncmp(uri, "/metrics", 8) != 0 || (uri[8] != '\0' && uri[8] != '?')) {
		evhttp_send_error(req, 404, "Only /metrics here");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Out of memory");
		return;
	}
	write_all(b, c);
	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

int
metrics_start(struct collector *c, char *err, size_t errsz)
{
	struct metrics *m;

	if (c->conf.metrics_port == 0)
		return 0;
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->http = evhttp_new(c->base)) == NULL) {
		free(m);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	/* A scrape is one small GET: anything bigger or slower is not a scraper. */
	evhttp_set_max_headers_size(m->http, 16384);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(m->http, request_cb, c);
	if (evhttp_bind_socket(m->http, c->conf.metrics_address, (ev_uint16_t)c->conf.metrics_port) < 0) {
		snprintf(err, errsz, "metrics: cannot listen on %s port %" PRId64,
		    c->conf.metrics_address, c->conf.metrics_port);
		evhttp_free(m->http);
		free(m);
		return -1;
	}
	c->metrics = m;
	ms_info("event=metrics_listening address=%s port=%" PRId64 " path=/metrics",
	    c->conf.metrics_address, c->conf.metrics_port);
	return 0;
}

void
metrics_stop(struct collector *c)
{
	if (c->metrics == NULL)
		return;
	evhttp_free(c->metrics->http);
	free(c->metrics);
	c->metrics = NULL;
}
