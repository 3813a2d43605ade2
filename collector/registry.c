/*
 * registry – the collector's side of the register of information systems
 * (ms_register, docs/compliance.md): every alert carries the system its
 * agent belongs to (id and level), an agent that is not in the register is
 * logged and counted as unassigned, and each agent's hash in Redis says
 * which system it serves.
 *
 * It also keeps, per agent, when events of the categories the compliance
 * checks ask for were last seen (logins, configuration changes, errors):
 * HSET minisoc:agent:<id>:seen <category> <event ms>, at most once a
 * minute per agent and category – never once per event – and the
 * classification itself is skipped while all categories are fresh.
 *
 * The register itself is published in the hash minisoc:systems (system
 * id -> JSON record) at start and after each reload, replaced whole so a
 * system removed from the file leaves the hash with it, and rewritten
 * every 5 minutes so a Redis that lost it gets it back; the dashboard
 * reads it (docs/compliance.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "decode.h"
#include "ms_buf.h"
#include "ms_json.h"
#include "ms_log.h"
#include "ms_register.h"
#include "sink.h"

/* Categories in minisoc:agent:<id>:seen; the profiles' events_seen checks name them. */
enum { SEEN_LOGIN, SEEN_CONFIG, SEEN_ERROR, SEEN_N };
static const char *const seen_names[SEEN_N] = { "login", "config_change", "error" };
#define SEEN_WRITE_EVERY_MS 60000

/* The shared network sensors of the register are nobody's asset but everyone's. */
#define SYSTEM_SHARED "shared-sensor"
#define SYSTEM_UNASSIGNED "unassigned"

int
registry_start(struct collector *c, char *err, size_t errsz)
{
	if (c->conf.register_path[0] == '\0')
		return 0;
	if ((c->reg = ms_register_load(c->conf.register_path, err, errsz)) == NULL)
		return -1;
	ms_info("event=register_loaded path=%s systems=%zu", c->conf.register_path, c->reg->n);
	return 0;
}

void
registry_stop(struct collector *c)
{
	if (c->reg_publish_timer) {
		event_free(c->reg_publish_timer);
		c->reg_publish_timer = NULL;
	}
	ms_register_free(c->reg);
	c->reg = NULL;
}

#define SYSTEMS_KEY "minisoc:systems"
#define PUBLISH_RETRY_S 5
/* Written again this often: a Redis restarted without persistence, or a FLUSHALL, is repaired. */
#define PUBLISH_REFRESH_S 300
#define PUBLISH_MAX (64u << 20)	/* the register file is at most 16 MiB */

static void publish(struct collector *c, bool refresh);

static void
publish_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	publish(arg, true);
}

/* Publishes again in secs seconds. */
static void
publish_later(struct collector *c, int secs)
{
	struct timeval tv = { secs, 0 };

	if (c->reg_publish_timer == NULL &&
	    (c->reg_publish_timer = evtimer_new(c->base, publish_cb, c)) == NULL) {
		ms_err("event=register_publish_failed reason=out_of_memory");
		return;
	}
	evtimer_add(c->reg_publish_timer, &tv);
}

void
registry_publish(struct collector *c)
{
	publish(c, false);
}

