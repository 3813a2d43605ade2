/* aggregate – folding repeated alerts into one (see aggregate.h). */
#include "aggregate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_map.h"

#define AGG_MAX_RULES 256
#define AGG_MAX_TAGS 16
/* Group-by fields a summary names (sigma_corr allows as many). */
#define AGG_MAX_GROUP 16

struct agg_rule {
	char name[128];
	int64_t window_ms;
};

/*
 * What a summary needs beyond the counts, sized to what it holds (a flood
 * of distinct keys keeps max_keys of these): the rule's strings, copied as
 * the rule set may be reloaded meanwhile, and the first alert's origin, in
 * text[]; the users and latest samples of the window, each its own
 * allocation. The alert itself is put together when the summary goes out.
 */
struct agg_sum {
	int64_t time_ms;
	int system_level;
	const char *rule_id, *rule_title, *rule_name, *severity;	/* into text; name may be NULL */
	const char *agent_id, *host, *src_ip;
	const char *tagp[AGG_MAX_TAGS];
	size_t ntags;
	/* A correlation's group-by names and values (part of the key): into text. */
	const char *gnames[AGG_MAX_GROUP];
	struct ms_str gvals[AGG_MAX_GROUP];
	size_t ngroup;
	char *users[ALERT_MAX_USERS];
	unsigned n_users;
	char *samples[ALERT_MAX_SAMPLES];	/* a ring: the latest ones */
	unsigned scap[ALERT_MAX_SAMPLES];	/* bytes allocated for each */
	unsigned n_samples, next_sample;
	char text[];
};

struct agg_entry {
	int64_t start_ms, window_ms;
	unsigned n;		/* alerts of the window, the first included */
	uint64_t count;		/* their events */
	int64_t first_ms, last_ms;
	char first_id[40];
	struct agg_sum *sum;	/* once one is folded in */
};

/*
 * The open windows of one length: key -> struct agg_entry (inline values).
 * Entries are added as windows open and never touched after (lookups do
 * not move them), so the map's LRU order is the order they opened in, and
 * with one length the order they end in: a tick takes ended windows from
 * the front and stops at the first open one, however many are open.
 */
struct agg_lane {
	int64_t window_ms;
	struct ms_map *open;
};

/* A window length per rule entry and the default, at most. */
#define AGG_MAX_LANES (AGG_MAX_RULES + 1)

struct aggregate {
	int64_t window_ms;
	struct agg_rule *rules;
	size_t nrules;
	size_t max_keys;
	struct agg_lane lanes[AGG_MAX_LANES];	/* made when a length is first used */
	size_t nlanes;
};

static void
sum_free(struct agg_sum *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n_users; i++)
		free(s->users[i]);
	for (unsigned i = 0; i < ALERT_MAX_SAMPLES; i++)
		free(s->samples[i]);
	free(s);
}

