/* agent_conf – the agent's configuration keys, declared once. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "ms_config.h"
#include "ms_util.h"

#define OFF(f) offsetof(struct agent_conf, f)
#define SZ(f) sizeof(((struct agent_conf *)0)->f)

static const struct ms_conf_key agent_keys[] = {
	{ "agent.user", MS_CONF_STR, OFF(user), SZ(user), "", 0, 0,
	  "when started as root: the user to run as once files are open (give it group adm to read logs)" },
	{ "agent.state_dir", MS_CONF_PATH, OFF(state_dir), SZ(state_dir), "/var/lib/minisoc-agent", 0, 0,
	  "where sequence numbers and acknowledged file positions are kept" },
	{ "agent.log_level", MS_CONF_STR, OFF(log_level), SZ(log_level), "info", 0, 0,
	  "debug, info, warn or error" },
	{ "collector.host", MS_CONF_STR, OFF(collector_host), SZ(collector_host), NULL, 0, 0,
	  "the primary collector's address or host name (required unless collectors: is given)" },
	{ "collector.port", MS_CONF_INT, OFF(collector_port), 0, "6514", 1, 65535,
	  "the primary collector's port" },
	{ "collector.server_name", MS_CONF_STR, OFF(server_name), SZ(server_name), "", 0, 0,
	  "name the collector's certificate must carry (default: collector.host)" },
	{ "collectors", MS_CONF_NODE, OFF(collectors_node), 0, NULL, 0, 0,
	  "failover list in order of preference, after collector.* when both are given: entries "
	  "host, host:port or {host, port: 6514, server_name: host}; at most 8 collectors in all" },
	{ "tls.ca", MS_CONF_PATH, OFF(tls_ca), SZ(tls_ca), NULL, 0, 0,
	  "deployment CA certificate (required)" },
	{ "tls.cert", MS_CONF_PATH, OFF(tls_cert), SZ(tls_cert), NULL, 0, 0,
	  "this agent's certificate; its CN is the agent's identity (required)" },
	{ "tls.key", MS_CONF_PATH, OFF(tls_key), SZ(tls_key), NULL, 0, 0,
	  "this agent's private key (required)" },
	{ "files", MS_CONF_NODE, OFF(files), 0, NULL, 0, 0,
	  "list of {path, start: end|beginning} to follow; path may be a glob (*.log)" },
	{ "batch.max_events", MS_CONF_INT, OFF(batch_max_events), 0, "1024", 1, 65536,
	  "events per frame at most" },
	{ "batch.max_bytes", MS_CONF_SIZE, OFF(batch_max_bytes), 0, "512KiB", 4096, 1048576,
	  "bytes per frame at most (the collector's limits.max_frame must be larger)" },
	{ "queue.max_events", MS_CONF_INT, OFF(queue_max_events), 0, "20000", 16, 100000000,
	  "unacknowledged events kept in memory for sending; the rest wait in the spool" },
	{ "queue.max_bytes", MS_CONF_SIZE, OFF(queue_max_bytes), 0, "4MiB", 65536, 17179869184LL,
	  "unacknowledged bytes kept in memory" },
	{ "spool.max_bytes", MS_CONF_SIZE, OFF(spool_max_bytes), 0, "1GiB", 65536, 1099511627776LL,
	  "disk space for lines read and not yet acknowledged (state_dir/spool); when full, reading pauses" },
	{ "spool.segment_bytes", MS_CONF_SIZE, OFF(spool_segment_bytes), 0, "16MiB", 16384, 1073741824,
	  "size of one spool file; a file is deleted once all its lines are acknowledged" },
	{ "spool.sync_ms", MS_CONF_INT, OFF(spool_sync_ms), 0, "100", 0, 60000,
	  "group commit: fdatasync the spool this often (0: never, the page cache only survives an agent crash)" },
	{ "agent.poll_ms", MS_CONF_INT, OFF(poll_ms), 0, "1000", 10, 60000,
	  "how often files are checked for rotation, truncation and appearance, and globs expanded" },
	{ "agent.max_lines_per_s", MS_CONF_INT, OFF(max_lines_per_s), 0, "50000", 0, 100000000,
	  "flood control: lines read per second at most (bursts up to one second's worth); above it reading slows, nothing is dropped; 0 = no limit" },
	{ "agent.read_batch_us", MS_CONF_INT, OFF(read_batch_us), 0, "3000", 0, 1000000,
	  "under a steady stream, files are read at most this often (microseconds): fewer wake-ups, bigger batches; a line after a quiet spell is read at once; 0 = on every write" },
	{ "agent.rotate_wait_ms", MS_CONF_INT, OFF(rotate_wait_ms), 0, "5000", 0, 3600000,
	  "a rotated or removed file is read on until it has not grown for this long (its writer may append until it reopens its log); 0 = stop at rotation" },
	{ "agent.partial_line_ms", MS_CONF_INT, OFF(partial_line_ms), 0, "5000", 10, 3600000,
	  "a last line without newline is shipped once the file has not grown for this long" },
	{ "uplink.heartbeat_ms", MS_CONF_INT, OFF(heartbeat_ms), 0, "15000", 100, 3600000,
	  "a heartbeat is sent after this much silence" },
	{ "uplink.dead_after_ms", MS_CONF_INT, OFF(dead_after_ms), 0, "45000", 500, 3600000,
	  "no frame from the collector for this long: reconnect" },
	{ "uplink.backoff_min_ms", MS_CONF_INT, OFF(backoff_min_ms), 0, "200", 10, 600000,
	  "first reconnect delay; also the delay before the next collector of a failover round" },
	{ "uplink.backoff_max_ms", MS_CONF_INT, OFF(backoff_max_ms), 0, "30000", 10, 3600000,
	  "longest reconnect delay (the delay doubles per full round over the collectors)" },
	{ "uplink.shutdown_timeout_ms", MS_CONF_INT, OFF(shutdown_timeout_ms), 0, "5000", 0, 600000,
	  "on SIGTERM, how long to wait for the last acknowledgements" },
	{ "uplink.failback_ms", MS_CONF_INT, OFF(failback_ms), 0, "60000", 0, 86400000,
	  "while on a collector other than the primary: how often to probe the primary, and go "
	  "back to it once it answers (0: never)" },
	{ "uplink.health_ms", MS_CONF_INT, OFF(health_ms), 0, "60000", 100, 86400000,
	  "how often a health report (host, clock sync, files, backlog, counters, disk space) goes "
	  "to the collector; the first right after connecting" },
	{ "tls.allow_tls12", MS_CONF_BOOL, OFF(tls_allow_tls12), 0, "false", 0, 0,
	  "also speak TLS 1.2 (ECDHE with AES-GCM or ChaCha20 only) to a collector that cannot do 1.3; TLS 1.3 only by default" },
	{ "tls.pin_sha256", MS_CONF_NODE, OFF(pins_node), 0, NULL, 0, 0,
	  "optional: list of SHA-256 pins (64 hex digits) of collector public keys; a collector whose key is not one of them is refused even with a valid certificate" },
	{ "tls.renew_port", MS_CONF_INT, OFF(renew_port), 0, "6515", 0, 65535,
	  "the collector's enrolment port (its enroll.port): past two thirds of its lifetime the "
	  "certificate is renewed there (new key, old certificate as proof); 0 = never" },
	{ "tls.renew_check_s", MS_CONF_INT, OFF(renew_check_s), 0, "3600", 1, 86400,
	  "how often the certificate's age is checked (and a failed renewal retried)" },
	{ "health.antimalware", MS_CONF_NODE, OFF(antimalware_node), 0, NULL, 0, 0,
	  "list of process names (as in /proc/<pid>/comm, e.g. [clamd]): the health report says "
	  "whether each is running" },
	{ "capture.interface", MS_CONF_STR, OFF(capture_interface), SZ(capture_interface), "", 0, 0,
	  "packet capture on this interface (needs CAP_NET_RAW, see docs/network.md); network "
	  "events (conn, dns, ssl, ssh, http, scan) go to the collector like log lines" },
	{ "capture.file", MS_CONF_PATH, OFF(capture_file), SZ(capture_file), "", 0, 0,
	  "instead of an interface: a pcap or pcapng file, read once as fast as the spool takes "
	  "its events, with the packets' timestamps as event time" },
	{ "capture.filter", MS_CONF_STR, OFF(capture_filter), SZ(capture_filter), "", 0, 0,
	  "BPF filter (tcpdump syntax), e.g. \"not port 6514\" to leave out the agent's own uplink" },
	{ "capture.snaplen", MS_CONF_INT, OFF(capture_snaplen), 0, "1600", 64, 262144,
	  "bytes captured per packet (headers and the first payload bytes are what is read)" },
	{ "capture.promiscuous", MS_CONF_BOOL, OFF(capture_promiscuous), 0, "false", 0, 0,
	  "also capture traffic not addressed to this host (a mirror port)" },
	{ "capture.buffer_bytes", MS_CONF_SIZE, OFF(capture_buffer_bytes), 0, "8MiB", 65536,
	  1073741824, "kernel capture buffer; when it overflows the kernel drops (reported as "
	  "capture.kernel_drops)" },
	{ "capture.retry_ms", MS_CONF_INT, OFF(capture_retry_ms), 0, "5000", 100, 3600000,
	  "a live capture that failed (interface gone) is opened again this often" },
	{ "capture.flow_max", MS_CONF_INT, OFF(capture_flow_max), 0, "16384", 8, 16777216,
	  "connections tracked at once; a full table ends its least recently seen connection "
	  "(counted as flows_evicted)" },
	{ "capture.scan_sources", MS_CONF_INT, OFF(capture_scan_sources), 0, "512", 8, 1048576,
	  "sources with scan counters at once (about 9 KiB each)" },
	{ "capture.scan_window_s", MS_CONF_INT, OFF(capture_scan_window_s), 0, "60", 1, 3600,
	  "window of the per-source scan counters; one scan event per source and window" },
	{ "capture.attempts_per_window", MS_CONF_INT, OFF(capture_attempts_per_window), 0, "100",
	  1, 1000000, "failed connection attempts of one source reported one by one per window; "
	  "the rest only count in its scan event" },
	{ "capture.attempts_per_s", MS_CONF_INT, OFF(capture_attempts_per_s), 0, "200", 0, 1000000,
	  "failed connection attempts reported one by one per second in all (floods from many "
	  "sources); the rest count in the destination's scan event; 0 = no limit" },
	MS_CONF_END
};

static int
conf_files(const char *file, const struct ms_yaml_node *list, struct agent_file_conf *files,
    size_t *nfiles, char *err, size_t errsz)
{
	*nfiles = 0;
	if (list == NULL || ms_yaml_is_null(list))
		return 0;
	if (list->type != MS_YAML_SEQ) {
		snprintf(err, errsz, "%s: line %d: files must be a list", file, list->line);
		return -1;
	}
	if (list->n > AGENT_MAX_FILES) {
		snprintf(err, errsz, "%s: at most %d files", file, AGENT_MAX_FILES);
		return -1;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct ms_yaml_node *it = list->items[i], *path, *start;
		struct agent_file_conf *fc = &files[*nfiles];

		if (it->type == MS_YAML_SCALAR) {
			path = it;
			start = NULL;
		} else if (it->type == MS_YAML_MAP) {
			for (size_t k = 0; k < it->n; k++) {
				if (strcmp(it->pairs[k].key, "path") != 0 &&
				    strcmp(it->pairs[k].key, "start") != 0) {
					snprintf(err, errsz, "%s: line %d: unknown key \"files.%s\"", file,
					    it->pairs[k].value->line, it->pairs[k].key);
					return -1;
				}
			}
			path = ms_yaml_get(it, "path");
			start = ms_yaml_get(it, "start");
		} else {
			snprintf(err, errsz, "%s: line %d: a file is a path or {path, start}", file, it->line);
			return -1;
		}
		if (path == NULL || path->type != MS_YAML_SCALAR || path->len == 0) {
			snprintf(err, errsz, "%s: line %d: file without a path", file, it->line);
			return -1;
		}
		if (ms_config_resolve_path(file, path->str, fc->path, sizeof(fc->path)) < 0) {
			snprintf(err, errsz, "%s: line %d: path too long", file, path->line);
			return -1;
		}
		fc->from_beginning = false;
		fc->is_glob = strpbrk(fc->path, "*?[") != NULL;
		if (start != NULL) {
			if (start->type == MS_YAML_SCALAR && strcmp(start->str, "beginning") == 0)
				fc->from_beginning = true;
			else if (!(start->type == MS_YAML_SCALAR && strcmp(start->str, "end") == 0)) {
				snprintf(err, errsz, "%s: line %d: start is \"end\" or \"beginning\"", file,
				    start->line);
				return -1;
			}
		}
		(*nfiles)++;
	}
	return 0;
}

/* Whether host is usable as a host name or address: printable, no blanks. */
static bool
conf_host_ok(const char *host)
{
	if (*host == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)host; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/*
 * Fills out from "host", "host:port", "[v6]" or "[v6]:port" (a bare
 * address with several colons is an IPv6 address without port).
 */
static int
conf_collector_str(const char *s, struct agent_collector *out, char *why, size_t whysz)
{
	const char *host = s, *port = NULL, *colon = strchr(s, ':');
	size_t hl = strlen(s);

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			snprintf(why, whysz, "expected [address] or [address]:port");
			return -1;
		}
		host = s + 1;
		hl = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(out->host)) {
		snprintf(why, whysz, "host must have 1 to %zu bytes", sizeof(out->host) - 1);
		return -1;
	}
	ms_copy(out->host, sizeof(out->host), host, hl);
	out->port = 6514;
	if (port != NULL && ms_parse_i64(port, 1, 65535, &out->port) < 0) {
		snprintf(why, whysz, "port must be an integer in [1, 65535]");
		return -1;
	}
	return 0;
}

