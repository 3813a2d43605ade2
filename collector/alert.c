/*
 * alert – what every detector shares: freeing a detector, running the
 * detectors on a line, and the JSON form of an alert.
 */
#include "detect.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_json.h"

void
detector_free(struct detector *d)
{
	if (d == NULL)
		return;
	if (d->free)
		d->free(d->state);
	free(d);
}

void
alert_reset(struct alert *a)
{
	/* The ranges left out hold text only: a field added between them would be left out too. */
	_Static_assert(offsetof(struct alert, host) == offsetof(struct alert, agent_id) +
	    sizeof(a->agent_id) && offsetof(struct alert, src_ip) == offsetof(struct alert, host) +
	    sizeof(a->host), "agent_id, host, src_ip in a row");
	_Static_assert(offsetof(struct alert, users) + sizeof(a->users) <=
	    offsetof(struct alert, n_users) && offsetof(struct alert, n_users) <
	    offsetof(struct alert, samples), "users, then n_users, then samples");
	_Static_assert(offsetof(struct alert, samples) + sizeof(a->samples) <=
	    offsetof(struct alert, n_samples), "samples, then n_samples");
	memset(a, 0, offsetof(struct alert, agent_id));
	a->agent_id[0] = '\0';
	a->host[0] = '\0';
	memset(a->src_ip, 0, offsetof(struct alert, users) - offsetof(struct alert, src_ip));
	a->users[0][0] = '\0';
	memset(&a->n_users, 0, offsetof(struct alert, samples) - offsetof(struct alert, n_users));
	a->samples[0][0] = '\0';
	memset(&a->n_samples, 0, sizeof(*a) - offsetof(struct alert, n_samples));
}

void
detect_line(struct detector *const *dets, size_t ndets, struct decoded *d,
    const struct decode_ctx *ctx, const char *agent_id, const char *host,
    struct ms_str source, struct ms_str line, uint64_t seq, detect_emit_fn emit, void *arg)
{
	struct detect_event ev;

	decode_line(line.p, line.len, ctx, d);
	ev.agent_id = agent_id;
	ev.host = host;
	ev.source = source;
	ev.line = line;
	ev.seq = seq;
	ev.d = d;
	for (size_t i = 0; i < ndets; i++)
		dets[i]->on_event(dets[i]->state, &ev, emit, arg);
}

/* A literal key and a value of vlen bytes, in one call. */
#define JSON_KV(j, lit, v, vlen) ms_json_kv_strn((j), lit, sizeof(lit) - 1, (v), (vlen))

/* The fixed-size fields may lack a NUL if a caller filled them carelessly. */
#define json_field(j, lit, s, cap) JSON_KV((j), lit, (s), strnlen((s), (cap)))

/* A literal key and a string that may be NULL (written null). */
static void
json_kv_str(struct ms_json *j, const char *key, size_t klen, const char *v)
{
	if (v != NULL) {
		ms_json_kv_strn(j, key, klen, v, strlen(v));
	} else {
		ms_json_keyn(j, key, klen);
		ms_json_null(j);
	}
}
#define JSON_KV_STR(j, lit, v) json_kv_str((j), lit, sizeof(lit) - 1, (v))
/* "lit":{ "lit":[ "lit":n, each in one call. */
#define JSON_OBJ(j, lit) ms_json_kv_obj_open((j), lit, sizeof(lit) - 1)
#define JSON_ARR(j, lit) ms_json_kv_arr_open((j), lit, sizeof(lit) - 1)
#define JSON_INT(j, lit, v) ms_json_kv_int((j), lit, sizeof(lit) - 1, (v))

/*
 * ms_fmt_time with the date and time of the last two seconds formatted
 * kept: an alert has three times, @timestamp on the collector's clock and
 * start and end on the events', each usually in the same second as the
 * same time of the alert before; with one slot they took turns.
 */
static void
json_time(struct ms_json *j, const char *key, size_t klen, int64_t ms)
{
	static _Thread_local int64_t last_sec[2] = { INT64_MIN, INT64_MIN };
	static _Thread_local char last[2][32];
	static _Thread_local unsigned next;
	char t[32];
	size_t tlen = 24;
	int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int milli = (int)(ms - sec * 1000);
	unsigned k = sec == last_sec[0] ? 0 : sec == last_sec[1] ? 1 : 2;

	if (k == 2) {
		/* The slot not used last. */
		k = next;
		ms_fmt_time(last[k], sizeof(last[k]), sec * 1000);
		last_sec[k] = sec;
	}
	next = k ^ 1;
	/* "YYYY-MM-DDTHH:MM:SS" then ".mmmZ"; any other shape: the slow path. */
	if (strlen(last[k]) == 24 && last[k][19] == '.') {
		memcpy(t, last[k], 20);
		t[20] = (char)('0' + milli / 100);
		t[21] = (char)('0' + milli / 10 % 10);
		t[22] = (char)('0' + milli % 10);
		t[23] = 'Z';
		t[24] = '\0';
	} else {
		ms_fmt_time(t, sizeof(t), ms);
		tlen = strnlen(t, sizeof(t));
	}
	ms_json_kv_strn(j, key, klen, t, tlen);
}