/* An entry leaves the map: its summary goes; the entry is the map's storage. */
static void
entry_clear(void *p)
{
	struct agg_entry *e = p;

	if (e)
		sum_free(e->sum);
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

	if (ag == NULL || (ag->rules = calloc(AGG_MAX_RULES, sizeof(*ag->rules))) == NULL) {
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
	for (size_t i = 0; i < ag->nlanes; i++)
		ms_map_free(ag->lanes[i].open);
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

/* The lane of windows w ms long (w > 0), made when new; NULL when out of memory. */
static struct agg_lane *
lane_of(struct aggregate *ag, int64_t w)
{
	struct agg_lane *l;

	for (size_t i = 0; i < ag->nlanes; i++)
		if (ag->lanes[i].window_ms == w)
			return &ag->lanes[i];
	/* Lengths come from the rule entries and the default: never more than the array. */
	if (ag->nlanes == AGG_MAX_LANES)
		return NULL;
	l = &ag->lanes[ag->nlanes];
	if ((l->open = ms_map_new_inline(sizeof(struct agg_entry), entry_clear)) == NULL)
		return NULL;
	l->window_ms = w;
	ag->nlanes++;
	return l;
}

/* The lane whose first window opened earliest (the oldest of all), NULL when none is open. */
static struct agg_lane *
lane_oldest(struct aggregate *ag)
{
	struct agg_lane *best = NULL;
	int64_t t = 0;

	for (size_t i = 0; i < ag->nlanes; i++) {
		const struct agg_entry *e = ms_map_lru(ag->lanes[i].open, NULL, NULL);
		if (e != NULL && (best == NULL || e->start_ms < t)) {
			best = &ag->lanes[i];
			t = e->start_ms;
		}
	}
	return best;
}

/* Bytes of a rule id in a key: ids are UUIDs or names; a longer one is cut. */
#define AGG_KEY_RULE_MAX	256
/* The key buffer: room for the fixed parts and 16 group values of 256 bytes (sigma_corr's caps). */
#define AGG_KEY_MAX		8192

/*
 * The key: rule, agent, source IP, first user, group-by values; each part
 * after its length in 2 bytes (as sigma_corr's group keys), so that a
 * value holding any byte never reads as two parts: with a separator byte
 * instead, the group values ("x\x1fy", "z") and ("x", "y\x1fz") of log
 * text were one key, and two attacks one window. A part past the room
 * left is cut, and then an FNV-1a hash of every part, whole, ends the key
 * (the room for it kept): keys that differ only past the cut stay apart.
 */
static size_t
make_key(const struct alert *a, char *k, size_t ksz)
{
	size_t n = 0, room = ksz - 8;
	bool cut = false;

	/* The parts, in order; a->ngroup of them past the fixed four. */
#define KPART(s, len) do { \
		const unsigned char *s_ = (const unsigned char *)(s); \
		size_t l_ = (len), c_ = l_; \
		if (n + 2 > room) { \
			cut = true; \
			break; \
		} \
		if (c_ > room - n - 2) { \
			c_ = room - n - 2; \
			cut = true; \
		} \
		k[n++] = (char)(c_ >> 8 & 0xff); \
		k[n++] = (char)(c_ & 0xff); \
		if (c_) \
			memcpy(k + n, s_, c_); \
		n += c_; \
	} while (0)
#define KPARTS(PUT) do { \
		PUT(a->rule_id ? a->rule_id : "", a->rule_id ? strnlen(a->rule_id, AGG_KEY_RULE_MAX) : 0); \
		PUT(a->agent_id, strnlen(a->agent_id, sizeof(a->agent_id))); \
		PUT(a->src_ip, strnlen(a->src_ip, sizeof(a->src_ip))); \
		if (a->n_users) \
			PUT(a->users[0], strnlen(a->users[0], ALERT_USER_MAX)); \
		else \
			PUT("", 0); \
		for (size_t i_ = 0; i_ < a->ngroup; i_++) \
			PUT(a->group_values[i_].p, a->group_values[i_].len > 0xffff ? 0xffff : \
			    a->group_values[i_].len); \
	} while (0)
	KPARTS(KPART);
	/*
	 * Cut (rare: group values of kilobytes): an FNV-1a hash of every part,
	 * whole, after its length ends the key, so keys that differ only past
	 * the cut stay apart. Only then: a hash of every byte of every key cost
	 * 30 instructions an event (callgrind).
	 */
	if (cut) {
		uint64_t h = UINT64_C(14695981039346656037);

#define KHASH(s, len) do { \
		const unsigned char *s_ = (const unsigned char *)(s); \
		size_t l_ = (len); \
		h = (h ^ (l_ >> 8)) * UINT64_C(1099511628211); \
		h = (h ^ (l_ & 0xff)) * UINT64_C(1099511628211); \
		for (size_t j_ = 0; j_ < l_; j_++) \
			h = (h ^ s_[j_]) * UINT64_C(1099511628211); \
	} while (0)
		KPARTS(KHASH);
#undef KHASH
		memcpy(k + n, &h, 8);
		n += 8;
	}
#undef KPARTS
#undef KPART
	return n;
}

/* Appends the string s (NULL: "") at *at, a NUL after it; returns where it went. */
static const char *
text_put(char **at, const char *s, size_t len)
{
	char *p = *at;

	memcpy(p, s ? s : "", len);
	p[len] = '\0';
	*at = p + len + 1;
	return p;
}