/* Fills out from one entry of collectors: (a string or a map). */
static int
conf_collector(const struct ms_yaml_node *it, struct agent_collector *out, char *why,
    size_t whysz)
{
	const struct ms_yaml_node *host, *port, *name;

	memset(out, 0, sizeof(*out));
	if (it->type == MS_YAML_SCALAR && strlen(it->str) != it->len) {
		snprintf(why, whysz, "a collector must not contain a NUL byte");
		return -1;
	}
	if (it->type == MS_YAML_SCALAR) {
		if (conf_collector_str(it->str, out, why, whysz) < 0)
			return -1;
		ms_copy(out->server_name, sizeof(out->server_name), out->host, strlen(out->host));
		return 0;
	}
	if (it->type != MS_YAML_MAP) {
		snprintf(why, whysz, "a collector is host, host:port or {host, port, server_name}");
		return -1;
	}
	for (size_t k = 0; k < it->n; k++) {
		const char *key = it->pairs[k].key;
		if (strcmp(key, "host") != 0 && strcmp(key, "port") != 0 &&
		    strcmp(key, "server_name") != 0) {
			snprintf(why, whysz, "unknown key \"collectors.%s\"", key);
			return -1;
		}
		if (it->pairs[k].value->type != MS_YAML_SCALAR ||
		    strlen(it->pairs[k].value->str) != it->pairs[k].value->len) {
			snprintf(why, whysz, "collectors.%s: expected a single value", key);
			return -1;
		}
	}
	host = ms_yaml_get(it, "host");
	port = ms_yaml_get(it, "port");
	name = ms_yaml_get(it, "server_name");
	if (host == NULL || host->len == 0 || host->len >= sizeof(out->host)) {
		snprintf(why, whysz, "a collector needs a host of 1 to %zu bytes",
		    sizeof(out->host) - 1);
		return -1;
	}
	ms_copy(out->host, sizeof(out->host), host->str, host->len);
	out->port = 6514;
	if (port != NULL && ms_parse_i64(port->str, 1, 65535, &out->port) < 0) {
		snprintf(why, whysz, "collectors.port: expected an integer in [1, 65535], got \"%.64s\"",
		    port->str);
		return -1;
	}
	if (name == NULL || name->len == 0)
		name = host;
	if (name->len >= sizeof(out->server_name)) {
		snprintf(why, whysz, "collectors.server_name: longer than %zu bytes",
		    sizeof(out->server_name) - 1);
		return -1;
	}
	ms_copy(out->server_name, sizeof(out->server_name), name->str, name->len);
	return 0;
}

