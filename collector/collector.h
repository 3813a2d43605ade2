/*
 * collector – the shared state of the collector process.
 *
 * One libevent loop runs everything: the TLS listener, every agent session,
 * decoding and detection, and the Redis sink (hiredis' libevent adapter).
 * Nothing in the loop blocks.
 */
#ifndef COLLECTOR_H
#define COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "detect.h"
#include "ms_map.h"
#include "ms_yaml.h"

struct session;
struct sink;
struct listener;
struct connlimit_addr;
struct aggregate;
struct enroll;

struct collector_conf {
	char log_level[16];
	int64_t log_flush_ms;		/* info lines held at most this long, 0 = per batch */
	char user[64];
	char listen_address[256];
	int64_t listen_port;
	char tls_ca[4096];
	char tls_cert[4096];
	char tls_key[4096];
	char tls_crl[4096];
	bool tls_allow_tls12;
	char redis_host[256];
	int64_t redis_port;
	char redis_unix[4096];
	char redis_user[128];
	char redis_password_file[4096];
	char redis_password[512];	/* read from redis_password_file at start, not a key */
	char redis_stream[128];
	char redis_channel[128];
	int64_t redis_stream_maxlen;
	uint64_t redis_max_pending;
	int64_t redis_reply_wait_us;	/* how long Redis' replies may wait for a wake-up (sink_redis.c) */
	uint64_t max_frame;
	int64_t max_sessions;
	int64_t max_handshakes;
	int64_t max_handshakes_per_ip;
	int64_t handshake_timeout_ms;
	int64_t idle_timeout_ms;
	int64_t ack_delay_ms;
	int64_t connect_rate_per_ip;
	int64_t agent_events_per_s;
	int64_t connect_burst_per_ip;
	int64_t shutdown_timeout_ms;
	int64_t bf_threshold;
	int64_t bf_window_s;
	int64_t bf_quiet_s;
	int64_t bf_max_sources;
	bool bf_enabled;
	char rules_path[4096];
	char rules_placeholders[4096];
	int64_t rules_max_groups;
	int64_t rules_max_memory_mb;
	int64_t agents_heartbeat_ms;
	int64_t agents_silent_after_missed;
	int64_t agents_flooding_interval_ms;
	/* The spool on disk while Redis is away or behind (journal.c, sink_redis.c). */
	char spool_dir[4096];
	uint64_t spool_max_bytes;
	int64_t spool_sync_ms;
	/* Alert aggregation (aggregate.c). */
	int64_t aggregate_window_s;
	char aggregate_rules[4096];
	int64_t aggregate_max_keys;
	char archive_path[4096];
	int64_t archive_level;
	int64_t archive_sync_ms;
	int64_t archive_keep_days;
	uint64_t archive_backlog_max;
	char archive_profiles[4096];
	int64_t archive_keep_margin_days;
	/* register of information systems (registry.c) */
	char register_path[4096];
	/* Prometheus text at /metrics (metrics.c); off while metrics_port is 0. */
	char metrics_address[256];
	int64_t metrics_port;
	/* Enrolment listener (enroll.c); off while enroll_port is 0. */
	char enroll_address[256];
	int64_t enroll_port;
	char enroll_ca_cert[4096];
	char enroll_ca_key[4096];
	int64_t enroll_validity_s;
	int64_t enroll_max_conns;
	int64_t enroll_max_conns_per_ip;
};

/* Loads file into c; 0, or -1 with a message in err. */
int collector_conf_load(const char *file, struct collector_conf *c, char *err, size_t errsz);
/* Prints the configuration keys with their defaults and help. */
void collector_conf_usage(FILE *out);

/* Whether an agent is heard from (health.c); kept in minisoc:agent:<id> status. */
enum agent_status {
	AGENT_STATUS_NONE = 0,	/* never judged (no status in Redis yet) */
	AGENT_STATUS_ONLINE,
	AGENT_STATUS_SILENT,
};

/*
 * What the collector knows of one agent identity (certificate CN). Lives
 * as long as the collector: the set of identities is bounded by the CA.
 */
