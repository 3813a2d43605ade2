/*
 * health – what the collector knows of each agent besides its events: its
 * health reports (HEALTH frames, kept in minisoc:agent:<id>:health),
 * whether it is heard from (the minisoc-agent-silent and minisoc-agent-back
 * alerts, its status in minisoc:agent:<id>), and whether its rate limit
 * keeps applying (minisoc-agent-flooding).
 *
 * Any frame of an agent's session is a sign of life. An agent is known
 * once it said hello to this collector, or when minisoc:agents:last_seen
 * lists it from before a restart. A known agent without a frame for
 * agents.heartbeat_ms x agents.silent_after_missed becomes silent: one
 * alert; its next frame makes it online again with one "back" alert. The
 * status lives in Redis, so a restart neither repeats a silent alert nor
 * forgets an agent that is away. Times are wall clock: they must mean the
 * same after a restart.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "ms_log.h"
#include "ms_proto.h"
#include "sink.h"

static int64_t
silence_ms(const struct collector *c)
{
	return c->conf.agents_heartbeat_ms * c->conf.agents_silent_after_missed;
}

/* How often silence is checked: a few times per heartbeat, at least once a second. */
static int64_t
silence_tick(const struct collector *c)
{
	int64_t tick = c->conf.agents_heartbeat_ms / 4;

	return tick < 25 ? 25 : tick > 1000 ? 1000 : tick;
}

/* A duration for people: "47 s", "12 min", "3 h 5 min", "2 d 4 h". */
static void
fmt_duration(char *out, size_t outsz, int64_t ms)
{
	int64_t s = ms < 0 ? 0 : (ms + 500) / 1000;

	if (s < 120)
		snprintf(out, outsz, "%" PRId64 " s", s);
	else if (s < 3 * 3600)
		snprintf(out, outsz, "%" PRId64 " min", s / 60);
	else if (s < 2 * 86400)
		snprintf(out, outsz, "%" PRId64 " h %" PRId64 " min", s / 3600, s / 60 % 60);
	else
		snprintf(out, outsz, "%" PRId64 " d %" PRId64 " h", s / 86400, s / 3600 % 24);
}

/* Raises one alert about st itself (not about its events). */
static void
agent_alert(struct collector *c, const struct agent_state *st, const char *rule,
    const char *severity, const char *title, int64_t first_ms, int64_t last_ms, unsigned count,
    const char *sample)
{
	static struct alert a;	/* large (samples): off the stack */

	memset(&a, 0, sizeof(a));
	a.rule_id = rule;
	a.rule_title = title;
	a.severity = severity;
	ms_copy(a.agent_id, sizeof(a.agent_id), st->id, strlen(st->id));
	if (st->host[0])
		ms_copy(a.host, sizeof(a.host), st->host, strlen(st->host));
	else
		ms_copy(a.host, sizeof(a.host), st->id, strlen(st->id));
	a.count = count;
	a.first_ms = first_ms;
	a.last_ms = last_ms;
	ms_copy(a.samples[0], sizeof(a.samples[0]), sample, strlen(sample));
	a.n_samples = 1;
	collector_alert(c, &a);
}

/* Queues st's status for Redis; read back at the next start. */
static void
write_status(struct collector *c, const struct agent_state *st)
{
	char key[192], since[24];
	const char *kv[] = { "status", st->status == AGENT_STATUS_SILENT ? "silent" : "online",
		"status_since_ms", since };

	snprintf(key, sizeof(key), "minisoc:agent:%s", st->id);
	snprintf(since, sizeof(since), "%" PRId64, st->status_since_ms);
	if (sink_hset_state(c->sink, key, kv, MS_ARRAY_LEN(kv)) < 0)
		ms_err("event=agent_status_lost agent=%s reason=out_of_memory", st->id);
}

static void
write_seen(struct collector *c, struct agent_state *st, int64_t now)
{
	char v[24];
	const char *kv[] = { st->id, v };

	snprintf(v, sizeof(v), "%" PRId64, st->last_seen_ms);
	sink_hset(c->sink, "minisoc:agents:last_seen", kv, MS_ARRAY_LEN(kv));
	st->seen_written_ms = now;
}

