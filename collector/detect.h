/*
 * detect – the detection interface.
 *
 * A detector is a struct of callbacks fed with every decoded event of every
 * agent, in arrival order. It raises alerts through the emit callback it is
 * given; the alert is borrowed only for the duration of that call (the
 * sink copies what it keeps). Detectors judge time by the event's own time
 * (decoded from the line), never by the wall clock, so replaying an old
 * file gives the same alerts as live.
 *
 * The rule engine (Sigma and correlations) plugs in here as one more
 * detector; the built-in SSH brute-force detector is the first one.
 */
#ifndef DETECT_H
#define DETECT_H

#include <stdint.h>

#include "decode.h"
#include "ms_buf.h"
#include "ms_util.h"

#define ALERT_MAX_USERS 8
#define ALERT_MAX_VALUES 16	/* distinct values listed in "values" */
#define ALERT_MAX_SAMPLES 3
#define ALERT_USER_MAX 64
#define ALERT_SAMPLE_MAX 512
/* The "schema" number in every alert's JSON (docs/alerts.md); raised on incompatible changes. */
#define ALERT_SCHEMA_VERSION 1

/* What a detector sees of one event; everything is borrowed for the call. */
struct detect_event {
	const char *agent_id;	/* from the agent's certificate, never from a frame */
	const char *host;	/* host name the agent reported in its hello */
	struct ms_str source;	/* where the agent read it, e.g. /var/log/auth.log */
	struct ms_str line;	/* the raw line */
	uint64_t seq;		/* the agent's sequence number */
	const struct decoded *d;
};

struct alert {
	char id[40];		/* unique id, filled by the collector when emitted */
	int64_t time_ms;	/* when it was raised (collector clock) */
	const char *rule_id;	/* static strings owned by the detector */
	const char *rule_title;
	const char *rule_name;	/* optional readable name (Sigma "name:"), or NULL */
	const char *severity;	/* informational, low, medium, high, critical */
	char agent_id[128];
	char host[256];
	char src_ip[64];
	char users[ALERT_MAX_USERS][ALERT_USER_MAX];
	unsigned n_users;
	unsigned count;		/* events that made up the alert */
	int64_t first_ms;	/* event time of the first and last of them */
	int64_t last_ms;
	char samples[ALERT_MAX_SAMPLES][ALERT_SAMPLE_MAX];
	unsigned n_samples;

	/* Optional, borrowed for the emit call only; NULL / 0 when unused. */
	const char *const *tags;	/* rule tags: attack.t1110, compliance ids ... */
	size_t ntags;
	const struct decoded *event;	/* its named fields go in "fields" */
	const char *const *group_names;	/* correlation group-by fields ... */
	const struct ms_str *group_values;	/* ... and their values: "group" */
	size_t ngroup;
	const char *values_field;	/* value_count: the field counted ... */
	const char *const *values;	/* ... and distinct values of it: "values" */
	size_t nvalues;

	/* Aggregation (collector.c): set only on a summary of folded alerts. */
	unsigned aggregated;	/* alerts folded into this one (> 1 on a summary) */
	int64_t aggregate_window_ms;
	char aggregate_of[40];	/* id of the first alert of the window, as sent */
	/* The agent's information system (register), or NULL; level 0 when unknown. */
	const char *system_id;
	int system_level;
};

/*
 * Called by a detector for each alert; a is lent for the call only, and
 * the receiver may fill in what is its to fill (the collector: id,
 * time_ms, system_id, system_level) in place: no copy of the whole alert
 * per alert raised. Detectors so pass their own scratch, never a const one.
 */
typedef void (*detect_emit_fn)(struct alert *a, void *arg);

struct detector {
	const char *name;
	void *state;		/* owned by the detector */
	void (*on_event)(void *state, const struct detect_event *ev,
	    detect_emit_fn emit, void *arg);
	void (*free)(void *state);
	/* Number of keys (sources, groups) it holds in memory now; for metrics. */
	size_t (*tracked)(void *state);
};

/* Frees the detector and its state; NULL is a no-op. */
void detector_free(struct detector *d);

/*
 * The pipeline for one raw line, shared by the collector and offline
 * replay: decodes line into d (caller's scratch, reused between lines) and
 * runs every detector of dets on it. Everything is borrowed for the call.
 */
void detect_line(struct detector *const *dets, size_t ndets, struct decoded *d,
    const struct decode_ctx *ctx, const char *agent_id, const char *host,
    struct ms_str source, struct ms_str line, uint64_t seq, detect_emit_fn emit, void *arg);

/*
 * Serialises a into out as one JSON object: the alert schema
 * ALERT_SCHEMA_VERSION documented in docs/alerts.md (ECS-style names:
 * @timestamp, event{id,kind,severity,start,end}, rule{id,name,title,level},
 * agent.id, host.name, source.ip, user.name, related.user, count, samples,
 * threat, tags, group, fields; times as RFC 3339 UTC with ms). Appended to
 * what out already holds. Returns 0, or -1 when out's cap was reached.
 */
int alert_to_json(const struct alert *a, struct ms_buf *out);
/*
 * As alert_to_json, with each value of "fields" cut to field_max bytes (0:
 * whole). For an alert whose whole document passes out's cap: the event's
 * fields are slices of a line of up to 64 KiB, which escaping can make six
 * times longer, and an alert dropped for its size would be lost although
 * its agent is acknowledged.
 */
int alert_to_json_cut(const struct alert *a, struct ms_buf *out, size_t field_max);
/* What alert_to_json_cut keeps of each field on the second try (a sample's length). */
#define ALERT_FIELD_CUT 512
/*
 * Empties a for a new alert: what memset to 0 gives, but for the text of
 * agent_id, host, users[] and samples[], of which only the first byte is
 * cleared (they are read up to their NUL, n_users and n_samples): ~2 KB
 * fewer stores for every alert raised.
 */
void alert_reset(struct alert *a);
/* ECS event.severity for a Sigma level: 1 informational .. 5 critical, 0 unknown. */
int alert_severity_num(const char *level);

/* --- built-in: SSH brute force -------------------------------------- */

struct bruteforce_conf {
	unsigned threshold;	/* failures from one source that fire (default 8) */
	int64_t window_ms;	/* within this much event time (default 120 s) */
	int64_t quiet_ms;	/* after firing, the source is quiet this long (120 s) */
	size_t max_sources;	/* cap on tracked (agent, source IP) pairs (65536) */
};

/*
 * Limits detect_bruteforce_new accepts: they keep the memory per tracked
 * pair bounded (a ring of threshold event times) and the time arithmetic
 * far from overflow. threshold 1..BRUTEFORCE_MAX_THRESHOLD, window_ms and
 * quiet_ms 0..BRUTEFORCE_MAX_SPAN_MS, max_sources >= 1.
 */
#define BRUTEFORCE_MAX_THRESHOLD 1024
#define BRUTEFORCE_MAX_SPAN_MS ((int64_t)7 * 24 * 3600 * 1000)

void bruteforce_conf_defaults(struct bruteforce_conf *c);

/*
 * Returns a new detector for "SSH brute force": threshold or more sshd
 * authentication failures from one source IP against one agent within
 * window_ms of event time raise one alert (rule id "minisoc-ssh-bruteforce",
 * severity "high"); then that (agent, source) stays quiet for quiet_ms of
 * event time. At most max_sources pairs are tracked; past that the least
 * recently seen is evicted. Caller owns the result (detector_free).
 */
struct detector *detect_bruteforce_new(const struct bruteforce_conf *c);

#endif