struct agent_state {
	char id[128];
	bool loaded;		/* handled_seq read back from Redis */
	uint64_t handled_seq;	/* highest seq decoded and run through detection */
	uint64_t durable_seq;	/* highest seq whose results Redis confirmed */
	struct session *session;	/* the live session, or NULL */

	/* Liveness and health reports (health.c); times are wall clock ms. */
	char host[256];		/* host name from its hello (or from Redis) */
	char peer[64];		/* address of its last session */
	enum agent_status status;
	int64_t status_since_ms;
	bool status_loaded;	/* status read back from Redis (or known to be absent) */
	bool status_pending;	/* that read is queued */
	int64_t last_seen_ms;	/* its last frame; 0 when never */
	int64_t pending_seen_ms;	/* a frame that came before the status was loaded */
	int64_t unread_ms;	/* last seen with its session paused by us (not judged then) */
	int64_t seen_written_ms;	/* when last_seen was last queued for Redis */
	bool seen_checking;	/* silent here: what the other collectors heard is being read */
	bool has_report;	/* a health report came since the collector started */
	uint64_t rate_limited;	/* count.rate_limited of that report ... */
	uint64_t agent_uptime_s;	/* ... and its agent_uptime_s */
	int64_t report_ms;	/* ... and when it came */
	int64_t flood_alert_ms;	/* the last flooding alert; 0 when none */
	/* Event categories last seen (registry.c), for the compliance checks. */
	int64_t seen_ms[4];	/* newest event time per category */
	int64_t seen_written_at[4];	/* wall clock of the last write per category */
	/* Per-agent counters for /metrics (metrics.c): plain increments, no allocation. */
	uint64_t events_in;	/* events received, duplicates included */
	uint64_t events_dup;
	uint64_t alerts;	/* alerts raised with this agent's id */
	uint64_t backlog_events;	/* from its last health report: events not yet acked ... */
	uint64_t spool_bytes;	/* ... and bytes in its spool */
	bool has_backlog;
};

/* Why a TLS handshake was refused (counted each; see session.c). */
enum tls_fail_reason {
	TLS_FAIL_EXPIRED,	/* certificate expired or not yet valid */
	TLS_FAIL_UNKNOWN_CA,	/* not signed by the deployment CA */
	TLS_FAIL_PURPOSE,	/* not a client certificate (extended key usage) */
	TLS_FAIL_REVOKED,
	TLS_FAIL_NO_CERT,	/* the client sent none */
	TLS_FAIL_BAD_ID,	/* no usable CN */
	TLS_FAIL_TIMEOUT,	/* handshake not done in limits.handshake_timeout_ms */
	TLS_FAIL_CLOSED,	/* the peer went away during the handshake */
	TLS_FAIL_OTHER,		/* protocol version, cipher, garbage … */
	TLS_FAIL_N
};
extern const char *const tls_fail_names[TLS_FAIL_N];

