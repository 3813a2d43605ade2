/* agent_conf – the agent's configuration keys, declared once. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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
	  "collector address or host name (required)" },
	{ "collector.port", MS_CONF_INT, OFF(collector_port), 0, "6514", 1, 65535, "collector port" },
	{ "collector.server_name", MS_CONF_STR, OFF(server_name), SZ(server_name), "", 0, 0,
	  "name the collector's certificate must carry (default: collector.host)" },
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
	{ "queue.max_events", MS_CONF_INT, OFF(queue_max_events), 0, "100000", 16, 100000000,
	  "unacknowledged events held; when full, reading pauses (nothing is dropped)" },
	{ "queue.max_bytes", MS_CONF_SIZE, OFF(queue_max_bytes), 0, "64MiB", 65536, 17179869184LL,
	  "unacknowledged bytes held" },
	{ "agent.poll_ms", MS_CONF_INT, OFF(poll_ms), 0, "1000", 10, 60000,
	  "how often files are checked for rotation, truncation and appearance, and globs expanded" },
	{ "agent.partial_line_ms", MS_CONF_INT, OFF(partial_line_ms), 0, "5000", 10, 3600000,
	  "a last line without newline is shipped once the file has not grown for this long" },
	{ "uplink.heartbeat_ms", MS_CONF_INT, OFF(heartbeat_ms), 0, "15000", 100, 3600000,
	  "a heartbeat is sent after this much silence" },
	{ "uplink.dead_after_ms", MS_CONF_INT, OFF(dead_after_ms), 0, "45000", 500, 3600000,
	  "no frame from the collector for this long: reconnect" },
	{ "uplink.backoff_min_ms", MS_CONF_INT, OFF(backoff_min_ms), 0, "200", 10, 600000,
	  "first reconnect delay" },
	{ "uplink.backoff_max_ms", MS_CONF_INT, OFF(backoff_max_ms), 0, "30000", 10, 3600000,
	  "longest reconnect delay" },
	{ "uplink.shutdown_timeout_ms", MS_CONF_INT, OFF(shutdown_timeout_ms), 0, "5000", 0, 600000,
	  "on SIGTERM, how long to wait for the last acknowledgements" },
	{ "uplink.health_ms", MS_CONF_INT, OFF(health_ms), 0, "60000", 100, 86400000,
	  "how often a health report (host, clock sync, files, backlog, counters, disk space) goes "
	  "to the collector; the first right after connecting" },
	{ "health.antimalware", MS_CONF_NODE, OFF(antimalware_node), 0, NULL, 0, 0,
	  "list of process names (as in /proc/<pid>/comm, e.g. [clamd]): the health report says "
	  "whether each is running" },
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
	if (c->collector_host[0] == '\0' || c->tls_ca[0] == '\0' || c->tls_cert[0] == '\0' ||
	    c->tls_key[0] == '\0') {
		snprintf(err, errsz, "%s: collector.host, tls.ca, tls.cert and tls.key are required",
		    file);
		return -1;
	}
	if (c->server_name[0] == '\0')
		memcpy(c->server_name, c->collector_host, sizeof(c->server_name));
	if (c->backoff_max_ms < c->backoff_min_ms)
		c->backoff_max_ms = c->backoff_min_ms;
	if (conf_files(file, c->files, files, nfiles, err, errsz) < 0 ||
	    conf_antimalware(file, c->antimalware_node, c, err, errsz) < 0)
		return -1;
	if (*nfiles == 0) {
		snprintf(err, errsz, "%s: no files to follow (files: [...])", file);
		return -1;
	}
	return 0;
}

void
agent_conf_usage(FILE *out)
{
	ms_config_print_keys(out, agent_keys);
}
