/* aggregate – folding repeated alerts into one (see aggregate.h). */
#include "aggregate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_map.h"

#define AGG_MAX_RULES 256
#define AGG_MAX_TAGS 16

struct agg_rule {
	char name[128];
	int64_t window_ms;
};

/* What a summary needs beyond the counts; copied: the rule set may be reloaded meanwhile. */
struct agg_sum {
	struct alert a;
	char rule_id[160], rule_name[160], rule_title[512], severity[16];
	char tagbuf[AGG_MAX_TAGS][96];
	const char *tagp[AGG_MAX_TAGS];
	unsigned next_sample;
};

struct agg_entry {
	int64_t start_ms, window_ms;
	unsigned n;		/* alerts of the window, the first included */
	uint64_t count;		/* their events */
	int64_t first_ms, last_ms;
	char first_id[40];
	struct agg_sum *sum;	/* once one is folded in */
};

struct aggregate {
	int64_t window_ms;
	struct agg_rule *rules;
	size_t nrules;
	size_t max_keys;
	struct ms_map *open;	/* key -> struct agg_entry (owned) */
};

static void
entry_free(void *p)
{
	struct agg_entry *e = p;

	if (e)
		free(e->sum);
	free(e);
}

static int
parse_rules(struct aggregate *ag, const char *s, char *err, size_t errsz)
{
	while (s && *s) {
		const char *end = strchr(s, ','), *eq;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char item[256], *num;
		long long v;
		char *stop;

		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		if (len == 0 || len >= sizeof(item)) {
			snprintf(err, errsz, "alerts.aggregate_rules: empty or too long entry");
			return -1;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			item[--len] = '\0';
		eq = strrchr(item, '=');
		if (eq == NULL || eq == item || (size_t)(eq - item) >= sizeof(ag->rules[0].name)) {
			snprintf(err, errsz, "alerts.aggregate_rules: '%s' is not rule=seconds", item);
			return -1;
		}
		num = item + (eq - item) + 1;
		v = strtoll(num, &stop, 10);
		if (*num == '\0' || *stop != '\0' || v < 0 || v > 86400) {
			snprintf(err, errsz, "alerts.aggregate_rules: '%s': seconds must be 0..86400",
			    item);
			return -1;
		}
		if (ag->nrules == AGG_MAX_RULES) {
			snprintf(err, errsz, "alerts.aggregate_rules: more than %d rules", AGG_MAX_RULES);
			return -1;
		}
		memcpy(ag->rules[ag->nrules].name, item, (size_t)(eq - item));
		ag->rules[ag->nrules].name[eq - item] = '\0';
		ag->rules[ag->nrules++].window_ms = v * 1000;
		s = end ? end + 1 : NULL;
	}
	return 0;
}

struct aggregate *
aggregate_new(int64_t window_ms, const char *rules, size_t max_keys, char *err, size_t errsz)
{
	struct aggregate *ag = calloc(1, sizeof(*ag));

	if (ag == NULL || (ag->rules = calloc(AGG_MAX_RULES, sizeof(*ag->rules))) == NULL ||
	    (ag->open = ms_map_new(entry_free)) == NULL) {
		snprintf(err, errsz, "out of memory");
		aggregate_free(ag);
		return NULL;
	}
	ag->window_ms = window_ms;
	ag->max_keys = max_keys ? max_keys : 1;
	if (parse_rules(ag, rules, err, errsz) < 0) {
		aggregate_free(ag);
		return NULL;
	}
	return ag;
}

void
aggregate_free(struct aggregate *ag)
{
	if (ag == NULL)
		return;
	ms_map_free(ag->open);
	free(ag->rules);
	free(ag);
}

static int64_t
rule_window(const struct aggregate *ag, const struct alert *a)
{
	for (size_t i = 0; i < ag->nrules; i++)
		if ((a->rule_id && strcmp(ag->rules[i].name, a->rule_id) == 0) ||
		    (a->rule_name && strcmp(ag->rules[i].name, a->rule_name) == 0))
			return ag->rules[i].window_ms;
	return ag->window_ms;
}

/* The key: rule, agent, source IP, first user, group-by values; \x1f between. */
static size_t
make_key(const struct alert *a, char *k, size_t ksz)
{
	size_t n = 0;

#define KPUT(s, len) do { \
		size_t l_ = (len); \
		if (n + l_ + 1 > ksz) \
			l_ = ksz - n - 1; \
		memcpy(k + n, (s), l_); \
		n += l_; \
		k[n++] = '\x1f'; \
	} while (0)
	KPUT(a->rule_id ? a->rule_id : "", a->rule_id ? strlen(a->rule_id) : 0);
	KPUT(a->agent_id, strnlen(a->agent_id, sizeof(a->agent_id)));
	KPUT(a->src_ip, strnlen(a->src_ip, sizeof(a->src_ip)));
	if (a->n_users)
		KPUT(a->users[0], strnlen(a->users[0], ALERT_USER_MAX));
	else
		KPUT("", 0);
	for (size_t i = 0; i < a->ngroup && n + 2 < ksz; i++)
		KPUT(a->group_values[i].p, a->group_values[i].len);
#undef KPUT
	return n;
}

static void
copy_str(char *dst, size_t dsz, const char *s)
{
	snprintf(dst, dsz, "%s", s ? s : "");
}