/* ECS event.severity: a number that sorts (1 informational .. 5 critical, 0 unknown). */
int
alert_severity_num(const char *level)
{
	static const char *const names[] = { "informational", "low", "medium", "high", "critical" };

	for (size_t i = 0; level && i < MS_ARRAY_LEN(names); i++)
		if (strcmp(level, names[i]) == 0)
			return (int)i + 1;
	return 0;
}

/*
 * ATT&CK from Sigma tags: attack.t1110(.001) is a technique (T1110.001),
 * attack.gNNNN and attack.sNNNN are groups and software (left in tags), any
 * other attack.<word> is a tactic (credential_access -> credential-access).
 */
static inline bool
tag_attack(const char *tag)
{
	/* Byte by byte, stopping at a shorter tag's NUL: no call per tag. */
	static const char pre[] = "attack.";

	for (size_t i = 0; i < sizeof(pre) - 1; i++)
		if (tag[i] != pre[i])
			return false;
	return true;
}

static bool
tag_technique(const char *tag)
{
	return tag_attack(tag) && (tag[7] == 't' || tag[7] == 'T') &&
	    tag[8] >= '0' && tag[8] <= '9';
}

static bool
tag_tactic(const char *tag)
{
	return tag_attack(tag) && !tag_technique(tag) &&
	    !((tag[7] == 'g' || tag[7] == 's' || tag[7] == 'G' || tag[7] == 'S') &&
	    tag[8] >= '0' && tag[8] <= '9') && tag[7] != '\0';
}

static void
json_threat(struct ms_json *j, const struct alert *a)
{
	size_t ntech = 0, ntac = 0;
	char buf[128];

	for (size_t i = 0; i < a->ntags; i++) {
		ntech += tag_technique(a->tags[i]);
		ntac += tag_tactic(a->tags[i]);
	}
	if (ntech + ntac == 0)
		return;
	JSON_OBJ(j, "threat");
	JSON_KV(j, "framework", "MITRE ATT&CK", 12);
	if (ntech) {
		JSON_OBJ(j, "technique");
		JSON_ARR(j, "id");
		for (size_t i = 0; i < a->ntags; i++) {
			size_t k;
			if (!tag_technique(a->tags[i]))
				continue;
			for (k = 0; a->tags[i][7 + k] && k + 1 < sizeof(buf); k++) {
				char ch = a->tags[i][7 + k];
				buf[k] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
			}
			buf[k] = '\0';
			ms_json_str(j, buf);
		}
		ms_json_arr_close(j);
		ms_json_obj_close(j);
	}
	if (ntac) {
		JSON_OBJ(j, "tactic");
		JSON_ARR(j, "name");
		for (size_t i = 0; i < a->ntags; i++) {
			size_t k;
			if (!tag_tactic(a->tags[i]))
				continue;
			for (k = 0; a->tags[i][7 + k] && k + 1 < sizeof(buf); k++)
				buf[k] = a->tags[i][7 + k] == '_' ? '-' : a->tags[i][7 + k];
			buf[k] = '\0';
			ms_json_str(j, buf);
		}
		ms_json_arr_close(j);
		ms_json_obj_close(j);
	}
	ms_json_obj_close(j);
}

/*
 * "fields": the event's named fields, each name once (the first value; the
 * same name twice, a decoder quirk, must not make a twice-keyed object).
 * A name is looked for among the earlier ones only when its bit in a
 * 256-bit filter (length, first and last byte) was set by one of them:
 * linear for the usual few distinct names, a scan only on a filter hit.
 */
static void
json_fields(struct ms_json *j, const struct decoded *d, size_t field_max)
{
	unsigned n = d->nfields < DECODE_MAX_FIELDS ? d->nfields : DECODE_MAX_FIELDS;
	uint64_t seen[4] = { 0, 0, 0, 0 };
	size_t nlen[DECODE_MAX_FIELDS];

	JSON_OBJ(j, "fields");
	for (unsigned i = 0; i < n; i++) {
		const char *name = d->fields[i].name;
		size_t len = strlen(name);
		unsigned h = (unsigned)(len * 31u + (unsigned char)name[0] * 7u +
		    (len ? (unsigned char)name[len - 1] : 0u)) & 255u;
		bool dup = false;

		nlen[i] = len;
		if (seen[h >> 6] & (UINT64_C(1) << (h & 63))) {
			for (unsigned k = 0; k < i && !dup; k++)
				dup = nlen[k] == len && memcmp(d->fields[k].name, name, len) == 0;
			if (dup)
				continue;
		}
		seen[h >> 6] |= UINT64_C(1) << (h & 63);
		ms_json_kv_strn(j, name, len, d->fields[i].value.p,
		    field_max && d->fields[i].value.len > field_max ? field_max :
		    d->fields[i].value.len);
	}
	ms_json_obj_close(j);
}

