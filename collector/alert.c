/*
 * alert – what every detector shares: freeing a detector and the JSON form
 * of an alert.
 */
#include "detect.h"

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

	ms_json_obj_close(&j);
	return ms_json_finish(&j);
}
