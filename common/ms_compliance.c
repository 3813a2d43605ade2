#include "ms_compliance.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_register.h"
#include "ms_util.h"
#include "ms_yaml.h"

#define PROFILE_MAX_SIZE (1u << 20)

static const char *const check_names[MS_CHECK_N] = { "manual", "agent_reporting",
	"logs_central", "retention", "clock_synced", "antimalware", "events_seen", "sensor_alive" };

const char *
ms_comp_check_name(enum ms_comp_check c)
{
	return (unsigned)c < MS_CHECK_N ? check_names[c] : "?";
}

/* title: {vi: ..., en: ...}: both required, Vietnamese is what reports lead with. */
static void
title_of(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key, bool required,
    const char **vi, const char **en, const char *what)
{
	const struct ms_yaml_node *v = ms_yaml_get(map, key);

	*vi = *en = NULL;
	if (v == NULL) {
		if (required)
			ms_yerr_add(e, map->line, "%s: \"%s\" is required ({vi: ..., en: ...})", what, key);
		return;
	}
	if (v->type != MS_YAML_MAP) {
		ms_yerr_add(e, v->line, "%s: \"%s\" must be a map {vi: ..., en: ...}", what, key);
		return;
	}
	*vi = ms_yerr_str(e, v, "vi", true, what);
	*en = ms_yerr_str(e, v, "en", true, what);
}

static int64_t
int_of(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key, int64_t min, int64_t max,
    int64_t dflt, const char *what)
{
	const struct ms_yaml_node *v = ms_yaml_get(map, key);
	int64_t x;

	if (v == NULL)
		return dflt;
	if (v->type != MS_YAML_SCALAR || ms_parse_i64(v->str, min, max, &x) < 0) {
		ms_yerr_add(e, v->line, "%s: \"%s\" must be a whole number from %lld to %lld", what, key,
		    (long long)min, (long long)max);
		return dflt;
	}
	return x;
}

