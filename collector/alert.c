/*
 * alert – what every detector shares: freeing a detector, running the
 * detectors on a line, and the JSON form of an alert.
 */
#include "detect.h"

#include <stdbool.h>
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

/* The fixed-size fields may lack a NUL if a caller filled them carelessly. */
static void
json_field(struct ms_json *j, const char *key, const char *s, size_t cap)
{
	ms_json_key(j, key);
	ms_json_strn(j, s, strnlen(s, cap));
}

/*
 * ms_fmt_time with the date and time of the last second formatted kept:
 * an alert has three times, usually in the same second as the last one.
 */
static void
json_time(struct ms_json *j, const char *key, int64_t ms)
{
	static _Thread_local int64_t last_sec = INT64_MIN;
	static _Thread_local char last[32];
	char t[32];
	int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int milli = (int)(ms - sec * 1000);

	if (sec != last_sec) {
		ms_fmt_time(last, sizeof(last), sec * 1000);
		last_sec = sec;
	}
	/* "YYYY-MM-DDTHH:MM:SS" then ".mmmZ"; any other shape: the slow path. */
	if (strlen(last) == 24 && last[19] == '.') {
		memcpy(t, last, 20);
		t[20] = (char)('0' + milli / 100);
		t[21] = (char)('0' + milli / 10 % 10);
		t[22] = (char)('0' + milli % 10);
		t[23] = 'Z';
		t[24] = '\0';
	} else {
		ms_fmt_time(t, sizeof(t), ms);
	}
	ms_json_key(j, key);
	ms_json_str(j, t);
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
static bool
tag_technique(const char *tag)
{
	return strncmp(tag, "attack.", 7) == 0 && (tag[7] == 't' || tag[7] == 'T') &&
	    tag[8] >= '0' && tag[8] <= '9';
}

static bool
tag_tactic(const char *tag)
{
	return strncmp(tag, "attack.", 7) == 0 && !tag_technique(tag) &&
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
	ms_json_key(j, "threat");
	ms_json_obj_open(j);
	ms_json_key(j, "framework");
	ms_json_str(j, "MITRE ATT&CK");
	if (ntech) {
		ms_json_key(j, "technique");
		ms_json_obj_open(j);
		ms_json_key(j, "id");
		ms_json_arr_open(j);
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
		ms_json_key(j, "tactic");
		ms_json_obj_open(j);
		ms_json_key(j, "name");
		ms_json_arr_open(j);
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

int
alert_to_json(const struct alert *a, struct ms_buf *out)
{
	struct ms_json j;
	unsigned n;

	ms_json_init(&j, out);
	ms_json_obj_open(&j);
	json_time(&j, "@timestamp", a->time_ms);
	ms_json_key(&j, "schema");
	ms_json_int(&j, ALERT_SCHEMA_VERSION);

	ms_json_key(&j, "event");
	ms_json_obj_open(&j);
	json_field(&j, "id", a->id, sizeof(a->id));
	ms_json_key(&j, "kind");
	ms_json_str(&j, "alert");
	ms_json_key(&j, "severity");
	ms_json_int(&j, alert_severity_num(a->severity));
	json_time(&j, "start", a->first_ms);
	json_time(&j, "end", a->last_ms);
	ms_json_obj_close(&j);

	ms_json_key(&j, "rule");
	ms_json_obj_open(&j);
	ms_json_key(&j, "id");
	ms_json_str(&j, a->rule_id);
	if (a->rule_name && *a->rule_name) {
		ms_json_key(&j, "name");
		ms_json_str(&j, a->rule_name);
	}
	ms_json_key(&j, "title");
	ms_json_str(&j, a->rule_title);
	ms_json_key(&j, "level");
	ms_json_str(&j, a->severity);
	ms_json_obj_close(&j);

	ms_json_key(&j, "agent");
	ms_json_obj_open(&j);
	json_field(&j, "id", a->agent_id, sizeof(a->agent_id));
	ms_json_obj_close(&j);
	ms_json_key(&j, "host");
	ms_json_obj_open(&j);
	json_field(&j, "name", a->host, sizeof(a->host));
	ms_json_obj_close(&j);

	/* The information system of the register (registry.c); its own block. */
	if (a->system_id) {
		ms_json_key(&j, "system");
		ms_json_obj_open(&j);
		ms_json_key(&j, "id");
		ms_json_str(&j, a->system_id);
		if (a->system_level > 0) {
			ms_json_key(&j, "level");
			ms_json_int(&j, a->system_level);
		}
		ms_json_obj_close(&j);
	}

	if (a->src_ip[0]) {
		ms_json_key(&j, "source");
		ms_json_obj_open(&j);
		json_field(&j, "ip", a->src_ip, sizeof(a->src_ip));
		ms_json_obj_close(&j);
	}
	n = a->n_users < ALERT_MAX_USERS ? a->n_users : ALERT_MAX_USERS;
	if (n) {
		/* ECS: user.name is one name; every user involved goes to related.user. */
		ms_json_key(&j, "user");
		ms_json_obj_open(&j);
		json_field(&j, "name", a->users[0], ALERT_USER_MAX);
		ms_json_obj_close(&j);
		ms_json_key(&j, "related");
		ms_json_obj_open(&j);
		ms_json_key(&j, "user");
		ms_json_arr_open(&j);
		for (unsigned i = 0; i < n; i++)
			ms_json_strn(&j, a->users[i], strnlen(a->users[i], ALERT_USER_MAX));
		ms_json_arr_close(&j);
		ms_json_obj_close(&j);
	}

	ms_json_key(&j, "count");
	ms_json_int(&j, a->count);
	if (a->aggregated > 1) {
		ms_json_key(&j, "aggregate");
		ms_json_obj_open(&j);
		ms_json_key(&j, "alerts");
		ms_json_int(&j, a->aggregated);
		ms_json_key(&j, "window_s");
		ms_json_int(&j, a->aggregate_window_ms / 1000);
		if (a->aggregate_of[0])
			json_field(&j, "first_id", a->aggregate_of, sizeof(a->aggregate_of));
		ms_json_obj_close(&j);
	}

	ms_json_key(&j, "samples");
	ms_json_arr_open(&j);
	n = a->n_samples < ALERT_MAX_SAMPLES ? a->n_samples : ALERT_MAX_SAMPLES;
	for (unsigned i = 0; i < n; i++)
		ms_json_strn(&j, a->samples[i], strnlen(a->samples[i], ALERT_SAMPLE_MAX));
	ms_json_arr_close(&j);

	if (a->ntags) {
		json_threat(&j, a);
		ms_json_key(&j, "tags");
		ms_json_arr_open(&j);
		for (size_t i = 0; i < a->ntags; i++)
			ms_json_str(&j, a->tags[i]);
		ms_json_arr_close(&j);
	}
	if (a->ngroup) {
		ms_json_key(&j, "group");
		ms_json_obj_open(&j);
		for (size_t i = 0; i < a->ngroup; i++) {
			ms_json_key(&j, a->group_names[i]);
			ms_json_strn(&j, a->group_values[i].p, a->group_values[i].len);
		}
		ms_json_obj_close(&j);
	}
	if (a->event && a->event->nfields) {
		/* The same name twice (a decoder quirk) must not make invalid JSON twice-keyed. */
		ms_json_key(&j, "fields");
		ms_json_obj_open(&j);
		for (unsigned i = 0; i < a->event->nfields && i < DECODE_MAX_FIELDS; i++) {
			bool dup = false;
			for (unsigned k = 0; k < i && !dup; k++)
				dup = strcmp(a->event->fields[k].name, a->event->fields[i].name) == 0;
			if (dup)
				continue;
			ms_json_key(&j, a->event->fields[i].name);
			ms_json_strn(&j, a->event->fields[i].value.p, a->event->fields[i].value.len);
		}
		ms_json_obj_close(&j);
	}

	ms_json_obj_close(&j);
	return ms_json_finish(&j);
}