static void
set_status(struct collector *c, struct agent_state *st, enum agent_status status, int64_t now)
{
	if (st->status == AGENT_STATUS_SILENT)
		c->agents_silent--;
	if (status == AGENT_STATUS_SILENT)
		c->agents_silent++;
	st->status = status;
	st->status_since_ms = now;
	write_status(c, st);
}

/* A frame from st at now, its status being known. */
static void
seen_at(struct collector *c, struct agent_state *st, int64_t now)
{
	int64_t prev = st->last_seen_ms;

	if (now > st->last_seen_ms)
		st->last_seen_ms = now;
	if (st->status == AGENT_STATUS_SILENT) {
		char title[384], sample[256], away[32], t_last[32], t_silent[32];
		int64_t from = prev > 0 ? prev : st->status_since_ms;

		fmt_duration(away, sizeof(away), now - from);
		ms_fmt_time(t_last, sizeof(t_last), prev);
		ms_fmt_time(t_silent, sizeof(t_silent), st->status_since_ms);
		snprintf(title, sizeof(title), "Agent back after %s of silence (peer %s)", away,
		    st->peer[0] ? st->peer : "unknown");
		snprintf(sample, sizeof(sample), "last frame before: %s; silent since %s",
		    prev > 0 ? t_last : "unknown", t_silent);
		ms_info("event=agent_back agent=%s peer=%s away_ms=%" PRId64, st->id, st->peer,
		    now - from);
		set_status(c, st, AGENT_STATUS_ONLINE, now);
		agent_alert(c, st, "minisoc-agent-back", "informational", title, from, now, 1, sample);
	} else if (st->status == AGENT_STATUS_NONE) {
		set_status(c, st, AGENT_STATUS_ONLINE, now);
	}
	if (st->seen_written_ms == 0 || now - st->seen_written_ms >= c->conf.agents_heartbeat_ms)
		write_seen(c, st, now);
}

void
health_seen(struct collector *c, struct agent_state *st, const char *peer)
{
	int64_t now = ms_now_ms();

	ms_copy(st->peer, sizeof(st->peer), peer, strlen(peer));
	/* An agent new since the list was read has no status to wait for. */
	if (!st->status_loaded && c->agents_listed && !st->status_pending)
		st->status_loaded = true;
	if (!st->status_loaded) {
		/* Judged once its status is back from Redis: it may be coming back. */
		st->pending_seen_ms = now;
		return;
	}
	seen_at(c, st, now);
}

static void
went_silent(struct collector *c, struct agent_state *st, int64_t now)
{
	char title[384], sample[256], dur[32], t[32];
	/* How long it is silent: since its last frame, or since we could hear it. */
	int64_t from = st->last_seen_ms > 0 ? st->last_seen_ms : c->agents_loaded_ms;
	const char *peer = st->peer[0] ? st->peer : "unknown";

	fmt_duration(dur, sizeof(dur), now - from);
	ms_fmt_time(t, sizeof(t), from);
	snprintf(title, sizeof(title), "Agent silent: no frame for %s (last peer %s)", dur, peer);
	if (st->last_seen_ms > 0)
		snprintf(sample, sizeof(sample), "last frame %s from %s; heartbeats every %" PRId64
		    " ms expected", t, peer, c->conf.agents_heartbeat_ms);
	else
		snprintf(sample, sizeof(sample), "no frame since the collector started at %s", t);
	ms_warn("event=agent_silent agent=%s peer=%s silent_ms=%" PRId64, st->id, peer,
	    now - from);
	set_status(c, st, AGENT_STATUS_SILENT, now);
	agent_alert(c, st, "minisoc-agent-silent", "high", title, from, now,
	    (unsigned)((now - from) / c->conf.agents_heartbeat_ms), sample);
}