/* refresh: the periodic rewrite, logged at debug level only. */
static void
publish(struct collector *c, bool refresh)
{
	struct ms_buf b;
	struct ms_json j;
	const char **kv = NULL;
	size_t *kvlen = NULL, *end = NULL, n;
	int rc;

	if (c->reg == NULL || c->sink == NULL)
		return;
	if (c->reg_publish_timer)
		evtimer_del(c->reg_publish_timer);
	n = c->reg->n;
	ms_buf_init(&b, PUBLISH_MAX);
	/* Records are written one after the other; pointers are taken once b stops moving. */
	if ((kv = calloc(2 * n + 1, sizeof(*kv))) == NULL ||
	    (kvlen = calloc(2 * n + 1, sizeof(*kvlen))) == NULL ||
	    (end = calloc(n + 1, sizeof(*end))) == NULL) {
		ms_err("event=register_publish_failed reason=out_of_memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ms_json_init(&j, &b);
		ms_register_system_json(&j, &c->reg->systems[i]);
		if (ms_json_finish(&j) < 0 || b.toobig) {
			ms_err("event=register_publish_failed reason=\"records larger than %u bytes\"",
			    PUBLISH_MAX);
			goto out;
		}
		end[i] = b.len;
	}
	for (size_t i = 0; i < n; i++) {
		size_t start = i ? end[i - 1] : 0;
		kv[2 * i] = c->reg->systems[i].id;
		kvlen[2 * i] = strlen(c->reg->systems[i].id);
		kv[2 * i + 1] = b.data + start;
		kvlen[2 * i + 1] = end[i] - start;
	}
	/* An empty register deletes the hash: no record of a system that is gone may stay. */
	rc = sink_hreplace(c->sink, SYSTEMS_KEY, kv, kvlen, 2 * n);
	if (rc == 1) {
		ms_warn("event=register_publish_deferred reason=redis_congested retry_s=%d",
		    PUBLISH_RETRY_S);
		publish_later(c, PUBLISH_RETRY_S);
	} else if (rc < 0) {
		ms_err("event=register_publish_failed reason=out_of_memory");
	} else {
		if (refresh)
			ms_debug("event=register_published key=%s systems=%zu bytes=%zu refresh=1",
			    SYSTEMS_KEY, n, b.len);
		else
			ms_info("event=register_published key=%s systems=%zu bytes=%zu", SYSTEMS_KEY, n,
			    b.len);
		publish_later(c, PUBLISH_REFRESH_S);
	}
out:
	free(kv);
	free(kvlen);
	free(end);
	ms_buf_fini(&b);
}

static bool
is_sensor(const struct ms_register *r, const char *agent)
{
	for (size_t i = 0; i < r->nsensors; i++)
		if (strcmp(r->sensors[i], agent) == 0)
			return true;
	return false;
}

const char *
registry_system(const struct collector *c, const char *agent, int *level)
{
	const struct ms_reg_system *s;

	*level = 0;
	if (c->reg == NULL)
		return NULL;
	if ((s = ms_register_find_agent(c->reg, agent)) != NULL) {
		*level = s->level;
		return s->id;
	}
	return is_sensor(c->reg, agent) ? SYSTEM_SHARED : SYSTEM_UNASSIGNED;
}

void
registry_hello(struct collector *c, struct agent_state *st)
{
	char key[192], lvl[8];
	const char *sys;
	int level;

	if ((sys = registry_system(c, st->id, &level)) == NULL)
		return;
	if (strcmp(sys, SYSTEM_UNASSIGNED) == 0) {
		c->stats.agents_unassigned++;
		ms_warn("event=agent_unassigned agent=%s host=%s note=\"not an asset of any system in %s\"",
		    st->id, st->host[0] ? st->host : "-", c->conf.register_path);
	}
	snprintf(lvl, sizeof(lvl), "%d", level);
	snprintf(key, sizeof(key), "minisoc:agent:%s", st->id);
	{
		const char *kv[] = { "system", sys, "level", lvl };
		sink_hset(c->sink, key, kv, MS_ARRAY_LEN(kv));
	}
}

void
registry_reload(struct collector *c)
{
	struct collector_conf cf;
	struct ms_register *r;
	struct ms_map_iter it;
	struct agent_state *st;
	char err[4096];

	if (collector_conf_load(c->config_file, &cf, err, sizeof(err)) < 0)
		return;	/* rules_reload logged it */
	if (cf.register_path[0] == '\0') {
		if (c->reg)
			ms_warn("event=register_reload note=\"register.path removed; the loaded register is kept\"");
		return;
	}
	if ((r = ms_register_load(cf.register_path, err, sizeof(err))) == NULL) {
		/* One line per problem, so each file:line reads on its own. */
		char *line = err, *nl;
		do {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl = '\0';
			ms_err("event=register_error reason=\"%.900s\"", line);
			line = nl + 1;
		} while (nl);
		ms_err("event=reload_failed what=register note=\"old register kept\"");
		return;
	}
	ms_register_free(c->reg);
	c->reg = r;
	ms_copy(c->conf.register_path, sizeof(c->conf.register_path), cf.register_path,
	    strlen(cf.register_path));
	ms_info("event=register_loaded path=%s systems=%zu", cf.register_path, r->n);
	registry_publish(c);
	/* Connected agents may have moved between systems. */
	ms_map_iter_init(&it);
	while ((st = ms_map_next(c->agents, &it, NULL, NULL)) != NULL)
		if (st->session)
			registry_hello(c, st);
}

static bool
str_in(struct ms_str s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (ms_str_eq(s, set[i]))
			return true;
	return false;
}

static bool
cstr_in(const char *s, const char *const *set)
{
	for (size_t i = 0; s && set[i]; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* "error" in any common case, as a cheap bounded scan of the message. */
static bool
mentions_error(struct ms_str m)
{
	for (size_t i = 0; i + 5 <= m.len; i++) {
		char a = m.p[i];
		if ((a == 'e' || a == 'E') && (m.p[i + 1] | 0x20) == 'r' && (m.p[i + 2] | 0x20) == 'r' &&
		    (m.p[i + 3] | 0x20) == 'o' && (m.p[i + 4] | 0x20) == 'r')
			return true;
	}
	return false;
}

void
registry_seen(struct collector *c, struct agent_state *st, const struct decoded *d,
    int64_t now_ms)
{
	static const char *const login_services[] = { "sshd", "su", "systemd-logind", "login", NULL };
	static const char *const config_services[] = { "sudo", "useradd", "usermod", "userdel",
		"groupadd", "groupdel", "groupmod", "gpasswd", "passwd", "chpasswd", "chage", "newusers",
		NULL };
	static const char *const config_audit[] = { "CONFIG_CHANGE", "MAC_CONFIG_CHANGE", "USER_MGMT",
		"ADD_USER", "DEL_USER", "ADD_GROUP", "DEL_GROUP", "USER_CHAUTHTOK", NULL };
	int64_t now = now_ms, t;
	bool hit[SEEN_N] = { false };
	bool any_stale = false;

	/* Nothing to learn while every category was written within the minute. */
	for (int i = 0; i < SEEN_N; i++)
		any_stale = any_stale || now - st->seen_written_at[i] >= SEEN_WRITE_EVERY_MS;
	if (!any_stale)
		return;
	hit[SEEN_LOGIN] = d->sshd_action != DECODE_SSHD_NONE || cstr_in(d->service, login_services);
	hit[SEEN_CONFIG] = cstr_in(d->service, config_services);
	if (!hit[SEEN_CONFIG] && d->service && strcmp(d->service, "auditd") == 0) {
		const struct ms_str *type = decode_field_get(d, "type");
		hit[SEEN_CONFIG] = type && str_in(*type, config_audit);
	}
	hit[SEEN_ERROR] = (d->severity >= 0 && d->severity <= 3) || mentions_error(d->msg);
	/* The event's own time: a backlog of old lines does not count as fresh. */
	t = d->time_ms > 0 ? d->time_ms : now;
	for (int i = 0; i < SEEN_N; i++) {
		char key[200], v[24];
		const char *kv[2];

		if (!hit[i] || t <= st->seen_ms[i])
			continue;
		st->seen_ms[i] = t;
		if (now - st->seen_written_at[i] < SEEN_WRITE_EVERY_MS)
			continue;
		st->seen_written_at[i] = now;
		snprintf(key, sizeof(key), "minisoc:agent:%s:seen", st->id);
		snprintf(v, sizeof(v), "%" PRId64, t);
		kv[0] = seen_names[i];
		kv[1] = v;
		sink_hset(c->sink, key, kv, 2);
	}
}