/* Adds co to c's failover list; line is where it was written (0: collector.*). */
static int
conf_add_collector(const char *file, int line, struct agent_conf *c,
    const struct agent_collector *co, char *err, size_t errsz)
{
	if (!conf_host_ok(co->host) || !conf_host_ok(co->server_name)) {
		snprintf(err, errsz, "%s: line %d: collector host and server_name must not be empty "
		    "nor contain blanks or control characters", file, line);
		return -1;
	}
	for (size_t i = 0; i < c->ncollectors; i++) {
		if (strcasecmp(c->collectors[i].host, co->host) == 0 &&
		    c->collectors[i].port == co->port) {
			snprintf(err, errsz, "%s: line %d: collector %s:%lld is listed twice", file,
			    line, co->host, (long long)co->port);
			return -1;
		}
	}
	if (c->ncollectors == AGENT_MAX_COLLECTORS) {
		snprintf(err, errsz, "%s: line %d: at most %d collectors (collector.* and collectors: "
		    "together)", file, line, AGENT_MAX_COLLECTORS);
		return -1;
	}
	c->collectors[c->ncollectors++] = *co;
	return 0;
}

/* Builds c's failover list: collector.* first, then collectors:. */
static int
conf_collectors(const char *file, const struct ms_yaml_node *root, struct agent_conf *c,
    char *err, size_t errsz)
{
	const struct ms_yaml_node *list = c->collectors_node, *sec;
	struct agent_collector co;
	char why[300];

	c->ncollectors = 0;
	sec = root ? ms_yaml_get(root, "collector") : NULL;
	if (c->collector_host[0] != '\0') {
		memset(&co, 0, sizeof(co));
		memcpy(co.host, c->collector_host, sizeof(co.host));
		co.port = c->collector_port;
		memcpy(co.server_name, c->server_name[0] ? c->server_name : c->collector_host,
		    sizeof(co.server_name));
		if (conf_add_collector(file, sec ? sec->line : 0, c, &co, err, errsz) < 0)
			return -1;
	} else if (sec != NULL && (ms_yaml_get(sec, "port") || ms_yaml_get(sec, "server_name"))) {
		snprintf(err, errsz, "%s: line %d: collector.port or collector.server_name without "
		    "collector.host", file, sec->line);
		return -1;
	}
	if (list != NULL && !ms_yaml_is_null(list)) {
		if (list->type != MS_YAML_SEQ) {
			snprintf(err, errsz, "%s: line %d: collectors must be a list", file, list->line);
			return -1;
		}
		for (size_t i = 0; i < list->n; i++) {
			if (conf_collector(list->items[i], &co, why, sizeof(why)) < 0) {
				snprintf(err, errsz, "%s: line %d: %s", file, list->items[i]->line, why);
				return -1;
			}
			if (conf_add_collector(file, list->items[i]->line, c, &co, err, errsz) < 0)
				return -1;
		}
	}
	if (c->ncollectors == 0)
		return 0;	/* reported with the other required keys */
	/* collector.* names the primary, whichever way it was given. */
	memcpy(c->collector_host, c->collectors[0].host, sizeof(c->collector_host));
	c->collector_port = c->collectors[0].port;
	memcpy(c->server_name, c->collectors[0].server_name, sizeof(c->server_name));
	return 0;
}

