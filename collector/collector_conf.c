/* collector_conf – the collector's configuration keys, declared once. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "collector.h"
#include "ms_config.h"

#define OFF(f) offsetof(struct collector_conf, f)
#define SZ(f) sizeof(((struct collector_conf *)0)->f)

static const struct ms_conf_key collector_keys[] = {
	{ "collector.log_level", MS_CONF_STR, OFF(log_level), SZ(log_level), "info", 0, 0,
	  "debug, info, warn or error" },
	{ "collector.log_flush_ms", MS_CONF_INT, OFF(log_flush_ms), 0, "100", 0, 10000,
	  "info lines logged while batches are handled (mostly one per alert sent) are written together at most this long after the first; warnings and errors at once; a crash loses what waits (0: at the end of each agent batch); read at start" },
	{ "collector.user", MS_CONF_STR, OFF(user), SZ(user), "", 0, 0,
	  "when started as root: the user to run as once the port is bound and keys are loaded" },
	{ "listen.address", MS_CONF_STR, OFF(listen_address), SZ(listen_address), "127.0.0.1", 0, 0,
	  "address to listen on for agents (0.0.0.0 or :: for all)" },
	{ "listen.port", MS_CONF_INT, OFF(listen_port), 0, "6514", 1, 65535,
	  "TCP port for agents (TLS)" },
	{ "tls.ca", MS_CONF_PATH, OFF(tls_ca), SZ(tls_ca), NULL, 0, 0,
	  "deployment CA certificate: only agents it signed are accepted" },
	{ "tls.cert", MS_CONF_PATH, OFF(tls_cert), SZ(tls_cert), NULL, 0, 0,
	  "collector certificate (chain) in PEM" },
	{ "tls.key", MS_CONF_PATH, OFF(tls_key), SZ(tls_key), NULL, 0, 0,
	  "collector private key in PEM" },
	{ "tls.crl", MS_CONF_PATH, OFF(tls_crl), SZ(tls_crl), "", 0, 0,
	  "optional: CRL file (PEM) of the deployment CA; revoked agents are refused, and on SIGHUP (re-read with the certificates) their open sessions are closed" },
	{ "tls.allow_tls12", MS_CONF_BOOL, OFF(tls_allow_tls12), 0, "false", 0, 0,
	  "also accept TLS 1.2 (ECDHE with AES-GCM or ChaCha20 only) for agents that cannot do 1.3; TLS 1.3 only by default" },
	{ "redis.host", MS_CONF_STR, OFF(redis_host), SZ(redis_host), "127.0.0.1", 0, 0,
	  "Redis host (loopback: hiredis here has no TLS)" },
	{ "redis.port", MS_CONF_INT, OFF(redis_port), 0, "6379", 1, 65535, "Redis port" },
	{ "redis.unix", MS_CONF_PATH, OFF(redis_unix), SZ(redis_unix), "", 0, 0,
	  "Redis unix socket; used instead of host/port when set" },
	{ "redis.user", MS_CONF_STR, OFF(redis_user), SZ(redis_user), "", 0, 0,
	  "Redis ACL user to sign in as (with redis.password_file); empty = the default user" },
	{ "redis.password_file", MS_CONF_PATH, OFF(redis_password_file), SZ(redis_password_file), "", 0, 0,
	  "file whose first line is the Redis password (requirepass, or redis.user's); read once at start, while still root; empty = no AUTH (then every local user can write Redis)" },
	{ "redis.stream", MS_CONF_STR, OFF(redis_stream), SZ(redis_stream), "minisoc:alerts", 0, 0,
	  "stream the alerts are added to (XADD)" },
	{ "redis.channel", MS_CONF_STR, OFF(redis_channel), SZ(redis_channel), "minisoc:alerts:live", 0, 0,
	  "channel every alert is published on" },
	{ "redis.stream_maxlen", MS_CONF_INT, OFF(redis_stream_maxlen), 0, "1000000", 1000, INT64_MAX,
	  "approximate cap on the stream's length (MAXLEN ~)" },
	{ "redis.max_pending", MS_CONF_SIZE, OFF(redis_max_pending), 0, "10000", 16, 10000000,
	  "operations waiting for Redis before agents are slowed down" },
	{ "redis.reply_wait_us", MS_CONF_INT, OFF(redis_reply_wait_us), 0, "0", 0, 100000,
	  "how long Redis' replies may wait to be read until the next agent data wakes the collector (one wake-up per arrival instead of two; delays ACKs and the next Redis call by at most this, never an alert's write); 0 = read as they come" },
	{ "limits.max_frame", MS_CONF_SIZE, OFF(max_frame), 0, "1MiB", 1024, 16777216,
	  "largest frame accepted from an agent" },
	{ "limits.max_sessions", MS_CONF_INT, OFF(max_sessions), 0, "4096", 1, 1000000,
	  "agent connections at once" },
	{ "limits.max_handshakes", MS_CONF_INT, OFF(max_handshakes), 0, "256", 1, 100000,
	  "connections still in the TLS handshake (unauthenticated) at once" },
	{ "limits.max_handshakes_per_ip", MS_CONF_INT, OFF(max_handshakes_per_ip), 0, "32", 0, 100000,
	  "of them, from one source address (IPv6: one address, not its /64); over it a connection is closed before TLS, so a few addresses cannot hold every handshake slot; 0 = no limit" },
	{ "limits.handshake_timeout_ms", MS_CONF_INT, OFF(handshake_timeout_ms), 0, "10000", 100, 600000,
	  "time for TLS handshake and hello" },
	{ "limits.agent_events_per_s", MS_CONF_INT, OFF(agent_events_per_s), 0, "0", 0, 100000000,
	  "events per second one agent may send (bursts of one second's worth); over it its session is not read for a while, nothing is dropped; 0 = no limit" },
	{ "limits.connect_rate_per_ip", MS_CONF_INT, OFF(connect_rate_per_ip), 0, "20", 0, 1000000,
	  "new connections per second from one address (a token bucket; over it they are closed before TLS); 0 = no limit" },
	{ "limits.connect_burst_per_ip", MS_CONF_INT, OFF(connect_burst_per_ip), 0, "200", 1, 1000000,
	  "connections one address may open at once (agents behind one NAT reconnecting after a restart)" },
	{ "limits.ack_delay_ms", MS_CONF_INT, OFF(ack_delay_ms), 0, "100", 0, 1000,
	  "ACKs to one agent are sent at most this often (fewer wake-ups on busy agents); 0 = after every batch" },
	{ "limits.idle_timeout_ms", MS_CONF_INT, OFF(idle_timeout_ms), 0, "90000", 1000, 86400000,
	  "a session with no frame for this long is closed" },
	{ "limits.shutdown_timeout_ms", MS_CONF_INT, OFF(shutdown_timeout_ms), 0, "10000", 0, 600000,
	  "on SIGTERM, how long to wait for Redis to confirm pending work" },
	{ "detect.ssh_bruteforce.threshold", MS_CONF_INT, OFF(bf_threshold), 0, "8", 2, 1000,
	  "failed SSH authentications from one source that raise an alert" },
	{ "detect.ssh_bruteforce.window_s", MS_CONF_INT, OFF(bf_window_s), 0, "120", 1, 86400,
	  "within this many seconds of event time" },
	{ "detect.ssh_bruteforce.quiet_s", MS_CONF_INT, OFF(bf_quiet_s), 0, "120", 0, 86400,
	  "after an alert, the source is quiet this long" },
	{ "detect.ssh_bruteforce.max_sources", MS_CONF_INT, OFF(bf_max_sources), 0, "65536", 16, 10000000,
	  "cap on tracked (agent, source IP) pairs" },
	{ "detect.ssh_bruteforce.enabled", MS_CONF_BOOL, OFF(bf_enabled), 0, "true", 0, 0,
	  "the built-in SSH brute-force detector (the rules can do the same)" },
	{ "rules.path", MS_CONF_PATH, OFF(rules_path), SZ(rules_path), "", 0, 0,
	  "Sigma rules: a file or a folder (walked for *.yml); reloaded on SIGHUP" },
	{ "rules.placeholders", MS_CONF_PATH, OFF(rules_placeholders), SZ(rules_placeholders), "", 0, 0,
	  "YAML map of placeholder name -> list of values, for |expand" },
	{ "rules.max_groups", MS_CONF_INT, OFF(rules_max_groups), 0, "65536", 16, 10000000,
	  "per correlation rule: groups held at most (least recently seen evicted)" },
	{ "rules.max_memory_mb", MS_CONF_INT, OFF(rules_max_memory_mb), 0, "512", 16, 1048576,
	  "MiB the correlation rules' groups hold at most, shared evenly among them "
	  "(each at least 1; least recently seen evicted)" },
	{ "agents.heartbeat_ms", MS_CONF_INT, OFF(agents_heartbeat_ms), 0, "15000", 100, 86400000,
	  "how often agents send at least one frame (their uplink.heartbeat_ms)" },
	{ "agents.silent_after_missed", MS_CONF_INT, OFF(agents_silent_after_missed), 0, "3", 1, 1000,
	  "an agent without a frame for this many heartbeats is silent: one minisoc-agent-silent "
	  "alert, and minisoc-agent-back when it returns (a clean agent stop counts too)" },
	{ "agents.flooding_alert_interval_ms", MS_CONF_INT, OFF(agents_flooding_interval_ms), 0,
	  "600000", 0, 604800000,
	  "an agent whose rate limit applied again raises minisoc-agent-flooding at most this often" },
	{ "spool.dir", MS_CONF_PATH, OFF(spool_dir), SZ(spool_dir), "/var/lib/minisoc-collector", 0, 0,
	  "folder of the spool on disk (sink.journal): while Redis is away or behind, alerts and "
	  "checkpoints are written here (fsynced) and agents are acknowledged; replayed in order "
	  "when Redis is back; \"\" = none (operations then wait in memory and agents are slowed)" },
	{ "spool.max_bytes", MS_CONF_SIZE, OFF(spool_max_bytes), 0, "256MiB", 65536, INT64_MAX,
	  "cap on the spool file; when full, operations wait in memory (redis.max_pending), then agents are slowed" },
	{ "spool.sync_ms", MS_CONF_INT, OFF(spool_sync_ms), 0, "20", 0, 10000,
	  "group commit: the spool is fsynced at most this often; agents are acknowledged after it" },
	{ "alerts.aggregate_window_s", MS_CONF_INT, OFF(aggregate_window_s), 0, "60", 0, 86400,
	  "the same rule on the same key (agent, source IP, user, group-by values) within this many "
	  "seconds is folded: the first alert goes out at once, the rest as one summary with a count "
	  "when the window ends; 0 = no aggregation" },
	{ "alerts.aggregate_rules", MS_CONF_STR, OFF(aggregate_rules), SZ(aggregate_rules), "", 0, 0,
	  "per-rule windows overriding alerts.aggregate_window_s: \"rule=seconds,...\" by rule id or "
	  "name (0 = never fold that rule)" },
	{ "alerts.aggregate_max_keys", MS_CONF_INT, OFF(aggregate_max_keys), 0, "65536", 16, 10000000,
	  "open aggregation windows held at most (the oldest is closed early)" },
	{ "archive.path", MS_CONF_PATH, OFF(archive_path), SZ(archive_path), "", 0, 0,
	  "event archive folder: every event, per information system per day, zstd-compressed "
	  "(docs/archive.md; read with minisocctl search); empty = no archive" },
	{ "archive.level", MS_CONF_INT, OFF(archive_level), 0, "1", -7, 19,
	  "zstd compression level of the archive (1 fast, negative faster, higher smaller)" },
	{ "archive.sync_ms", MS_CONF_INT, OFF(archive_sync_ms), 0, "1000", 10, 600000,
	  "archive files are fdatasync()ed this often (a machine crash loses at most this much of "
	  "the archive; alerts and acknowledgements do not depend on it)" },
	{ "archive.keep_days", MS_CONF_INT, OFF(archive_keep_days), 0, "0", 0, 36600,
	  "day files older than this many days are deleted (checked hourly); with archive.profiles, "
	  "a system in the register keeps at least what its level requires; 0 = no limit of its "
	  "own (everything is kept unless a profile says how long)" },
	{ "archive.profiles", MS_CONF_PATH, OFF(archive_profiles), SZ(archive_profiles), "", 0, 0,
	  "folder of the framework profiles (rules/compliance): each registered system's day "
	  "files are kept for its level's retention (months) plus archive.keep_margin_days, "
	  "then deleted; empty = retention by archive.keep_days only" },
	{ "archive.keep_margin_days", MS_CONF_INT, OFF(archive_keep_margin_days), 0, "31", 0, 3660,
	  "days kept beyond a level's required retention before day files are deleted" },
	{ "archive.backlog_max", MS_CONF_SIZE, OFF(archive_backlog_max), 0, "64MiB", 1048576,
	  1073741824,
	  "per archive file: compressed bytes held while the disk refuses writes, then events "
	  "are left out of the archive (counted as archive_dropped)" },
	{ "register.path", MS_CONF_PATH, OFF(register_path), SZ(register_path), "", 0, 0,
	  "register of information systems (YAML, docs/compliance.md): alerts carry their agent's "
	  "system id and level; agents not in it are unassigned; reloaded on SIGHUP" },
	{ "metrics.address", MS_CONF_STR, OFF(metrics_address), SZ(metrics_address), "127.0.0.1", 0, 0,
	  "address of the Prometheus /metrics listener (plain HTTP, no authentication: keep it on loopback or a trusted network)" },
	{ "metrics.port", MS_CONF_INT, OFF(metrics_port), 0, "0", 0, 65535,
	  "TCP port of /metrics (Prometheus text format); 0 = off" },
	/* Enrolment (enroll.c, docs/security.md "Enrolment"). */
	{ "enroll.port", MS_CONF_INT, OFF(enroll_port), 0, "0", 0, 65535,
	  "TCP port of the enrolment listener (TLS, server-auth only): agents trade a one-time token "
	  "and a CSR for a certificate, and renew theirs; 0 = off (6515 is customary)" },
	{ "enroll.address", MS_CONF_STR, OFF(enroll_address), SZ(enroll_address), "127.0.0.1", 0, 0,
	  "address of the enrolment listener" },
	{ "enroll.ca_cert", MS_CONF_PATH, OFF(enroll_ca_cert), SZ(enroll_ca_cert), "", 0, 0,
	  "the CA that signs agent certificates (pki init: enroll-ca.crt, an intermediate of tls.ca); "
	  "required with enroll.port" },
	{ "enroll.ca_key", MS_CONF_PATH, OFF(enroll_ca_key), SZ(enroll_ca_key), "", 0, 0,
	  "its private key (read before privileges are dropped)" },
	{ "enroll.cert_validity_s", MS_CONF_INT, OFF(enroll_validity_s), 0, "7776000", 10,
	  3650LL * 86400, "lifetime of issued agent certificates in seconds (90 days); agents renew "
	  "after two thirds of it" },
	{ "enroll.max_connections", MS_CONF_INT, OFF(enroll_max_conns), 0, "32", 1, 10000,
	  "enrolment connections at once (each has 3 x limits.handshake_timeout_ms to finish)" },
	{ "enroll.max_connections_per_ip", MS_CONF_INT, OFF(enroll_max_conns_per_ip), 0, "4", 1, 10000,
	  "enrolment connections at once from one address (one host cannot hold them all)" },
	MS_CONF_END
};

int
collector_conf_load(const char *file, struct collector_conf *c, char *err, size_t errsz)
{
	memset(c, 0, sizeof(*c));
	if (ms_config_load(file, collector_keys, c, NULL, err, errsz) < 0)
		return -1;
	if (c->tls_ca[0] == '\0' || c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
		snprintf(err, errsz, "%s: tls.ca, tls.cert and tls.key are required", file);
		return -1;
	}
	if (c->enroll_port && (c->enroll_ca_cert[0] == '\0' || c->enroll_ca_key[0] == '\0')) {
		snprintf(err, errsz, "%s: enroll.port needs enroll.ca_cert and enroll.ca_key", file);
		return -1;
	}
	return 0;
}

void
collector_conf_usage(FILE *out)
{
	ms_config_print_keys(out, collector_keys);
}