static void
silence_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	struct ms_map_iter it;
	struct agent_state *st;
	int64_t now = ms_now_ms();

	(void)fd;
	(void)what;
	if (c->stopping || c->agents_loaded_ms == 0)
		return;
	/*
	 * This loop itself stalled (suspended, starved of CPU): frames may wait
	 * unread, so nobody is judged on time we could not listen.
	 */
	if (c->silence_tick_ms && now - c->silence_tick_ms > 4 * silence_tick(c) + 200) {
		ms_warn("event=collector_stalled stalled_ms=%" PRId64 " note=\"silence counted from now\"",
		    now - c->silence_tick_ms);
		c->heard_since_ms = now;
	}
	c->silence_tick_ms = now;
	ms_map_iter_init(&it);
	while ((st = ms_map_next(c->agents, &it, NULL, NULL)) != NULL) {
		int64_t ref;

		if (!st->status_loaded || st->status == AGENT_STATUS_SILENT)
			continue;
		if (st->session && session_is_paused(st->session)) {
			/*
			 * We stopped reading it (Redis slow, state loading): its
			 * frames wait unread. Its silence counts from when we read again.
			 */
			st->unread_ms = now;
			continue;
		}
		/* Nobody could hear it before the collector ran (or while we did not read). */
		ref = st->last_seen_ms;
		if (ref < c->heard_since_ms)
			ref = c->heard_since_ms;
		if (ref < st->unread_ms)
			ref = st->unread_ms;
		if (now - ref < silence_ms(c) || st->seen_checking)
			continue;
		/*
		 * Silent here, but the agents may be on another collector of the
		 * deployment (failover: they share Redis): what that one heard
		 * is read first (health_seen_checked). Without Redis, judged here.
		 */
		if (c->sink && sink_connected(c->sink) &&
		    sink_check_seen(c->sink, st, now, ref, silence_ms(c),
		    c->conf.agents_heartbeat_ms) == 0)
			st->seen_checking = true;
		else
			went_silent(c, st, now);
	}
}

void
health_seen_checked(struct collector *c, struct agent_state *st, const char *seen,
    const char *status, const char *since, const char *verdict)
{
	int64_t now = ms_now_ms(), v = 0, ref, need = silence_ms(c), since_ms = 0;

	st->seen_checking = false;
	if (c->stopping || !st->status_loaded || st->status == AGENT_STATUS_SILENT)
		return;
	if (seen && ms_parse_i64(seen, 0, INT64_MAX, &v) == 0 && v > st->last_seen_ms) {
		/*
		 * Another collector heard it later than we did. It writes that
		 * time at most once per agents.heartbeat_ms: one more is allowed.
		 */
		st->last_seen_ms = v;
		need += c->conf.agents_heartbeat_ms;
	}
	if (status && strcmp(status, "silent") == 0 && since &&
	    ms_parse_i64(since, 0, INT64_MAX, &since_ms) == 0 && since_ms >= st->last_seen_ms) {
		/* Another collector called it silent after its last frame: one alert is enough. */
		c->agents_silent++;
		st->status = AGENT_STATUS_SILENT;
		st->status_since_ms = since_ms;
		return;
	}
	if (verdict != NULL) {
		/*
		 * Redis judged by the same rule and, silent, let one collector
		 * claim it (sink_check_seen): of collectors judging at once, one
		 * alerts; the others find its status at a later tick.
		 */
		if (strcmp(verdict, "claimed") == 0)
			went_silent(c, st, now);
		return;
	}
	ref = st->last_seen_ms;
	if (ref < c->heard_since_ms)
		ref = c->heard_since_ms;
	if (ref < st->unread_ms)
		ref = st->unread_ms;
	if (now - ref >= need)
		went_silent(c, st, now);
}

static void
loading_done(struct collector *c)
{
	c->agents_loaded_ms = c->heard_since_ms = ms_now_ms();
	ms_info("event=agents_loaded known=%zu silent=%zu", ms_map_count(c->agents),
	    c->agents_silent);
}

/* Agent ids come from certificates: the CN characters ms_tls accepts. */
static bool
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= sizeof(((struct agent_state *)0)->id))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@") == n;
}