int
alert_to_json(const struct alert *a, struct ms_buf *out)
{
	return alert_to_json_cut(a, out, 0);
}

int
alert_to_json_cut(const struct alert *a, struct ms_buf *out, size_t field_max)
{
	struct ms_json j;
	unsigned n;

	ms_json_init(&j, out);
	ms_json_obj_open(&j);
	json_time(&j, "@timestamp", 10, a->time_ms);
	JSON_INT(&j, "schema", ALERT_SCHEMA_VERSION);

	JSON_OBJ(&j, "event");
	json_field(&j, "id", a->id, sizeof(a->id));
	JSON_KV(&j, "kind", "alert", 5);
	JSON_INT(&j, "severity", alert_severity_num(a->severity));
	json_time(&j, "start", 5, a->first_ms);
	json_time(&j, "end", 3, a->last_ms);
	ms_json_obj_close(&j);

	JSON_OBJ(&j, "rule");
	JSON_KV_STR(&j, "id", a->rule_id);
	if (a->rule_name && *a->rule_name)
		JSON_KV_STR(&j, "name", a->rule_name);
	JSON_KV_STR(&j, "title", a->rule_title);
	JSON_KV_STR(&j, "level", a->severity);
	ms_json_obj_close(&j);

	JSON_OBJ(&j, "agent");
	json_field(&j, "id", a->agent_id, sizeof(a->agent_id));
	ms_json_obj_close(&j);
	JSON_OBJ(&j, "host");
	json_field(&j, "name", a->host, sizeof(a->host));
	ms_json_obj_close(&j);

	/* The information system of the register (registry.c); its own block. */
	if (a->system_id) {
		JSON_OBJ(&j, "system");
		JSON_KV_STR(&j, "id", a->system_id);
		if (a->system_level > 0) {
			JSON_INT(&j, "level", a->system_level);
		}
		ms_json_obj_close(&j);
	}

	if (a->src_ip[0]) {
		JSON_OBJ(&j, "source");
		json_field(&j, "ip", a->src_ip, sizeof(a->src_ip));
		ms_json_obj_close(&j);
	}
	n = a->n_users < ALERT_MAX_USERS ? a->n_users : ALERT_MAX_USERS;
	if (n) {
		/* ECS: user.name is one name; every user involved goes to related.user. */
		JSON_OBJ(&j, "user");
		json_field(&j, "name", a->users[0], ALERT_USER_MAX);
		ms_json_obj_close(&j);
		JSON_OBJ(&j, "related");
		JSON_ARR(&j, "user");
		for (unsigned i = 0; i < n; i++)
			ms_json_strn(&j, a->users[i], strnlen(a->users[i], ALERT_USER_MAX));
		ms_json_arr_close(&j);
		ms_json_obj_close(&j);
	}

	JSON_INT(&j, "count", a->count);
	if (a->aggregated > 1) {
		JSON_OBJ(&j, "aggregate");
		JSON_INT(&j, "alerts", a->aggregated);
		JSON_INT(&j, "window_s", a->aggregate_window_ms / 1000);
		if (a->aggregate_of[0])
			json_field(&j, "first_id", a->aggregate_of, sizeof(a->aggregate_of));
		ms_json_obj_close(&j);
	}

	JSON_ARR(&j, "samples");
	n = a->n_samples < ALERT_MAX_SAMPLES ? a->n_samples : ALERT_MAX_SAMPLES;
	for (unsigned i = 0; i < n; i++)
		ms_json_strn(&j, a->samples[i], strnlen(a->samples[i], ALERT_SAMPLE_MAX));
	ms_json_arr_close(&j);

	if (a->ntags) {
		json_threat(&j, a);
		JSON_ARR(&j, "tags");
		for (size_t i = 0; i < a->ntags; i++)
			ms_json_str(&j, a->tags[i]);
		ms_json_arr_close(&j);
	}
	if (a->ngroup) {
		JSON_OBJ(&j, "group");
		for (size_t i = 0; i < a->ngroup; i++) {
			ms_json_kv_strn(&j, a->group_names[i], strlen(a->group_names[i]),
			    a->group_values[i].p, a->group_values[i].len);
		}
		ms_json_obj_close(&j);
	}
	if (a->values_field && a->nvalues) {
		/* Some of them: the alert's count says how many there were. */
		size_t nv = a->nvalues < ALERT_MAX_VALUES ? a->nvalues : ALERT_MAX_VALUES;

		JSON_OBJ(&j, "values");
		ms_json_key(&j, a->values_field);
		ms_json_arr_open(&j);
		for (size_t i = 0; i < nv; i++)
			ms_json_str(&j, a->values[i]);
		ms_json_arr_close(&j);
		ms_json_obj_close(&j);
	}
	if (a->event && a->event->nfields)
		json_fields(&j, a->event, field_max);

	ms_json_obj_close(&j);
	return ms_json_finish(&j);
}
