/* fwd_conf – minisoc-forward's configuration keys, declared once. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "ms_config.h"
#include "ms_util.h"

#define OFF(f) offsetof(struct fwd_conf, f)
#define SZ(f) sizeof(((struct fwd_conf *)0)->f)

static const struct ms_conf_key fwd_keys[] = {
	{ "forward.log_level", MS_CONF_STR, OFF(log_level), SZ(log_level), "info", 0, 0,
	  "debug, info, warn or error" },
	{ "forward.min_severity", MS_CONF_STR, OFF(min_severity), SZ(min_severity), "high", 0, 0,
	  "alerts at or above this level are forwarded: informational, low, medium, high or "
	  "critical (the rest is acknowledged and counted as filtered); incidents are always forwarded" },
	{ "forward.max_inflight", MS_CONF_INT, OFF(max_inflight), 0, "1000", 1, 100000,
	  "entries read from Redis and not yet confirmed delivered, at most (bounds memory)" },
	{ "forward.confirm_ms", MS_CONF_INT, OFF(confirm_ms), 0, "1000", 0, 600000,
	  "an entry counts as delivered once the receiver's TCP acknowledged all its bytes and the "
	  "connection stayed healthy this long afterwards; only then it is acknowledged in Redis" },
	{ "forward.dead_after_ms", MS_CONF_INT, OFF(dead_after_ms), 0, "30000", 1000, 3600000,
	  "no byte acknowledged by the receiver for this long while some wait: the connection is dropped and "
	  "everything unconfirmed is sent again on a new one" },
	{ "forward.shutdown_timeout_ms", MS_CONF_INT, OFF(shutdown_timeout_ms), 0, "5000", 0, 600000,
	  "on SIGTERM, how long to wait for sent entries to be confirmed (the rest is sent again "
	  "after the restart)" },
	{ "forward.max_message", MS_CONF_SIZE, OFF(max_message), 0, "1MiB", 2048, 16777216,
	  "largest syslog message sent (an alert is at most 256 KiB of JSON); a bigger entry is logged, counted as failed and acknowledged "
	  "(it could never be sent)" },
	{ "upstream.host", MS_CONF_STR, OFF(upstream_host), SZ(upstream_host), NULL, 0, 0,
	  "the receiver at the national monitoring center (host name or address)" },
	{ "upstream.port", MS_CONF_INT, OFF(upstream_port), 0, "6514", 1, 65535,
	  "its port (6514: syslog over TLS, RFC 5425)" },
	{ "upstream.server_name", MS_CONF_STR, OFF(upstream_server_name), SZ(upstream_server_name),
	  "", 0, 0, "the name its certificate must carry (default: upstream.host)" },
	{ "upstream.backoff_min_ms", MS_CONF_INT, OFF(backoff_min_ms), 0, "500", 10, 3600000,
	  "first delay before reconnecting; doubles per failure, with jitter" },
	{ "upstream.backoff_max_ms", MS_CONF_INT, OFF(backoff_max_ms), 0, "60000", 10, 3600000,
	  "longest delay between reconnection attempts" },
	{ "upstream.connect_timeout_ms", MS_CONF_INT, OFF(connect_timeout_ms), 0, "10000", 100, 600000,
	  "TCP connect and TLS handshake, at most" },
	{ "tls.ca", MS_CONF_PATH, OFF(tls_ca), SZ(tls_ca), NULL, 0, 0,
	  "CA certificate(s) the receiver's certificate must chain to" },
	{ "tls.cert", MS_CONF_PATH, OFF(tls_cert), SZ(tls_cert), NULL, 0, 0,
	  "this SOC's client certificate (chain) in PEM, shown to the receiver" },
	{ "tls.key", MS_CONF_PATH, OFF(tls_key), SZ(tls_key), NULL, 0, 0,
	  "its private key in PEM" },
	{ "tls.allow_tls12", MS_CONF_BOOL, OFF(tls_allow_tls12), 0, "false", 0, 0,
	  "also speak TLS 1.2 (ECDHE with AES-GCM or ChaCha20 only) to a receiver without TLS 1.3" },
	{ "redis.host", MS_CONF_STR, OFF(redis_host), SZ(redis_host), "127.0.0.1", 0, 0,
	  "Redis host (loopback: hiredis here has no TLS)" },
	{ "redis.port", MS_CONF_INT, OFF(redis_port), 0, "6379", 1, 65535, "Redis port" },
	{ "redis.unix", MS_CONF_PATH, OFF(redis_unix), SZ(redis_unix), "", 0, 0,
	  "Redis unix socket; used instead of host/port when set" },
	{ "redis.user", MS_CONF_STR, OFF(redis_user), SZ(redis_user), "", 0, 0,
	  "Redis ACL user to sign in as (with redis.password_file); empty = the default user" },
	{ "redis.password_file", MS_CONF_PATH, OFF(redis_password_file), SZ(redis_password_file), "", 0, 0,
	  "file whose first line is the Redis password (requirepass, or redis.user's); read once at start; empty = no AUTH" },
	{ "redis.alerts_stream", MS_CONF_STR, OFF(alerts_stream), SZ(alerts_stream), "minisoc:alerts",
	  0, 0, "stream of alerts (field alert = the alert JSON)" },
	{ "redis.incidents_stream", MS_CONF_STR, OFF(incidents_stream), SZ(incidents_stream),
	  "minisoc:incidents:events", 0, 0,
	  "stream of incident events (field incident = the incident JSON); empty = no incidents" },
	{ "redis.group", MS_CONF_STR, OFF(group), SZ(group), "minisoc-forward", 0, 0,
	  "consumer group on both streams; its pending list is the store of what is not yet delivered" },
	{ "redis.consumer", MS_CONF_STR, OFF(consumer), SZ(consumer), "", 0, 0,
	  "this forwarder's consumer name (default: the host name); keep it stable across restarts" },
	{ "redis.start_at", MS_CONF_STR, OFF(start_at), SZ(start_at), "new", 0, 0,
	  "when the group is created: new (only what is added from then on) or all (the whole stream)" },
	{ "redis.block_ms", MS_CONF_INT, OFF(block_ms), 0, "1000", 10, 60000,
	  "how long one read waits for new entries" },
	{ "redis.claim_idle_ms", MS_CONF_INT, OFF(claim_idle_ms), 0, "60000", 1000, 86400000,
	  "entries pending this long at another consumer of the group (a forwarder renamed or gone) "
	  "are taken over (XAUTOCLAIM), at start and then this often" },
	{ "redis.stats_key", MS_CONF_STR, OFF(stats_key), SZ(stats_key), "minisoc:forward:stats", 0, 0,
	  "hash the counters are written to every 10 s" },
	{ "syslog.hostname", MS_CONF_STR, OFF(syslog_hostname), SZ(syslog_hostname), "", 0, 0,
	  "HOSTNAME of the messages (default: this host's name)" },
	{ "syslog.app_name", MS_CONF_STR, OFF(syslog_app_name), SZ(syslog_app_name), "minisoc", 0, 0,
	  "APP-NAME of the messages" },
	{ "syslog.facility", MS_CONF_INT, OFF(syslog_facility), 0, "13", 0, 23,
	  "syslog facility number (13: log audit)" },
	{ "syslog.sd_id", MS_CONF_STR, OFF(syslog_sd_id), SZ(syslog_sd_id), "minisoc@32473", 0, 0,
	  "SD-ID of the structured data (name@<your IANA enterprise number>; 32473 is the "
	  "documentation number of RFC 5612); empty = no structured data" },
	{ "syslog.bom", MS_CONF_BOOL, OFF(syslog_bom), 0, "true", 0, 0,
	  "start MSG with the UTF-8 byte order mark, as RFC 5424 asks for UTF-8 text" },
	{ "iodef.name", MS_CONF_STR, OFF(iodef_name), SZ(iodef_name), NULL, 0, 0,
	  "the SOC's domain name, the namespace of its incident ids (IncidentID name)" },
	{ "iodef.lang", MS_CONF_STR, OFF(iodef_lang), SZ(iodef_lang), "vi", 0, 0,
	  "language of the free text in the incidents (xml:lang)" },
	{ "iodef.contact_name", MS_CONF_STR, OFF(iodef_contact_name), SZ(iodef_contact_name), NULL, 0, 0,
	  "the organisation that reports (Contact, role creator)" },
	{ "iodef.contact_email", MS_CONF_STR, OFF(iodef_contact_email), SZ(iodef_contact_email), "", 0, 0,
	  "its e-mail address" },
	{ "iodef.max_alerts", MS_CONF_INT, OFF(iodef_max_alerts), 0, "64", 0, 256,
	  "related alerts described per incident document (EventData), at most" },
	MS_CONF_END
};

int
fwd_conf_load(const char *file, struct fwd_conf *c, char *err, size_t errsz)
{
	memset(c, 0, sizeof(*c));
	if (ms_config_load(file, fwd_keys, c, NULL, err, errsz) < 0)
		return -1;
	if (c->upstream_host[0] == '\0' || c->tls_ca[0] == '\0' || c->tls_cert[0] == '\0' ||
	    c->tls_key[0] == '\0') {
		snprintf(err, errsz, "%s: upstream.host, tls.ca, tls.cert and tls.key are required", file);
		return -1;
	}
	if (c->iodef_name[0] == '\0' || c->iodef_contact_name[0] == '\0') {
		snprintf(err, errsz, "%s: iodef.name and iodef.contact_name are required", file);
		return -1;
	}
	if (fwd_sev_rank_name(c->min_severity) == FWD_SEV_UNKNOWN) {
		snprintf(err, errsz, "%s: forward.min_severity: unknown level \"%s\" "
		    "(informational, low, medium, high, critical)", file, c->min_severity);
		return -1;
	}
	if (strcmp(c->start_at, "new") != 0 && strcmp(c->start_at, "all") != 0) {
		snprintf(err, errsz, "%s: redis.start_at: expected new or all", file);
		return -1;
	}
	if (c->backoff_max_ms < c->backoff_min_ms) {
		snprintf(err, errsz, "%s: upstream.backoff_max_ms is below upstream.backoff_min_ms", file);
		return -1;
	}
	if (c->upstream_server_name[0] == '\0')
		ms_copy(c->upstream_server_name, sizeof(c->upstream_server_name), c->upstream_host,
		    strlen(c->upstream_host));
	if (c->consumer[0] == '\0' && (gethostname(c->consumer, sizeof(c->consumer)) < 0 ||
	    c->consumer[0] == '\0'))
		ms_copy(c->consumer, sizeof(c->consumer), "forward-1", 9);
	c->consumer[sizeof(c->consumer) - 1] = '\0';
	if (c->syslog_hostname[0] == '\0' &&
	    gethostname(c->syslog_hostname, sizeof(c->syslog_hostname)) < 0)
		c->syslog_hostname[0] = '\0';
	c->syslog_hostname[sizeof(c->syslog_hostname) - 1] = '\0';
	return 0;
}

void
fwd_conf_usage(FILE *out)
{
	ms_config_print_keys(out, fwd_keys);
}