static void
parse_req(struct ms_yerr *e, const struct ms_yaml_node *n, struct ms_comp_req *r,
    const struct ms_comp_req *prev, size_t nprev)
{
	static const char *const keys[] = { "id", "title", "basis", "from_level", "kind", "check",
		"hours", "days", "months", "categories", "layer", NULL };
	static const char *const layers[] = { "onsite", "monitoring", "inspection", "national" };
	const struct ms_yaml_node *v;
	const char *kind, *check;
	char what[128] = "requirement";

	if (n->type != MS_YAML_MAP) {
		ms_yerr_add(e, n->line, "a requirement must be a map");
		return;
	}
	if ((r->id = ms_yerr_str(e, n, "id", true, what)) != NULL) {
		snprintf(what, sizeof(what), "requirement %.64s", r->id);
		for (size_t i = 0; i < nprev; i++)
			if (prev[i].id && strcmp(prev[i].id, r->id) == 0)
				ms_yerr_add(e, ms_yaml_get(n, "id")->line, "%s: duplicate id", what);
	}
	ms_yerr_keys_known(e, n, what, keys);
	title_of(e, n, "title", true, &r->title_vi, &r->title_en, what);
	r->basis = ms_yerr_str(e, n, "basis", false, what);
	r->from_level = (int)int_of(e, n, "from_level", 1, MS_COMP_MAX_LEVEL, 0, what);
	if (r->from_level == 0 && ms_yaml_get(n, "from_level") == NULL)
		ms_yerr_add(e, n->line, "%s: \"from_level\" is required", what);
	kind = ms_yerr_str(e, n, "kind", true, what);
	check = ms_yerr_str(e, n, "check", false, what);
	r->hours = int_of(e, n, "hours", 1, 24 * 366, 24, what);
	r->days = int_of(e, n, "days", 1, 366, 7, what);
	if (kind && strcmp(kind, "manual") == 0) {
		r->check = MS_CHECK_MANUAL;
		if (check)
			ms_yerr_add(e, n->line, "%s: a manual requirement has no \"check\"", what);
		if ((r->layer = ms_yerr_str(e, n, "layer", false, what)) != NULL) {
			bool ok = false;
			for (size_t i = 0; i < MS_ARRAY_LEN(layers); i++)
				ok = ok || strcmp(r->layer, layers[i]) == 0;
			if (!ok)
				ms_yerr_add(e, ms_yaml_get(n, "layer")->line,
				    "%s: \"layer\" must be onsite, monitoring, inspection or national", what);
		}
	} else if (kind && strcmp(kind, "automatic") == 0) {
		int c = -1;
		for (int i = 1; check && i < MS_CHECK_N; i++)
			if (strcmp(check, check_names[i]) == 0)
				c = i;
		if (c < 0)
			ms_yerr_add(e, n->line, "%s: \"check\" must be one of: agent_reporting, logs_central, "
			    "retention, clock_synced, antimalware, events_seen, sensor_alive", what);
		else
			r->check = (enum ms_comp_check)c;
	} else if (kind) {
		ms_yerr_add(e, ms_yaml_get(n, "kind")->line, "%s: \"kind\" must be automatic or manual", what);
	}
	if ((v = ms_yaml_get(n, "months")) != NULL) {
		/* months: {2: 1, 3: 3, ...} – per level, levels not named need none. */
		if (v->type != MS_YAML_MAP) {
			ms_yerr_add(e, v->line, "%s: \"months\" must be a map level -> months", what);
		} else {
			for (size_t i = 0; i < v->n; i++) {
				int64_t lvl, m;
				if (ms_parse_i64(v->pairs[i].key, 1, MS_COMP_MAX_LEVEL, &lvl) < 0 ||
				    v->pairs[i].value->type != MS_YAML_SCALAR ||
				    ms_parse_i64(v->pairs[i].value->str, 0, 1200, &m) < 0)
					ms_yerr_add(e, v->pairs[i].value->line,
					    "%s: months: a level 1-5 -> whole months 0-1200", what);
				else
					r->months[lvl] = (int)m;
			}
		}
	} else if (r->check == MS_CHECK_RETENTION) {
		ms_yerr_add(e, n->line, "%s: a retention check needs \"months\" per level", what);
	}
	if ((v = ms_yaml_get(n, "categories")) != NULL) {
		if (v->type != MS_YAML_SEQ || v->n == 0 || v->n > MS_COMP_MAX_CATEGORIES) {
			ms_yerr_add(e, v->line, "%s: \"categories\" must be a list of 1 to %d names", what,
			    MS_COMP_MAX_CATEGORIES);
		} else {
			for (size_t i = 0; i < v->n; i++) {
				if (v->items[i]->type != MS_YAML_SCALAR || v->items[i]->len == 0)
					ms_yerr_add(e, v->items[i]->line, "%s: categories: names only", what);
				else
					r->categories[r->ncategories++] = v->items[i]->str;
			}
		}
	} else if (r->check == MS_CHECK_EVENTS_SEEN) {
		ms_yerr_add(e, n->line, "%s: an events_seen check needs \"categories\"", what);
	}
}

void
ms_comp_profile_free(struct ms_comp_profile *p)
{
	if (p == NULL)
		return;
	free(p->reqs);
	free(p->legal);
	ms_yaml_docs_free(p->docs, p->ndocs);
	free(p);
}

