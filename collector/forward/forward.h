/*
 * minisoc-forward – layer 4 of the 4-layer model: alerts at or above a
 * severity, and incidents, forwarded to the national monitoring center
 * over mutual TLS as RFC 5424 syslog messages (RFC 5425 octet-counting
 * framing). See docs/operations.md, "Forwarding to the national center".
 *
 * Modules (prefix = file name):
 *   fwd_conf.c      configuration keys
 *   fwd_msg.c       what goes on the wire: the tolerant alert view, the
 *                   RFC 5424 frame, the IODEF (RFC 7970) document – pure
 *                   functions, unit-tested and fuzzed
 *   fwd_upstream.c  the TLS connection to the receiver, backoff, and when
 *                   bytes count as delivered
 *   forward.c       main, Redis (consumer groups), the window of entries
 */
#ifndef FORWARD_H
#define FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ms_buf.h"
#include "ms_jsonr.h"

/* ---- configuration (fwd_conf.c) ---- */

struct fwd_conf {
	char log_level[16];
	char min_severity[16];
	int64_t max_inflight;
	int64_t confirm_ms;
	int64_t dead_after_ms;
	int64_t backoff_min_ms, backoff_max_ms;
	int64_t connect_timeout_ms;
	int64_t shutdown_timeout_ms;
	uint64_t max_message;
	char upstream_host[256];
	int64_t upstream_port;
	char upstream_server_name[256];
	char tls_ca[1024], tls_cert[1024], tls_key[1024];
	bool tls_allow_tls12;
	char redis_host[256];
	int64_t redis_port;
	char redis_unix[1024];
	char redis_user[128];
	char redis_password_file[4096];
	char redis_password[512];	/* read from redis_password_file at start, not a key */
	char alerts_stream[128];
	char incidents_stream[128];
	char group[64];
	char consumer[64];
	char start_at[16];
	int64_t block_ms;
	int64_t claim_idle_ms;
	char stats_key[128];
	char syslog_hostname[256];
	char syslog_app_name[49];
	int64_t syslog_facility;
	char syslog_sd_id[64];
	bool syslog_bom;
	char iodef_name[256];
	char iodef_lang[16];
	char iodef_contact_name[256];
	char iodef_contact_email[256];
	int64_t iodef_max_alerts;
};

/* Loads and checks file into c. 0, or -1 with a message in err. */
int fwd_conf_load(const char *file, struct fwd_conf *c, char *err, size_t errsz);
void fwd_conf_usage(FILE *out);

/* ---- messages (fwd_msg.c) ---- */

/* Severity ranks, Sigma's levels: informational 0 … critical 4. */
#define FWD_SEV_UNKNOWN (-1)
#define FWD_SEV_MAX 4

/* A severity name ("high", "Informational", "info") or number, as a rank. */
int fwd_sev_rank(const struct ms_jv *v);
/* The rank of a name from the configuration; -1 when unknown. */
int fwd_sev_rank_name(const char *name);
const char *fwd_sev_name(int rank);

/*
 * The fields of an alert the forwarder reads, each through a list of
 * names: today's (severity, time, id, src_ip, agent.host) and the
 * ECS-style ones (event.severity, @timestamp, source.ip, host.name, …).
 * Pointers are borrowed from the parsed document; NULL when absent.
 */
struct fwd_alert_view {
	const char *id, *time, *rule_id, *rule_name, *src_ip, *host, *agent_id, *system_id;
	int sev;		/* rank, FWD_SEV_UNKNOWN when absent or unreadable */
};

void fwd_alert_view(const struct ms_jv *alert, struct fwd_alert_view *v);

struct fwd_syslog_opts {
	const char *hostname;	/* "-" when empty */
	const char *app_name;
	int facility;		/* 0..23 */
	const char *sd_id;	/* "name@PEN"; "" for no STRUCTURED-DATA */
	bool bom;		/* MSG starts with the UTF-8 BOM (RFC 5424 6.4) */
};

/* One SD-PARAM; values are written escaped, non-ASCII replaced. */
struct fwd_sd_param {
	const char *name;
	const char *value;	/* NULL: the param is left out */
};

/*
 * Appends one RFC 5425 frame ("LEN SP SYSLOG-MSG") to out: PRI from the
 * facility and the severity rank, TIMESTAMP = time when it is a valid RFC
 * 5424 timestamp (else now_ms), MSGID msgid, the SD params, MSG = msg.
 * Returns 0, or -1 when out's cap is hit (out is left as it was).
 */
int fwd_msg_syslog(struct ms_buf *out, const struct fwd_syslog_opts *o, const char *msgid,
    int sev, const char *time, int64_t now_ms, const struct fwd_sd_param *sd, size_t nsd,
    const char *msg, size_t msglen);

/* True when s is an RFC 5424 TIMESTAMP (RFC 3339, at most 6 fraction digits). */
bool fwd_msg_time_ok(const char *s);

struct fwd_iodef_opts {
	const char *name;	/* IncidentID name: the CSIRT's domain */
	const char *lang;
	const char *contact_name;
	const char *contact_email;	/* "" for none */
	size_t max_alerts;
};

/*
 * Appends an IODEF 2.0 (RFC 7970) document for one incident (the JSON of
 * an incident event) to out. alerts[i] is the JSON of the incident's i-th
 * alert id, or NULL when it could not be found (the id alone is then
 * reported). Every text is XML-escaped and made valid UTF-8. Returns 0,
 * or -1 (out left as it was) when the incident lacks an id or out's cap is hit.
 */
int fwd_iodef(struct ms_buf *out, const struct fwd_iodef_opts *o, const struct ms_jv *incident,
    const struct ms_jv *const *alerts, size_t nalerts, int64_t now_ms);

/* Appends s (len bytes) XML-escaped: & < > " ' as entities, bad bytes as U+FFFD. */
int fwd_xml_escape(struct ms_buf *out, const char *s, size_t len);

/* The incident's related alert ids (up to max) into ids (borrowed); the count. */
size_t fwd_incident_alert_ids(const struct ms_jv *incident, const char **ids, size_t max);

/* The ms timestamp of a UUIDv7 string, or -1 when s is not one. */
int64_t fwd_uuid7_ms(const char *s);

#endif