/* A bounded string of a fixed-size alert field, as a new allocation (NULL: out of memory). */
static char *
dup_field(const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* The summary's fixed part, from the alert folded in first. */
static struct agg_sum *
sum_new(const struct alert *a)
{
	size_t ntags = a->ntags < AGG_MAX_TAGS ? a->ntags : AGG_MAX_TAGS;
	size_t l_id = a->rule_id ? strlen(a->rule_id) : 0;
	size_t l_title = a->rule_title ? strlen(a->rule_title) : 0;
	size_t l_name = a->rule_name ? strlen(a->rule_name) : 0;
	size_t l_sev = a->severity ? strlen(a->severity) : 0;
	size_t l_agent = strnlen(a->agent_id, sizeof(a->agent_id) - 1);
	size_t l_host = strnlen(a->host, sizeof(a->host) - 1);
	size_t l_src = strnlen(a->src_ip, sizeof(a->src_ip) - 1);
	size_t ngroup = a->ngroup < AGG_MAX_GROUP ? a->ngroup : AGG_MAX_GROUP;
	size_t l_tags = 0, l_group = 0, need;
	struct agg_sum *s;
	char *at;

	for (size_t i = 0; i < ntags; i++)
		l_tags += strlen(a->tags[i]) + 1;
	for (size_t i = 0; i < ngroup; i++)
		l_group += strlen(a->group_names[i]) + 1 + a->group_values[i].len + 1;
	need = l_id + l_title + l_name + l_sev + l_agent + l_host + l_src + 7 + l_tags + l_group;
	if ((s = calloc(1, sizeof(*s) + need)) == NULL)
		return NULL;
	at = s->text;
	s->time_ms = a->time_ms;
	s->system_level = a->system_level;
	s->rule_id = text_put(&at, a->rule_id, l_id);
	s->rule_title = text_put(&at, a->rule_title, l_title);
	s->rule_name = a->rule_name ? text_put(&at, a->rule_name, l_name) : NULL;
	if (a->rule_name == NULL)
		at++;
	s->severity = text_put(&at, a->severity, l_sev);
	s->agent_id = text_put(&at, a->agent_id, l_agent);
	s->host = text_put(&at, a->host, l_host);
	s->src_ip = text_put(&at, a->src_ip, l_src);
	for (size_t i = 0; i < ntags; i++)
		s->tagp[i] = text_put(&at, a->tags[i], strlen(a->tags[i]));
	s->ntags = ntags;
	for (size_t i = 0; i < ngroup; i++) {
		s->gnames[i] = text_put(&at, a->group_names[i], strlen(a->group_names[i]));
		s->gvals[i] = ms_str_make(text_put(&at, a->group_values[i].p,
		    a->group_values[i].len), a->group_values[i].len);
	}
	s->ngroup = ngroup;
	return s;
}

/* Users of the window, each once, as many as fit. */
static void
sum_users(struct agg_sum *s, const struct alert *a)
{
	for (unsigned i = 0; i < a->n_users && i < ALERT_MAX_USERS; i++) {
		bool seen = false;
		for (unsigned k = 0; k < s->n_users && !seen; k++)
			seen = strncmp(s->users[k], a->users[i], ALERT_USER_MAX - 1) == 0;
		if (!seen && s->n_users < ALERT_MAX_USERS &&
		    (s->users[s->n_users] = dup_field(a->users[i], ALERT_USER_MAX)) != NULL)
			s->n_users++;
	}
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
	sum_users(s, a);
	/*
	 * The latest samples, in a ring. A slot's buffer is reused when the
	 * line fits (a folded rule's lines are of a size): no malloc and free
	 * per folded alert.
	 */
	for (unsigned i = 0; i < ns; i++) {
		unsigned slot = s->next_sample % ALERT_MAX_SAMPLES;
		size_t n = strnlen(a->samples[i], ALERT_SAMPLE_MAX - 1);

		if (s->samples[slot] == NULL || s->scap[slot] < n + 1) {
			char *d = malloc(n + 1);

			if (d == NULL)
				continue;	/* out of memory: one sample fewer */
			free(s->samples[slot]);
			s->samples[slot] = d;
			s->scap[slot] = (unsigned)(n + 1);
		}
		memcpy(s->samples[slot], a->samples[i], n);
		s->samples[slot][n] = '\0';
		s->next_sample++;
		if (s->n_samples < ALERT_MAX_SAMPLES)
			s->n_samples++;
	}
}

/* s into a fixed-size field of dsz bytes, cut to fit, NUL-terminated (snprintf "%s" without printf). */
static void
put_field(char *d, size_t dsz, const char *s)
{
	size_t n = strnlen(s, dsz - 1);

	memcpy(d, s, n);
	d[n] = '\0';
}

static void
emit_summary(struct agg_entry *e, detect_emit_fn emit, void *arg)
{
	const struct agg_sum *s = e->sum;
	struct alert al, *a = &al;

	if (e->n < 2 || s == NULL)
		return;
	alert_reset(a);
	a->time_ms = s->time_ms;
	a->rule_id = s->rule_id;
	a->rule_title = s->rule_title;
	a->rule_name = s->rule_name;
	a->severity = s->severity;
	put_field(a->agent_id, sizeof(a->agent_id), s->agent_id);
	put_field(a->host, sizeof(a->host), s->host);
	put_field(a->src_ip, sizeof(a->src_ip), s->src_ip);
	a->tags = s->ntags ? s->tagp : NULL;
	a->ntags = s->ntags;
	/* Which group it is: the key's group-by values (two groups' summaries were alike). */
	a->group_names = s->ngroup ? s->gnames : NULL;
	a->group_values = s->ngroup ? s->gvals : NULL;
	a->ngroup = s->ngroup;
	for (unsigned i = 0; i < s->n_users; i++)
		put_field(a->users[i], sizeof(a->users[i]), s->users[i]);
	a->n_users = s->n_users;
	/* Oldest first, as they were folded. */
	for (unsigned i = 0; i < s->n_samples; i++) {
		unsigned slot = (s->next_sample - s->n_samples + i) % ALERT_MAX_SAMPLES;

		put_field(a->samples[i], sizeof(a->samples[i]), s->samples[slot]);
	}
	a->n_samples = s->n_samples;
	/* The register may be reloaded meanwhile: looked up when sent. */
	a->system_id = NULL;
	a->system_level = s->system_level;
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
	char k[AGG_KEY_MAX];
	size_t klen;
	int64_t w = rule_window(ag, a);
	struct agg_lane *lane;
	struct agg_entry *e;
	uint32_t h;

	if (w <= 0)
		return false;
	if ((lane = lane_of(ag, w)) == NULL)
		return false;	/* out of memory: sent on its own rather than lost */
	klen = make_key(a, k, sizeof(k));
	/* One hash for the lookup and, when the window is new, the insert. */
	h = ms_map_hash(lane->open, k, klen);
	/* A lookup that does not move the entry: the lane's order stays the order windows opened. */
	e = ms_map_get_h(lane->open, k, klen, h);
	if (e != NULL && now_ms - e->start_ms < e->window_ms) {
		if (e->sum == NULL && (e->sum = sum_new(a)) == NULL)
			return false;	/* out of memory: sent on its own rather than lost */
		fold(e, a);
		return true;
	}
	if (e != NULL) {
		/* Ended but not swept yet: its summary first, then a new window. */
		emit_summary(e, emit, arg);
		ms_map_del(lane->open, k, klen);
	}
	while (aggregate_open(ag) >= ag->max_keys) {
		/* The oldest window of all closes early. */
		struct agg_lane *ol = lane_oldest(ag);
		if (ol == NULL)
			break;
		emit_summary(ms_map_lru(ol->open, NULL, NULL), emit, arg);
		ms_map_del_lru(ol->open);
	}
	/* In the map's own record, next to its key: one cache miss fewer per alert offered. */
	if ((e = ms_map_add_h(lane->open, k, klen, h)) == NULL)
		return false;
	e->start_ms = now_ms;
	e->window_ms = w;
	e->n = 1;
	e->count = a->count;
	e->first_ms = a->first_ms;
	e->last_ms = a->last_ms;
	memcpy(e->first_id, a->id, sizeof(e->first_id));
	e->first_id[sizeof(e->first_id) - 1] = '\0';
	/*
	 * "Every user" of the window includes the first alert's: its users
	 * after the first (the key's) are kept now, as nothing else keeps
	 * them (out of memory: they are left out, the alert is sent anyway).
	 */
	if (a->n_users > 1 && (e->sum = sum_new(a)) != NULL)
		sum_users(e->sum, a);
	return false;
}

bool
aggregate_tick(struct aggregate *ag, int64_t now_ms, bool flush, size_t max, detect_emit_fn emit,
    void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < ag->nlanes; i++) {
		struct ms_map *m = ag->lanes[i].open;
		struct agg_entry *e;

		/* In the order they opened, which is the order they end in: up to the first still open. */
		while ((e = ms_map_lru(m, NULL, NULL)) != NULL &&
		    (flush || now_ms - e->start_ms >= e->window_ms)) {
			if (max > 0 && n == max)
				return true;
			emit_summary(e, emit, arg);
			ms_map_del_lru(m);
			n++;
		}
	}
	return false;
}

size_t
aggregate_open(const struct aggregate *ag)
{
	size_t n = 0;

	for (size_t i = 0; i < ag->nlanes; i++)
		n += ms_map_count(ag->lanes[i].open);
	return n;
}