void
health_agents_listed(struct collector *c, const char *const *kv, size_t nkv)
{
	struct ms_map_iter it;
	struct agent_state *st;

	for (size_t i = 0; i + 1 < nkv; i += 2) {
		int64_t ms;

		if (!id_ok(kv[i]) || ms_parse_i64(kv[i + 1], 0, INT64_MAX, &ms) < 0) {
			ms_warn("event=agent_not_loaded reason=\"bad entry in minisoc:agents:last_seen\" "
			    "agent=\"%.128s\"", kv[i]);
			continue;
		}
		if ((st = collector_agent(c, kv[i])) == NULL) {
			ms_err("event=agent_not_loaded agent=%s reason=out_of_memory", kv[i]);
			continue;
		}
		if (ms > st->last_seen_ms)
			st->last_seen_ms = ms;
		if (st->status_loaded || st->status_pending)
			continue;
		if (sink_load_status(c->sink, st) < 0) {
			ms_err("event=agent_not_loaded agent=%s reason=out_of_memory", st->id);
			continue;
		}
		st->status_pending = true;
		c->agents_loading++;
	}
	c->agents_listed = true;
	/* Agents that came before the list and are not on it: new, nothing to wait for. */
	ms_map_iter_init(&it);
	while ((st = ms_map_next(c->agents, &it, NULL, NULL)) != NULL) {
		if (st->status_loaded || st->status_pending)
			continue;
		st->status_loaded = true;
		if (st->pending_seen_ms) {
			seen_at(c, st, st->pending_seen_ms);
			st->pending_seen_ms = 0;
		}
	}
	if (c->agents_loading == 0)
		loading_done(c);
}

void
health_status_loaded(struct collector *c, struct agent_state *st, const char *status,
    const char *since, const char *host, const char *peer)
{
	int64_t v;

	if (!st->status_pending)
		return;
	st->status_pending = false;
	st->status_loaded = true;
	c->agents_loading--;
	if (status && strcmp(status, "silent") == 0) {
		st->status = AGENT_STATUS_SILENT;
		c->agents_silent++;
	} else if (status && strcmp(status, "online") == 0) {
		st->status = AGENT_STATUS_ONLINE;
	}
	if (since && ms_parse_i64(since, 0, INT64_MAX, &v) == 0)
		st->status_since_ms = v;
	if (host && st->host[0] == '\0')
		ms_copy(st->host, sizeof(st->host), host, strlen(host));
	if (peer && st->peer[0] == '\0')
		ms_copy(st->peer, sizeof(st->peer), peer, strlen(peer));
	if (st->pending_seen_ms) {
		seen_at(c, st, st->pending_seen_ms);
		st->pending_seen_ms = 0;
	}
	if (c->agents_loading == 0)
		loading_done(c);
}

void
health_session_closed(struct collector *c, struct agent_state *st)
{
	/* At a stop, health_flush wrote them already; the sink may be gone. */
	if (c->stopping || c->sink == NULL || !st->status_loaded || st->last_seen_ms == 0)
		return;
	write_seen(c, st, ms_now_ms());
}

void
health_flush(struct collector *c)
{
	struct ms_map_iter it;
	struct agent_state *st;
	int64_t now = ms_now_ms();

	ms_map_iter_init(&it);
	while ((st = ms_map_next(c->agents, &it, NULL, NULL)) != NULL)
		if (st->session && st->status_loaded && st->last_seen_ms > 0)
			write_seen(c, st, now);
}