struct ms_comp_profile *
ms_comp_profile_parse(const char *name, const char *data, size_t len, char *err, size_t errsz)
{
	static const char *const keys[] = { "id", "title", "legal", "note", "incidents",
		"requirements", NULL };
	static const char *const ikeys[] = { "report_hours", "serious_notice_hours",
		"serious_report_hours", NULL };
	struct ms_yerr e;

	ms_yerr_init(&e, name, err, errsz);
	struct ms_comp_profile *p;
	const struct ms_yaml_node *root, *v;
	char why[512];

	if (errsz)
		err[0] = '\0';
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errsz, "%s:0: out of memory", name);
		return NULL;
	}
	if (ms_yaml_parse(data, len, &p->docs, &p->ndocs, why, sizeof(why)) < 0) {
		int line = 0, col = 0, off = 0;
		if (sscanf(why, "line %d col %d: %n", &line, &col, &off) == 2 && off > 0)
			snprintf(err, errsz, "%s:%d: %s (column %d)", name, line, why + off, col);
		else
			snprintf(err, errsz, "%s:0: %s", name, why);
		goto fail;
	}
	if (p->ndocs != 1 || (root = p->docs[0])->type != MS_YAML_MAP) {
		snprintf(err, errsz, "%s:1: a profile is one YAML map", name);
		goto fail;
	}
	ms_yerr_keys_known(&e, root, "profile", keys);
	p->id = ms_yerr_str(&e, root, "id", true, "profile");
	title_of(&e, root, "title", true, &p->title_vi, &p->title_en, "profile");
	title_of(&e, root, "note", false, &p->note_vi, &p->note_en, "profile");
	if ((v = ms_yaml_get(root, "legal")) != NULL) {
		if (v->type != MS_YAML_SEQ || (p->legal = calloc(v->n + 1, sizeof(char *))) == NULL) {
			ms_yerr_add(&e, v->line, "profile: \"legal\" must be a list of texts");
		} else {
			for (size_t i = 0; i < v->n; i++)
				if (v->items[i]->type == MS_YAML_SCALAR)
					p->legal[p->nlegal++] = v->items[i]->str;
		}
	}
	if ((v = ms_yaml_get(root, "incidents")) == NULL || v->type != MS_YAML_MAP) {
		ms_yerr_add(&e, v ? v->line : root->line, "profile: \"incidents\" (report_hours, "
		    "serious_notice_hours, serious_report_hours) is required");
	} else {
		ms_yerr_keys_known(&e, v, "incidents", ikeys);
		p->report_hours = int_of(&e, v, "report_hours", 1, 24 * 366, 120, "incidents");
		p->serious_notice_hours = int_of(&e, v, "serious_notice_hours", 0, 24 * 366, 0,
		    "incidents");
		p->serious_report_hours = int_of(&e, v, "serious_report_hours", 1, 24 * 366,
		    p->report_hours, "incidents");
	}
	if ((v = ms_yaml_get(root, "requirements")) == NULL || v->type != MS_YAML_SEQ || v->n == 0) {
		ms_yerr_add(&e, v ? v->line : root->line, "profile: \"requirements\" must be a non-empty list");
	} else {
		if ((p->reqs = calloc(v->n, sizeof(*p->reqs))) == NULL) {
			snprintf(err, errsz, "%s:0: out of memory", name);
			goto fail;
		}
		for (size_t i = 0; i < v->n; i++) {
			parse_req(&e, v->items[i], &p->reqs[p->nreqs], p->reqs, p->nreqs);
			p->nreqs++;
		}
	}
	if (e.n > 0)
		goto fail;
	return p;
fail:
	ms_comp_profile_free(p);
	return NULL;
}

struct ms_comp_profile *
ms_comp_profile_load(const char *path, char *err, size_t errsz)
{
	char why[256];
	size_t n;
	char *data = ms_yaml_read_file(path, PROFILE_MAX_SIZE, &n, why, sizeof(why));
	struct ms_comp_profile *p;

	if (data == NULL) {
		snprintf(err, errsz, "%s:0: %s", path, why);
		return NULL;
	}
	p = ms_comp_profile_parse(path, data, n, err, errsz);
	free(data);
	return p;
}

struct ms_comp_profile *
ms_comp_profile_find(const char *dir, const char *id, char *err, size_t errsz)
{
	char path[4096];
	struct ms_comp_profile *p;

	if (strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(id) || id[0] == '\0') {
		snprintf(err, errsz, "framework \"%.64s\": letters, digits, - and _ only", id);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.yml", dir, id);
	if ((p = ms_comp_profile_load(path, err, errsz)) == NULL)
		return NULL;
	if (strcmp(p->id, id) != 0) {
		snprintf(err, errsz, "%s:1: the profile's id is \"%s\", not \"%s\"", path, p->id, id);
		ms_comp_profile_free(p);
		return NULL;
	}
	return p;
}

int64_t
ms_pct(int64_t num, int64_t den, char *out, size_t outsz)
{
	int64_t h;

	if (den <= 0 || num < 0) {
		snprintf(out, outsz, "-");
		return -1;
	}
	/* Hundredths of a percent, half-up: floor(num * 10000 / den + 1/2). */
	h = (num * 20000 + den) / (2 * den);
	snprintf(out, outsz, "%lld.%02lld", (long long)(h / 100), (long long)(h % 100));
	return h;
}

int64_t
ms_date_add_months(int64_t day, int months)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, last;
	int64_t idx;

	ms_date_civil(day, &y, &m, &d);
	idx = (int64_t)y * 12 + (m - 1) + months;
	y = (int)(idx >= 0 ? idx / 12 : (idx - 11) / 12);
	m = (int)(idx - (int64_t)y * 12) + 1;
	last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	if (d > last)
		d = last;
	return ms_days_from_civil(y, m, d);
}