/* The summary's fixed part, from the alert folded in first. */
static struct agg_sum *
sum_new(const struct alert *a)
{
	struct agg_sum *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->a = *a;
	copy_str(s->rule_id, sizeof(s->rule_id), a->rule_id);
	copy_str(s->rule_name, sizeof(s->rule_name), a->rule_name);
	copy_str(s->rule_title, sizeof(s->rule_title), a->rule_title);
	copy_str(s->severity, sizeof(s->severity), a->severity);
	s->a.rule_id = s->rule_id;
	s->a.rule_name = s->rule_name;
	s->a.rule_title = s->rule_title;
	s->a.severity = s->severity;
	s->a.ntags = a->ntags < AGG_MAX_TAGS ? a->ntags : AGG_MAX_TAGS;
	for (size_t i = 0; i < s->a.ntags; i++) {
		copy_str(s->tagbuf[i], sizeof(s->tagbuf[i]), a->tags[i]);
		s->tagp[i] = s->tagbuf[i];
	}
	s->a.tags = s->a.ntags ? s->tagp : NULL;
	/* Borrowed parts of the alert do not outlive its emit call. */
	s->a.event = NULL;
	s->a.group_names = NULL;
	s->a.group_values = NULL;
	s->a.ngroup = 0;
	s->a.system_id = NULL;	/* the register may be reloaded meanwhile: looked up when sent */
	s->a.n_samples = 0;
	return s;
}

static void
fold(struct agg_entry *e, const struct alert *a)
{
	struct agg_sum *s = e->sum;
	unsigned ns = a->n_samples < ALERT_MAX_SAMPLES ? a->n_samples : ALERT_MAX_SAMPLES;

	e->n++;
	e->count += a->count;
	if (a->first_ms < e->first_ms)
		e->first_ms = a->first_ms;
	if (a->last_ms > e->last_ms)
		e->last_ms = a->last_ms;
	if (s == NULL)
		return;
	/* Users of the window, each once, as many as fit. */
	for (unsigned i = 0; i < a->n_users && i < ALERT_MAX_USERS; i++) {
		bool seen = false;
		for (unsigned k = 0; k < s->a.n_users && !seen; k++)
			seen = strncmp(s->a.users[k], a->users[i], ALERT_USER_MAX) == 0;
		if (!seen && s->a.n_users < ALERT_MAX_USERS)
			memcpy(s->a.users[s->a.n_users++], a->users[i], ALERT_USER_MAX);
	}
	/* The latest samples, in a ring. */
	for (unsigned i = 0; i < ns; i++) {
		memcpy(s->a.samples[s->next_sample % ALERT_MAX_SAMPLES], a->samples[i],
		    ALERT_SAMPLE_MAX);
		s->a.samples[s->next_sample % ALERT_MAX_SAMPLES][ALERT_SAMPLE_MAX - 1] = '\0';
		s->next_sample++;
		if (s->a.n_samples < ALERT_MAX_SAMPLES)
			s->a.n_samples++;
	}
}

static void
emit_summary(struct agg_entry *e, detect_emit_fn emit, void *arg)
{
	struct alert *a;

	if (e->n < 2 || e->sum == NULL)
		return;
	a = &e->sum->a;
	a->count = e->count > UINT32_MAX ? UINT32_MAX : (unsigned)e->count;
	a->first_ms = e->first_ms;
	a->last_ms = e->last_ms;
	a->aggregated = e->n;
	a->aggregate_window_ms = e->window_ms;
	memcpy(a->aggregate_of, e->first_id, sizeof(a->aggregate_of));
	emit(a, arg);
}

bool
aggregate_offer(struct aggregate *ag, const struct alert *a, int64_t now_ms,
    detect_emit_fn emit, void *arg)
{
	char k[1024];
	size_t klen;
	int64_t w = rule_window(ag, a);
	struct agg_entry *e;

	if (w <= 0)
		return false;
	klen = make_key(a, k, sizeof(k));
	e = ms_map_get(ag->open, k, klen);
	if (e != NULL && now_ms - e->start_ms < e->window_ms) {
		if (e->sum == NULL && (e->sum = sum_new(a)) == NULL)
			return false;	/* out of memory: sent on its own rather than lost */
		fold(e, a);
		return true;
	}
	if (e != NULL) {
		/* Ended but not swept yet: its summary first, then a new window. */
		emit_summary(e, emit, arg);
		ms_map_del(ag->open, k, klen);
	}
	while (ms_map_count(ag->open) >= ag->max_keys) {
		const void *lk;
		size_t ll;
		struct agg_entry *old = ms_map_lru(ag->open, &lk, &ll);
		if (old == NULL)
			break;
		emit_summary(old, emit, arg);
		ms_map_del_lru(ag->open);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return false;
	e->start_ms = now_ms;
	e->window_ms = w;
	e->n = 1;
	e->count = a->count;
	e->first_ms = a->first_ms;
	e->last_ms = a->last_ms;
	memcpy(e->first_id, a->id, sizeof(e->first_id));
	e->first_id[sizeof(e->first_id) - 1] = '\0';
	if (ms_map_put(ag->open, k, klen, e) < 0)
		entry_free(e);
	return false;
}

void
aggregate_tick(struct aggregate *ag, int64_t now_ms, bool flush, detect_emit_fn emit, void *arg)
{
	struct ms_map_iter it;
	struct agg_entry *e;
	const void *k;
	size_t kl;

	ms_map_iter_init(&it);
	while ((e = ms_map_next(ag->open, &it, &k, &kl)) != NULL) {
		if (!flush && now_ms - e->start_ms < e->window_ms)
			continue;
		emit_summary(e, emit, arg);
		/* The entry just returned may be deleted (ms_map_next). */
		ms_map_del(ag->open, k, kl);
	}
}

size_t
aggregate_open(const struct aggregate *ag)
{
	return ms_map_count(ag->open);
}