/* tls.pin_sha256: one pin or a list of them, 64 hex digits each. */
static int
conf_pins(const char *file, const struct ms_yaml_node *list, struct agent_conf *c, char *err,
    size_t errsz)
{
	const struct ms_yaml_node *one[1];
	const struct ms_yaml_node *const *items = one;
	size_t n = 0;

	c->npins = 0;
	if (list == NULL || ms_yaml_is_null(list))
		return 0;
	if (list->type == MS_YAML_SCALAR) {
		one[0] = list;
		n = 1;
	} else if (list->type == MS_YAML_SEQ) {
		items = (const struct ms_yaml_node *const *)list->items;
		n = list->n;
	} else {
		snprintf(err, errsz, "%s: line %d: tls.pin_sha256 is a pin or a list of pins", file,
		    list->line);
		return -1;
	}
	if (n > AGENT_MAX_PINS) {
		snprintf(err, errsz, "%s: line %d: tls.pin_sha256: at most %d pins", file, list->line,
		    AGENT_MAX_PINS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ms_yaml_node *it = items[i];
		bool ok = it->type == MS_YAML_SCALAR && it->len == 64;

		for (size_t k = 0; ok && k < 64; k++)
			ok = (it->str[k] >= '0' && it->str[k] <= '9') ||
			    (it->str[k] >= 'a' && it->str[k] <= 'f') ||
			    (it->str[k] >= 'A' && it->str[k] <= 'F');
		if (!ok) {
			snprintf(err, errsz, "%s: line %d: tls.pin_sha256: a pin is 64 hex digits (SHA-256 "
			    "of the collector's public key)", file, it->line);
			return -1;
		}
		for (size_t k = 0; k < 64; k++)
			c->pins[c->npins][k] = (char)(it->str[k] | 0x20);	/* lower case */
		c->pins[c->npins][64] = '\0';
		c->npins++;
	}
	return 0;
}

/* health.antimalware: a list of process names as the kernel shows them (comm). */
static int
conf_antimalware(const char *file, const struct ms_yaml_node *list, struct agent_conf *c,
    char *err, size_t errsz)
{
	c->nantimalware = 0;
	if (list == NULL || ms_yaml_is_null(list))
		return 0;
	if (list->type != MS_YAML_SEQ) {
		snprintf(err, errsz, "%s: line %d: health.antimalware must be a list of process names",
		    file, list->line);
		return -1;
	}
	if (list->n > AGENT_MAX_ANTIMALWARE) {
		snprintf(err, errsz, "%s: line %d: health.antimalware: at most %d names", file,
		    list->line, AGENT_MAX_ANTIMALWARE);
		return -1;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct ms_yaml_node *it = list->items[i];
		char *name = c->antimalware[c->nantimalware];

		/* The kernel keeps 15 bytes of a process name: a longer one never matches. */
		if (it->type != MS_YAML_SCALAR || it->len == 0 || it->len > 15 ||
		    strlen(it->str) != it->len) {
			snprintf(err, errsz, "%s: line %d: health.antimalware: a process name of 1 to 15 "
			    "bytes, as in /proc/<pid>/comm", file, it->line);
			return -1;
		}
		for (size_t k = 0; k < it->len; k++) {
			if ((unsigned char)it->str[k] < 0x20 || it->str[k] == 0x7f || it->str[k] == '/') {
				snprintf(err, errsz, "%s: line %d: health.antimalware: \"%s\" is not a "
				    "process name", file, it->line, it->str);
				return -1;
			}
		}
		/* Names become report keys (lower case, '_' for the rest): keep them apart. */
		for (size_t k = 0; k < c->nantimalware; k++) {
			char k1[64], k2[64];

			health_antimalware_key(k1, sizeof(k1), c->antimalware[k]);
			health_antimalware_key(k2, sizeof(k2), it->str);
			if (strcmp(k1, k2) == 0) {
				snprintf(err, errsz, "%s: line %d: health.antimalware: \"%s\" and \"%s\" "
				    "would be reported under the same key", file, it->line,
				    c->antimalware[k], it->str);
				return -1;
			}
		}
		ms_copy(name, sizeof(c->antimalware[0]), it->str, it->len);
		c->nantimalware++;
	}
	return 0;
}

int
agent_conf_load(const char *file, struct agent_conf *c, struct agent_file_conf *files,
    size_t *nfiles, struct ms_yaml_node **root, char *err, size_t errsz)
{
	memset(c, 0, sizeof(*c));
	if (ms_config_load(file, agent_keys, c, root, err, errsz) < 0)
		return -1;
	if (conf_collectors(file, root ? *root : NULL, c, err, errsz) < 0)
		return -1;
	if (c->ncollectors == 0 || c->tls_ca[0] == '\0' || c->tls_cert[0] == '\0' ||
	    c->tls_key[0] == '\0') {
		snprintf(err, errsz, "%s: collector.host (or collectors:), tls.ca, tls.cert and "
		    "tls.key are required", file);
		return -1;
	}
	if (c->failback_ms > 0 && c->failback_ms < 100) {
		snprintf(err, errsz, "%s: uplink.failback_ms: 0 (never) or at least 100", file);
		return -1;
	}
	if (c->backoff_max_ms < c->backoff_min_ms)
		c->backoff_max_ms = c->backoff_min_ms;
	/* A few segments fit under the cap, or nothing could ever be deleted while full. */
	if (c->spool_segment_bytes > c->spool_max_bytes / 4)
		c->spool_segment_bytes = c->spool_max_bytes / 4;
	if (conf_files(file, c->files, files, nfiles, err, errsz) < 0 ||
	    conf_antimalware(file, c->antimalware_node, c, err, errsz) < 0 ||
	    conf_pins(file, c->pins_node, c, err, errsz) < 0)
		return -1;
	if (c->capture_interface[0] && c->capture_file[0]) {
		snprintf(err, errsz, "%s: capture.interface and capture.file exclude each other", file);
		return -1;
	}
	if (*nfiles == 0 && !c->capture_interface[0] && !c->capture_file[0]) {
		snprintf(err, errsz, "%s: no files to follow (files: [...]) and no capture "
		    "(capture.interface or capture.file)", file);
		return -1;
	}
	return 0;
}

void
agent_conf_usage(FILE *out)
{
	ms_config_print_keys(out, agent_keys);
}

void
agent_conf_print_collectors(FILE *out, const struct agent_conf *c)
{
	fprintf(out, "collectors (in order of preference):\n");
	for (size_t i = 0; i < c->ncollectors; i++) {
		const struct agent_collector *co = &c->collectors[i];
		bool v6 = strchr(co->host, ':') != NULL;

		fprintf(out, "  %zu. %s%s%s:%lld server_name=%s%s\n", i + 1, v6 ? "[" : "", co->host,
		    v6 ? "]" : "", (long long)co->port, co->server_name, i == 0 ? " (primary)" : "");
	}
	if (c->ncollectors > 1) {
		if (c->failback_ms > 0)
			fprintf(out, "fail-back: while on another collector, the primary is probed "
			    "every %lld ms\n",
			    (long long)c->failback_ms);
		else
			fprintf(out, "fail-back: off (uplink.failback_ms: 0)\n");
	}
}