static int
cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Counts the missing days [from, to) (none when from >= to). */
static void
add_missing(struct ms_retention *out, int64_t from, int64_t to)
{
	if (from >= to)
		return;
	if (out->first_missing == MS_REG_NO_DATE)
		out->first_missing = from;
	out->missing += to - from;
}

void
ms_retention_judge(const int64_t *days, size_t n, int64_t end, int months,
    struct ms_retention *out)
{
	int64_t *s = NULL, prev;
	size_t k = 0;

	memset(out, 0, sizeof(*out));
	out->oldest = out->newest = out->first_missing = MS_REG_NO_DATE;
	out->required = ms_date_add_months(end, -months);
	if (n > 0 && (s = malloc(n * sizeof(*s))) != NULL) {
		/* Only days up to end count: the report looks at a period. */
		for (size_t i = 0; i < n; i++)
			if (days[i] <= end)
				s[k++] = days[i];
		qsort(s, k, sizeof(*s), cmp_day);
	}
	if (k == 0) {
		free(s);
		out->pass = months == 0;
		return;
	}
	out->oldest = s[0];
	out->newest = s[k - 1];
	prev = s[0];
	out->days = 1;
	/*
	 * Only days from the required one on are judged: the archive keeps
	 * older ones too (a margin, keep_days, or everything), and a gap
	 * before the level's period does not make the period short.
	 */
	for (size_t i = 1; i < k; i++) {
		if (s[i] == prev)
			continue;
		if (s[i] > prev + 1)
			add_missing(out, prev + 1 > out->required ? prev + 1 : out->required, s[i]);
		prev = s[i];
		out->days++;
	}
	/* Days after the newest up to end; end itself is still being written. */
	if (prev + 1 < end)
		add_missing(out, prev + 1 > out->required ? prev + 1 : out->required, end);
	out->pass = out->oldest <= out->required && out->missing == 0;
	free(s);
}

int
ms_archive_day(const char *name, int64_t *day)
{
	char d[11];

	if (strlen(name) < 11 || name[10] != '.')
		return -1;
	memcpy(d, name, 10);
	d[10] = '\0';
	return ms_date_parse(d, day);
}

void
ms_comp_deadlines(const struct ms_comp_profile *p, bool serious, int64_t detected_ms,
    int64_t *notice_ms, int64_t *report_ms)
{
	const int64_t h = 3600 * 1000;

	*notice_ms = serious && p->serious_notice_hours > 0 ?
	    detected_ms + p->serious_notice_hours * h : 0;
	*report_ms = detected_ms + (serious ? p->serious_report_hours : p->report_hours) * h;
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
ms_time_parse(const char *s, int64_t *ms)
{
	char date[11];
	int64_t day, t;
	int hh, mm, ss, frac = 0, fd = 0, off = 0;
	const char *p;

	if (s == NULL || strlen(s) < 10)
		return -1;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (ms_date_parse(date, &day) < 0)
		return -1;
	if (s[10] == '\0') {
		*ms = day * 86400000;
		return 0;
	}
	if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || strlen(s) < 19 || s[13] != ':' ||
	    s[16] != ':' || (hh = digits(s + 11, 2)) < 0 || (mm = digits(s + 14, 2)) < 0 ||
	    (ss = digits(s + 17, 2)) < 0 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (fd < 3) {
				frac = frac * 10 + (*p - '0');
				fd++;
			}
			p++;
		}
		if (fd == 0)
			return -1;
		while (fd < 3) {
			frac *= 10;
			fd++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh = digits(p + 1, 2), om;
		if (oh < 0 || p[3] != ':' || (om = digits(p + 4, 2)) < 0 || oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	t = day * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)off * 60;
	*ms = t * 1000 + frac;
	return 0;
}
