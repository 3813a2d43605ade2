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

static void
json_time(struct ms_json *j, const char *key, int64_t ms)
{
	char t[32];

	ms_fmt_time(t, sizeof(t), ms);
	ms_json_key(j, key);
	ms_json_str(j, t);
}

int
alert_to_json(const struct alert *a, struct ms_buf *out)
{
	struct ms_json j;
	unsigned n;

	ms_json_init(&j, out);
	ms_json_obj_open(&j);
	json_field(&j, "id", a->id, sizeof(a->id));
	json_time(&j, "time", a->time_ms);

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
	ms_json_obj_close(&j);

	ms_json_key(&j, "severity");
	ms_json_str(&j, a->severity);

	ms_json_key(&j, "agent");
	ms_json_obj_open(&j);
	json_field(&j, "id", a->agent_id, sizeof(a->agent_id));
	json_field(&j, "host", a->host, sizeof(a->host));
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

	json_field(&j, "src_ip", a->src_ip, sizeof(a->src_ip));

	ms_json_key(&j, "users");
	ms_json_arr_open(&j);
	n = a->n_users < ALERT_MAX_USERS ? a->n_users : ALERT_MAX_USERS;
	for (unsigned i = 0; i < n; i++)
		ms_json_strn(&j, a->users[i], strnlen(a->users[i], ALERT_USER_MAX));
	ms_json_arr_close(&j);

	ms_json_key(&j, "count");
	ms_json_int(&j, a->count);
	json_time(&j, "first_time", a->first_ms);
	json_time(&j, "last_time", a->last_ms);

	ms_json_key(&j, "samples");
	ms_json_arr_open(&j);
	n = a->n_samples < ALERT_MAX_SAMPLES ? a->n_samples : ALERT_MAX_SAMPLES;
	for (unsigned i = 0; i < n; i++)
		ms_json_strn(&j, a->samples[i], strnlen(a->samples[i], ALERT_SAMPLE_MAX));
	ms_json_arr_close(&j);

	if (a->ntags) {
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