struct collector_stats {
	uint64_t sessions_accepted;
	uint64_t sessions_refused;	/* over max_sessions, max_handshakes or a per-address limit */
	uint64_t sessions_rate_limited;	/* ... of them: limits.connect_rate_per_ip */
	uint64_t sessions_handshake_limited;	/* ... of them: limits.max_handshakes_per_ip */
	uint64_t sessions_throttled;	/* times an agent was paused by limits.agent_events_per_s */
	uint64_t tls_failures;		/* handshake or certificate refused */
	uint64_t tls_fail[TLS_FAIL_N];	/* ... by reason */
	uint64_t frames_in;
	uint64_t frames_bad;		/* protocol errors; session closed */
	uint64_t batches_in;
	uint64_t events_in;
	uint64_t events_dup;		/* already handled: ignored */
	uint64_t events_undecoded;	/* no decoder recognised the line */
	uint64_t events_time_capped;	/* dated ahead of our clock: taken as it (decode.h) */
	uint64_t events_values_cut;	/* a field only the ends of a longer value (decode.h) */
	uint64_t alerts;
	uint64_t alerts_written;
	uint64_t alerts_failed;		/* too big to encode */
	uint64_t redis_errors;
	uint64_t redis_reconnects;
	uint64_t health_reports;	/* valid HEALTH frames */
	uint64_t health_malformed;	/* ignored, session kept */
	uint64_t health_skipped;	/* valid, not stored: the sink was congested */
	uint64_t spool_records;		/* operations written to the spool on disk */
	uint64_t spool_replayed;	/* ... of them confirmed by Redis afterwards */
	uint64_t alerts_folded;		/* alerts folded into an aggregate (not sent alone) */
	uint64_t alerts_aggregated;	/* aggregate summaries sent */
	uint64_t alerts_unbatched;	/* alerts sent apart from their batch's full script */
	uint64_t agents_unassigned;	/* hellos from agents not in the register */
	/* For /metrics (metrics.c). */
	uint64_t frames_bad_code[16];	/* frames_bad by the MS_ERR_* code sent (0: other) */
	uint64_t alerts_sev[6];		/* alerts by severity: informational, low, medium, high, critical, other */
	uint64_t redis_rtt_count;	/* operations Redis confirmed, and their round trips */
	uint64_t redis_rtt_sum_us;
	uint64_t redis_rtt_bucket[12];	/* by upper bound, see metrics.c (non-cumulative) */
};

struct collector {
	const char *config_file;	/* borrowed from argv, re-read on SIGHUP */
	char stats_key[384];		/* minisoc:collector:stats:<host>:<port>: this one's counters */
	struct event_base *base;
	struct collector_conf conf;
	SSL_CTX *ssl_ctx;
	struct listener *listener;
	struct enroll *enroll;		/* NULL unless enroll.port is set */
	struct sink *sink;
	struct detector *detectors[8];
	size_t ndetectors;
	struct detector *sigma;		/* also in detectors[]; NULL without rules.path */
	struct ms_map *agents;		/* id -> struct agent_state* (owned) */
	TAILQ_HEAD(, session) sessions;
	size_t nsessions;
	size_t nhandshakes;		/* of which not yet authenticated */
	struct collector_stats stats;
	bool stopping;
	struct event *stop_timer;
	struct ms_buf alert_buf;	/* scratch for alert JSON */
	struct aggregate *aggregate;	/* folding of repeated alerts (owned) */
	struct event *aggregate_timer;
	struct event *aggregate_more;	/* the rest of a tick's summaries, a slice at a time */
	struct event *log_timer;	/* writes held info lines (collector.log_flush_ms) */
	struct event *reload_ev;	/* SIGHUP's work: one run however many came at once */
	struct decoded *decoded;	/* scratch for the line being decoded (large) */
	struct decode_auditd_cache *auditd;	/* auditd record enrichment (owned) */
	/* Agent silence (health.c). */
	struct event *silence_timer;
	bool agents_listed;		/* minisoc:agents:last_seen read back */
	size_t agents_loading;		/* statuses still being read back */
	int64_t agents_loaded_ms;	/* when all were: silence is measured from then at least */
	int64_t heard_since_ms;		/* ... and from the end of the last stall of our own loop */
	int64_t silence_tick_ms;	/* when the silence check last ran */
	size_t agents_silent;		/* agents whose status is silent now */
	/* The event archive (archive.h); NULL without archive.path. */
	struct archive *archive;
	struct event *archive_timer;	/* archive_sync every archive.sync_ms */
	int64_t archive_expired_ms;	/* when archive_expire last ran */
	int64_t archive_stats_ms;	/* when its counters last went to Redis */
	/* archive.profiles: the frameworks' retention per level ("old", "new"; owned, may be NULL). */
	struct ms_comp_profile *archive_prof[2];
	struct ms_register *reg;	/* register.path, or NULL (owned; registry.c) */
	struct event *reg_publish_timer;	/* the next publication of the register (registry.c) */
	struct metrics *metrics;	/* the /metrics listener, or NULL when off */
	/* tls.crl's soonest next update (INT64_MAX: none) and when crl_watch last said so. */
	int64_t crl_next_ms, crl_said_ms;
	char crl_issuer[256];
	int64_t started_ms;		/* wall clock at start */
};

