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

struct collector_conf {
	char log_level[16];
	char user[64];
	char listen_address[256];
	int64_t listen_port;
	char tls_ca[4096];
	char tls_cert[4096];
	char tls_key[4096];
	char redis_host[256];
	int64_t redis_port;
	char redis_unix[4096];
	char redis_stream[128];
	char redis_channel[128];
	int64_t redis_stream_maxlen;
	uint64_t redis_max_pending;
	uint64_t max_frame;
	int64_t max_sessions;
	int64_t max_handshakes;
	int64_t handshake_timeout_ms;
	int64_t idle_timeout_ms;
	int64_t shutdown_timeout_ms;
	int64_t bf_threshold;
	int64_t bf_window_s;
	int64_t bf_quiet_s;
	int64_t bf_max_sources;
	bool bf_enabled;
	char rules_path[4096];
	char rules_placeholders[4096];
	int64_t rules_max_groups;
};

/* Loads file into c; 0, or -1 with a message in err. */
int collector_conf_load(const char *file, struct collector_conf *c, char *err, size_t errsz);
/* Prints the configuration keys with their defaults and help. */
void collector_conf_usage(FILE *out);

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
};

struct collector_stats {
	uint64_t sessions_accepted;
	uint64_t sessions_refused;	/* over max_sessions */
	uint64_t tls_failures;		/* handshake or certificate refused */
	uint64_t frames_in;
	uint64_t frames_bad;		/* protocol errors; session closed */
	uint64_t batches_in;
	uint64_t events_in;
	uint64_t events_dup;		/* already handled: ignored */
	uint64_t events_undecoded;	/* no decoder recognised the line */
	uint64_t alerts;
	uint64_t alerts_written;
	uint64_t alerts_failed;		/* too big to encode */
	uint64_t redis_errors;
	uint64_t redis_reconnects;
};

struct collector {
	const char *config_file;	/* borrowed from argv, re-read on SIGHUP */
	struct event_base *base;
	struct collector_conf conf;
	SSL_CTX *ssl_ctx;
	struct listener *listener;
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
	struct decoded *decoded;	/* scratch for the line being decoded (large) */
	struct decode_auditd_cache *auditd;	/* auditd record enrichment (owned) */
};

/* Finds or creates the state of agent id; NULL when out of memory. */
struct agent_state *collector_agent(struct collector *c, const char *id);
/* Decodes one line and runs every detector on it; alerts go to the sink. */
void collector_detect_line(struct collector *c, const struct decode_ctx *ctx,
    const char *agent_id, const char *host, struct ms_str source, struct ms_str line,
    uint64_t seq);
/* Called by the sink when it has room again: resumes paused sessions. */
void collector_sink_drained(struct collector *c);
/* Called when the collector may finish stopping (sink empty or timeout). */
void collector_maybe_exit(struct collector *c);
/* Logs every counter as one key=value line. */
void collector_log_stats(const struct collector *c, const char *why);

/* --- listener.c ------------------------------------------------------ */
struct listener *listener_new(struct collector *c, char *err, size_t errsz);
void listener_free(struct listener *l);

/* --- session.c ------------------------------------------------------- */
/*
 * Takes ownership of fd (an accepted TCP socket) and starts the TLS
 * handshake. Returns NULL (fd closed) on failure.
 */
struct session *session_new(struct collector *c, int fd, const char *peer);
void session_free(struct session *s);
/* Sends an ACK for seq to the agent (called when Redis confirmed it). */
void session_ack(struct session *s, uint64_t seq);
/* The sink answered the load of this agent's last handled seq. */
void session_loaded(struct session *s);
/* Stops reading until session_resume (sink congested). */
void session_resume(struct session *s);
/* Begins a clean close: optional ERROR frame, flush, TLS close_notify. */
void session_close(struct session *s, int errcode, const char *reason);
bool session_is_paused(const struct session *s);
/* The session after s in c->sessions, or NULL. */
struct session *session_next(struct session *s);
/* Stops reading for good (shutdown); acks still go out. */
void session_pause_for_shutdown(struct session *s);

#endif