/* The value of a report's key as a number; false when absent or not one. */
static bool
kv_u64(const struct ms_kv *kv, const char *key, uint64_t *out)
{
	char buf[24];
	int64_t v;

	if (kv->key_len != strlen(key) || memcmp(kv->key, key, kv->key_len) != 0 ||
	    kv->value_len >= sizeof(buf))
		return false;
	ms_copy(buf, sizeof(buf), kv->value, kv->value_len);
	if (ms_parse_i64(buf, 0, INT64_MAX, &v) < 0)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* A rising count.rate_limited: the agent's reading is being slowed. */
static void
check_flooding(struct collector *c, struct agent_state *st, bool has_rl, uint64_t rl,
    bool has_up, uint64_t up, int64_t now)
{
	uint64_t prev = st->rate_limited;

	if (!has_rl)
		return;
	/* Counters start again at 0 when the agent restarts. */
	if (has_up && up < st->agent_uptime_s)
		prev = 0;
	if (st->has_report && rl > prev &&
	    (st->flood_alert_ms == 0 || now - st->flood_alert_ms >= c->conf.agents_flooding_interval_ms)) {
		char title[256], sample[256];
		uint64_t d = rl - prev;

		snprintf(title, sizeof(title), "Agent flooding: its rate limit applied %" PRIu64
		    " times since its previous report", d);
		snprintf(sample, sizeof(sample), "count.rate_limited %" PRIu64 " -> %" PRIu64
		    "; reading slows or pauses, nothing is dropped", prev, rl);
		ms_warn("event=agent_flooding agent=%s rate_limited=%" PRIu64 " previous=%" PRIu64,
		    st->id, rl, prev);
		st->flood_alert_ms = now;
		agent_alert(c, st, "minisoc-agent-flooding", "medium", title,
		    st->report_ms ? st->report_ms : now, now, d > UINT32_MAX ? UINT32_MAX : (unsigned)d,
		    sample);
	}
	st->has_report = true;
	st->rate_limited = rl;
	st->agent_uptime_s = has_up ? up : 0;
	st->report_ms = now;
}

void
health_report(struct collector *c, struct agent_state *st, const char *peer, const uint8_t *p,
    size_t len)
{
	/* Every field and value of a report, then received_ms. */
	const char *kv[2 * MS_HEALTH_MAX_ITEMS + 2];
	size_t kvlen[2 * MS_HEALTH_MAX_ITEMS + 2];
	struct ms_health_iter it;
	struct ms_kv item;
	const char *why;
	char key[192], received[24];
	uint32_t count;
	size_t n = 0;
	uint64_t rl = 0, up = 0, bl_events = 0, bl_spool = 0;
	bool has_rl = false, has_up = false, has_ble = false, has_bls = false;
	int64_t now = ms_now_ms();
	int rc;

	if (ms_health_open(&it, p, len, &count, &why) != 0) {
		/* Untrusted and only informational: ignored, the session goes on. */
		c->stats.health_malformed++;
		ms_warn("event=health_malformed peer=%s agent=%s reason=%s", peer, st->id, why);
		return;
	}
	c->stats.health_reports++;
	while (ms_health_next(&it, &item) == 1) {
		kv[n] = item.key;
		kvlen[n++] = item.key_len;
		kv[n] = item.value;
		kvlen[n++] = item.value_len;
		has_rl = has_rl || kv_u64(&item, "count.rate_limited", &rl);
		has_up = has_up || kv_u64(&item, "agent_uptime_s", &up);
		has_ble = has_ble || kv_u64(&item, "backlog.events", &bl_events);
		has_bls = has_bls || kv_u64(&item, "backlog.spool_bytes", &bl_spool);
	}
	/* The agent's queue and spool depths, for /metrics. */
	st->has_backlog = has_ble || has_bls;
	st->backlog_events = bl_events;
	st->spool_bytes = bl_spool;
	snprintf(received, sizeof(received), "%" PRId64, now);
	kv[n] = "received_ms";
	kvlen[n++] = strlen("received_ms");
	kv[n] = received;
	kvlen[n++] = strlen(received);
	snprintf(key, sizeof(key), "minisoc:agent:%s:health", st->id);
	rc = sink_hreplace(c->sink, key, kv, kvlen, n);
	if (rc == 1) {
		c->stats.health_skipped++;
		ms_debug("event=health_skipped agent=%s reason=redis_congested", st->id);
	} else if (rc < 0) {
		ms_err("event=health_skipped agent=%s reason=out_of_memory", st->id);
	}
	check_flooding(c, st, has_rl, rl, has_up, up, now);
}

int
health_start(struct collector *c, char *err, size_t errsz)
{
	struct timeval tv;
	int64_t tick = silence_tick(c);

	tv.tv_sec = tick / 1000;
	tv.tv_usec = (tick % 1000) * 1000;
	if ((c->silence_timer = event_new(c->base, -1, EV_PERSIST, silence_cb, c)) == NULL ||
	    evtimer_add(c->silence_timer, &tv) < 0 || sink_load_agents(c->sink) < 0) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

void
health_stop(struct collector *c)
{
	if (c->silence_timer) {
		event_free(c->silence_timer);
		c->silence_timer = NULL;
	}
}