/* Finds or creates the state of agent id; NULL when out of memory. */
struct agent_state *collector_agent(struct collector *c, const char *id);
/* Decodes one line and runs every detector on it; alerts go to the sink. */
void collector_detect_line(struct collector *c, const struct decode_ctx *ctx,
    const char *agent_id, const char *host, struct ms_str source, struct ms_str line,
    uint64_t seq);
/* Raises an alert (id and time filled in here); a is borrowed for the call. */
void collector_alert(struct collector *c, const struct alert *a);
/* Called by the sink when it has room again: resumes paused sessions. */
void collector_sink_drained(struct collector *c);
/* Called when the collector may finish stopping (sink empty or timeout). */
void collector_maybe_exit(struct collector *c);
/*
 * Keeps one handled event in the archive (a no-op without one): called for
 * every new event of a batch, before the batch's checkpoint.
 */
void collector_archive_event(struct collector *c, const struct agent_state *st,
    int64_t time_ms, uint64_t seq, struct ms_str source, struct ms_str line);
/* Writes what the archive holds (before a checkpoint is queued). */
void collector_archive_flush(struct collector *c);
/* Logs every counter as one key=value line. */
void collector_log_stats(const struct collector *c, const char *why);
/* Counters for Redis: this collector's own hash, and minisoc:collector:stats. */
void collector_stats_hset(struct collector *c, const char *const *kv, size_t nkv);
/*
 * After an ms_log_release: when info lines are left held (lazy log,
 * collector.log_flush_ms), makes sure the log timer will write them.
 */
void collector_log_later(struct collector *c);

/* --- health.c: agent health reports, silence and flooding ----------- */
/*
 * Starts tracking agents: reads back which agents are known and their
 * status (minisoc:agents:last_seen, minisoc:agent:<id>), then checks for
 * silence every so often. 0, or -1 with a message in err.
 */
int health_start(struct collector *c, char *err, size_t errsz);
void health_stop(struct collector *c);
/* A frame from st's session (any frame is a sign of life); peer is borrowed. */
void health_seen(struct collector *c, struct agent_state *st, const char *peer);
/* A HEALTH payload from st (untrusted): stored, checked for flooding, or counted as malformed. */
void health_report(struct collector *c, struct agent_state *st, const char *peer,
    const uint8_t *p, size_t len);
/* st's session ends: its last sign of life goes to Redis. */
void health_session_closed(struct collector *c, struct agent_state *st);
/* Writes every connected agent's last sign of life (the collector is stopping). */
void health_flush(struct collector *c);
/*
 * The sink read minisoc:agents:last_seen: kv holds nkv strings, agent id
 * then ms, borrowed for the call. Queues the read of each one's status.
 */
void health_agents_listed(struct collector *c, const char *const *kv, size_t nkv);
/*
 * The sink read st's status: status, status_since_ms, hostname and peer
 * from minisoc:agent:<id>, each NULL when absent; borrowed for the call.
 */
void health_status_loaded(struct collector *c, struct agent_state *st, const char *status,
    const char *since, const char *host, const char *peer);
/*
 * The sink read what every collector of the deployment knows of st (it
 * sounded silent here): its last frame (minisoc:agents:last_seen) and
 * status, each NULL when absent, and Redis' verdict ("claimed": silent,
 * this collector alerts; "wait": another claimed it; NULL without a
 * reply: judged here); borrowed for the call.
 */
void health_seen_checked(struct collector *c, struct agent_state *st, const char *seen,
    const char *status, const char *since, const char *verdict);

/* --- registry.c: the register of information systems --------------- */
struct ms_register;
struct decoded;
/* Loads register.path (if set) at start; 0, or -1 with a message in err. */
int registry_start(struct collector *c, char *err, size_t errsz);
/* SIGHUP: reads register.path again; on any error the old register stays. */
void registry_reload(struct collector *c);
void registry_stop(struct collector *c);
/*
 * The system agent belongs to: its id and level (0 when unknown) – "unassigned"
 * for an agent not in the register, NULL when no register is configured.
 */
const char *registry_system(const struct collector *c, const char *agent, int *level);
/*
 * Replaces the Redis hash minisoc:systems by the loaded register, one
 * JSON record per system (a no-op without a register): called once the
 * sink exists and after each successful reload; then every 5 minutes. A
 * publication the congested sink skips is tried again 5 s later.
 */
void registry_publish(struct collector *c);
/* An agent said hello: records its system in minisoc:agent:<id> (system, level). */
void registry_hello(struct collector *c, struct agent_state *st);
/* Notes the event categories of d (login, config_change, error) as seen on st; now_ms: the wall clock, read once per batch by the caller. */
void registry_seen(struct collector *c, struct agent_state *st, const struct decoded *d,
    int64_t now_ms);
/* --- metrics.c: Prometheus text format at /metrics ------------------- */
/*
 * Listens on metrics.address:metrics.port (loopback by default) when the
 * port is not 0, on c's loop. 0, or -1 with a message in err.
 */
int metrics_start(struct collector *c, char *err, size_t errsz);
void metrics_stop(struct collector *c);
/* Counts one Redis round trip of us microseconds (the sink, on each confirmed operation). */
void metrics_redis_rtt(struct collector *c, int64_t us);
/* Counts one alert by its severity. */
void metrics_alert(struct collector *c, const char *severity);

/* --- listener.c ------------------------------------------------------ */
struct listener *listener_new(struct collector *c, char *err, size_t errsz);
/*
 * A connection from a starts its TLS handshake (limits.max_handshakes_per_ip).
 * 0, or -1 when it is not counted (l NULL, out of memory, an address of no
 * family the limits know): then no listener_handshake_end for it.
 */
int listener_handshake_begin(struct listener *l, const struct connlimit_addr *a);
/* ... and its handshake is over (done, failed, timed out). l may be NULL (closed at shutdown). */
void listener_handshake_end(struct listener *l, const struct connlimit_addr *a);
void listener_free(struct listener *l);

/* --- enroll.c: the enrolment and renewal listener ------------------ */
/*
 * Loads enroll.ca_cert / enroll.ca_key and listens on enroll.port (call
 * before dropping privileges). Returns NULL with err on failure; NULL with
 * err empty when enrolment is off.
 */
struct enroll *enroll_new(struct collector *c, char *err, size_t errsz);
/* SIGHUP: the CA file and CRL are read again for the handshakes to come. */
void enroll_reload(struct enroll *e);
/* Certificates issued at enrolment, at renewal, and requests refused, into n[0..2]. */
void enroll_counts(const struct enroll *e, uint64_t n[3]);
/* For --check: enroll.ca_cert is a CA and enroll.ca_key its key (when enroll.port is set). 0 or -1. */
int enroll_check(const struct collector_conf *cf, char *err, size_t errsz);
void enroll_free(struct enroll *e);

/* --- session.c ------------------------------------------------------- */
/*
 * Takes ownership of fd (an accepted TCP socket from addr, copied) and
 * starts the TLS handshake, counted for addr until it is over. Returns
 * NULL (fd closed) on failure.
 */
struct session *session_new(struct collector *c, int fd, const char *peer,
    const struct connlimit_addr *addr);
void session_free(struct session *s);
/* Sends an ACK for seq to the agent (called when Redis confirmed it). */
void session_ack(struct session *s, uint64_t seq);
/* The sink answered the load of this agent's last handled seq. */
void session_loaded(struct session *s);
/* Stops reading until session_resume (sink congested). */
void session_resume(struct session *s);
/* Begins a clean close: optional ERROR frame, flush, TLS close_notify. */
void session_close(struct session *s, int errcode, const char *reason);
/* After a CRL reload: closes s (ERROR 9) when its certificate is now revoked; 1 then. */
int session_recheck_revoked(struct session *s, SSL_CTX *ctx);
bool session_is_paused(const struct session *s);
/* The session after s in c->sessions, or NULL. */
struct session *session_next(struct session *s);
/* Stops reading for good (shutdown); acks still go out. */
void session_pause_for_shutdown(struct session *s);

#endif
