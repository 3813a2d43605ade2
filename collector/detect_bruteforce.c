/*
 * detect_bruteforce – the built-in SSH brute-force detector.
 *
 * "threshold or more failed sshd authentications from one source IP within
 * window_ms of event time fire one alert, then that source is quiet for
 * quiet_ms." Keyed by (agent id, source IP); time is the event's own time.
 *
 * Per key we keep the recent failures as a ring sorted by event time
 * (oldest first), each with its weight (rsyslog's "message repeated N
 * times" is N failures at one time), an index into a small table of user
 * names and an optional index into a few sample-line slots. Memory per key
 * is one fixed allocation: about 2.2 KiB with the defaults (the three
 * 512-byte sample slots dominate), so max_sources bounds the whole.
 *
 * Time handling (events may arrive slightly out of order):
 *  - newest = the newest event time seen for the key. Entries older than
 *    newest - window_ms are pruned and an arriving event older than that
 *    is ignored: it cannot share a window with the newest one.
 *  - A late event within the window is inserted at its sorted place, so
 *    first/last/users/samples stay in event-time order.
 *  - After pruning every entry lies within window_ms of newest, so the
 *    ring spans <= window_ms by construction and the alert fires when its
 *    total weight reaches threshold. The ring then never holds more than
 *    threshold entries (each weighs >= 1), so it never has to drop one.
 *  - After firing the ring is emptied and failures with event time <
 *    last + quiet_ms are ignored – also late ones arriving after the quiet
 *    period, which is why quiet_until is never reset while the key lives.
 *  - A key idle for more than window_ms + quiet_ms of event time (by its
 *    own agent's clock) is reset when it is next seen, and dropped when it
 *    reaches the LRU tail while an event of the same agent arrives. Other
 *    agents' times are not compared: one agent replaying an old file must
 *    not expire, or be expired by, a live one.
 *
 * Samples: ALERT_MAX_SAMPLES slots per key hold the raw lines of the
 * earliest ring entries that got one; a slot is freed when its entry is
 * pruned and reused by the next failure, and a late event takes the slot
 * of the newest holder when none is free. So for a burst that starts from
 * an empty window the samples are exactly its first lines; after pruning
 * they are the earliest lines still held. Lines are cut to
 * ALERT_SAMPLE_MAX - 1 bytes (and at an embedded NUL).
 *
 * Users: ALERT_MAX_USERS name slots per key; a slot no ring entry refers to
 * any more is reused. The alert lists the distinct users of the window in
 * first-seen (event-time) order; a user arriving while all slots are used
 * by the window is not listed (the alert holds at most ALERT_MAX_USERS).
 *
 * The alert's id and time_ms are left empty/0: the collector fills them
 * when it emits (the detector never reads the wall clock).
 */
#include "detect.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ms_map.h"

#define BF_RULE_ID "minisoc-ssh-bruteforce"
#define BF_RULE_TITLE "SSH brute force: repeated authentication failures from one source"
#define BF_SEVERITY "high"

#define BF_NONE 0xff		/* no user / no sample slot */
#define BF_EXPIRE_PER_EVENT 2	/* idle LRU-tail keys dropped per event, at most */

/* The key is agent id, NUL, source IP; both cut as they are in struct alert. */
#define BF_AGENT_MAX (sizeof(((struct alert *)0)->agent_id) - 1)
#define BF_IP_MAX (sizeof(((struct alert *)0)->src_ip) - 1)

struct bf_fail {
	int64_t t;
	uint32_t weight;
	uint8_t user;		/* index into bf_src.users, or BF_NONE */
	uint8_t sample;		/* index into bf_src.samples, or BF_NONE */
};

struct bf_src {
	int64_t newest;		/* newest event time seen (incl. ignored ones) */
	int64_t quiet_until;	/* failures before this are ignored */
	uint64_t weight;	/* sum of the ring's weights */
	unsigned head, n;	/* ring: entry i is ring[(head + i) % cap] */
	unsigned sample_used;	/* bit per samples[] slot */
	char users[ALERT_MAX_USERS][ALERT_USER_MAX];	/* "" = free */
	char samples[ALERT_MAX_SAMPLES][ALERT_SAMPLE_MAX];
	struct bf_fail ring[];	/* conf.threshold entries */
};

struct bf_state {
	struct bruteforce_conf conf;
	struct ms_map *srcs;	/* key -> struct bf_src (owned, free()) */
	int64_t idle_ms;	/* window_ms + quiet_ms */
	struct alert alert;	/* scratch: too big for the stack of a callback */
};

void
bruteforce_conf_defaults(struct bruteforce_conf *c)
{
	c->threshold = 8;
	c->window_ms = 120000;
	c->quiet_ms = 120000;
	c->max_sources = 65536;
}

static struct bf_fail *
ring_at(struct bf_src *s, unsigned cap, unsigned i)
{
	return &s->ring[(s->head + i) % cap];
}

static void
src_reset(struct bf_src *s)
{
	s->newest = INT64_MIN;
	s->quiet_until = INT64_MIN;
	s->weight = 0;
	s->head = s->n = 0;
	s->sample_used = 0;
	for (unsigned i = 0; i < ALERT_MAX_USERS; i++)
		s->users[i][0] = '\0';
}

/* Saturating a + b for b >= 0: event times come from untrusted lines. */
static int64_t
add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t
sub_sat(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* True when more than idle_ms of event time passed from last to t. */
static bool
is_idle(int64_t last, int64_t t, int64_t idle_ms)
{
	if (last == INT64_MIN)
		return false;
	return t > last && (uint64_t)t - (uint64_t)last > (uint64_t)idle_ms;
}

static void
ring_drop_oldest(struct bf_src *s, unsigned cap)
{
	struct bf_fail *f = ring_at(s, cap, 0);

	s->weight -= f->weight;
	if (f->sample != BF_NONE)
		s->sample_used &= ~(1u << f->sample);
	s->head = (s->head + 1) % cap;
	s->n--;
}

/* Returns the user slot for name (cut to ALERT_USER_MAX - 1), or BF_NONE. */
static uint8_t
user_slot(struct bf_src *s, unsigned cap, struct ms_str user)
{
	char name[ALERT_USER_MAX];
	bool used[ALERT_MAX_USERS] = { false };
	unsigned i;

	ms_copy(name, sizeof(name), user.p, user.len);
	if (name[0] == '\0')
		return BF_NONE;
	for (i = 0; i < ALERT_MAX_USERS; i++)
		if (strcmp(s->users[i], name) == 0)
			return (uint8_t)i;
	for (i = 0; i < ALERT_MAX_USERS; i++)
		if (s->users[i][0] == '\0')
			goto take;
	/* Full: reuse a slot no entry of the window refers to any more. */
	for (unsigned k = 0; k < s->n; k++) {
		uint8_t u = ring_at(s, cap, k)->user;
		if (u != BF_NONE)
			used[u] = true;
	}
	for (i = 0; i < ALERT_MAX_USERS; i++)
		if (!used[i])
			goto take;
	return BF_NONE;
take:
	memcpy(s->users[i], name, sizeof(name));
	return (uint8_t)i;
}

/*
 * Gives the entry at sorted position pos a sample slot holding line: a free
 * slot, else the slot of the newest holder if that one is newer than pos.
 */
static void
sample_slot(struct bf_src *s, unsigned cap, unsigned pos, struct ms_str line)
{
	struct bf_fail *f = ring_at(s, cap, pos);
	unsigned i;

	for (i = 0; i < ALERT_MAX_SAMPLES; i++)
		if (!(s->sample_used & (1u << i)))
			goto take;
	for (unsigned k = s->n; k-- > pos + 1;) {
		struct bf_fail *g = ring_at(s, cap, k);
		if (g->sample != BF_NONE) {
			i = g->sample;
			g->sample = BF_NONE;
			goto take;
		}
	}
	return;
take:
	s->sample_used |= 1u << i;
	f->sample = (uint8_t)i;
	ms_copy(s->samples[i], sizeof(s->samples[i]), line.p, line.len);
}

/* Inserts at the sorted place (after equal times) and returns the position. */
static unsigned
ring_insert(struct bf_src *s, unsigned cap, int64_t t, uint32_t weight)
{
	unsigned pos = s->n;
	struct bf_fail nf = { t, weight, BF_NONE, BF_NONE };

	/* The caller guarantees n < cap (see the file comment). */
	s->n++;
	while (pos > 0 && ring_at(s, cap, pos - 1)->t > t) {
		*ring_at(s, cap, pos) = *ring_at(s, cap, pos - 1);
		pos--;
	}
	*ring_at(s, cap, pos) = nf;
	s->weight += weight;
	return pos;
}

static void
bf_fire(struct bf_state *st, struct bf_src *s, const struct detect_event *ev,
    detect_emit_fn emit, void *arg)
{
	struct alert *a = &st->alert;
	unsigned cap = st->conf.threshold;
	bool seen[ALERT_MAX_USERS] = { false };
	const char *host = ev->host ? ev->host : "";
	const char *agent = ev->agent_id ? ev->agent_id : "";

	memset(a, 0, sizeof(*a));
	a->rule_id = BF_RULE_ID;
	a->rule_title = BF_RULE_TITLE;
	a->severity = BF_SEVERITY;
	ms_copy(a->agent_id, sizeof(a->agent_id), agent, strnlen(agent, BF_AGENT_MAX));
	ms_copy(a->host, sizeof(a->host), host, strnlen(host, sizeof(a->host) - 1));
	ms_copy(a->src_ip, sizeof(a->src_ip), ev->d->src_ip.p, ev->d->src_ip.len);
	a->count = s->weight > UINT_MAX ? UINT_MAX : (unsigned)s->weight;
	a->first_ms = ring_at(s, cap, 0)->t;
	a->last_ms = ring_at(s, cap, s->n - 1)->t;
	for (unsigned k = 0; k < s->n; k++) {
		struct bf_fail *f = ring_at(s, cap, k);
		if (f->user != BF_NONE && !seen[f->user] && a->n_users < ALERT_MAX_USERS) {
			seen[f->user] = true;
			memcpy(a->users[a->n_users++], s->users[f->user], ALERT_USER_MAX);
		}
		if (f->sample != BF_NONE && a->n_samples < ALERT_MAX_SAMPLES)
			memcpy(a->samples[a->n_samples++], s->samples[f->sample],
			    ALERT_SAMPLE_MAX);
	}
	s->quiet_until = add_sat(a->last_ms, st->conf.quiet_ms);
	/* The window starts empty after the quiet period. */
	s->head = s->n = 0;
	s->weight = 0;
	s->sample_used = 0;
	emit(a, arg);
}

/* Drops idle keys of this agent found at the LRU tail, a bounded few. */
static void
bf_expire(struct bf_state *st, const char *key, size_t alen, int64_t t)
{
	for (int i = 0; i < BF_EXPIRE_PER_EVENT; i++) {
		const void *k = NULL;
		size_t klen = 0;
		struct bf_src *s = ms_map_lru(st->srcs, &k, &klen);

		if (s == NULL || klen <= alen || memcmp(k, key, alen) != 0 ||
		    ((const char *)k)[alen] != '\0' || !is_idle(s->newest, t, st->idle_ms))
			return;
		ms_map_del_lru(st->srcs);
	}
}

static struct bf_src *
bf_lookup(struct bf_state *st, const char *key, size_t klen, size_t alen, int64_t t)
{
	struct bf_src *s = NULL;

	bf_expire(st, key, alen, t);
	s = ms_map_touch(st->srcs, key, klen);
	if (s != NULL) {
		/*
		 * "Drop and recreate" without the free/malloc. Pruning alone would
		 * already empty the ring and the quiet period is over; this also
		 * forgets the stale user names and samples.
		 */
		if (is_idle(s->newest, t, st->idle_ms))
			src_reset(s);
		return s;
	}
	while (ms_map_count(st->srcs) >= st->conf.max_sources)
		if (ms_map_del_lru(st->srcs) < 0)
			break;
	s = malloc(sizeof(*s) + (size_t)st->conf.threshold * sizeof(s->ring[0]));
	if (s == NULL)
		goto fail;
	src_reset(s);
	if (ms_map_put(st->srcs, key, klen, s) < 0)
		goto fail;
	return s;
fail:
	/* Out of memory: this event is not counted, nothing else breaks. */
	free(s);
	return NULL;
}

static void
bf_on_event(void *state, const struct detect_event *ev, detect_emit_fn emit, void *arg)
{
	struct bf_state *st = state;
	const struct decoded *d = ev->d;
	const char *agent = ev->agent_id ? ev->agent_id : "";
	char key[BF_AGENT_MAX + 1 + BF_IP_MAX];
	size_t alen, klen;
	unsigned cap = st->conf.threshold, pos;
	uint32_t w;
	int64_t t, cut;
	struct bf_src *s;

	if (d == NULL || d->sshd_action != DECODE_SSHD_AUTH_FAILURE)
		return;
	/* Longer than any IP text (and than the alert field): not a real source. */
	if (d->src_ip.len == 0 || d->src_ip.len > BF_IP_MAX)
		return;
	alen = strnlen(agent, BF_AGENT_MAX);
	memcpy(key, agent, alen);
	key[alen] = '\0';
	memcpy(key + alen + 1, d->src_ip.p, d->src_ip.len);
	klen = alen + 1 + d->src_ip.len;

	t = d->time_ms;
	w = d->repeat == 0 ? 1 : d->repeat;
	s = bf_lookup(st, key, klen, alen, t);
	if (s == NULL)
		return;
	if (s->newest == INT64_MIN || t > s->newest)
		s->newest = t;
	if (t < s->quiet_until)
		return;
	cut = sub_sat(s->newest, st->conf.window_ms);
	if (t < cut)
		return;
	while (s->n > 0 && ring_at(s, cap, 0)->t < cut)
		ring_drop_oldest(s, cap);

	pos = ring_insert(s, cap, t, w);
	ring_at(s, cap, pos)->user = user_slot(s, cap, d->user);
	sample_slot(s, cap, pos, ev->line);
	if (s->weight >= st->conf.threshold)
		bf_fire(st, s, ev, emit, arg);
}

static size_t
bf_tracked(void *state)
{
	struct bf_state *st = state;

	return ms_map_count(st->srcs);
}

static void
bf_free(void *state)
{
	struct bf_state *st = state;

	if (st == NULL)
		return;
	ms_map_free(st->srcs);
	free(st);
}

struct detector *
detect_bruteforce_new(const struct bruteforce_conf *c)
{
	struct bruteforce_conf defaults;
	struct detector *d = NULL;
	struct bf_state *st = NULL;

	if (c == NULL) {
		bruteforce_conf_defaults(&defaults);
		c = &defaults;
	}
	if (c->threshold < 1 || c->threshold > BRUTEFORCE_MAX_THRESHOLD ||
	    c->window_ms < 0 || c->window_ms > BRUTEFORCE_MAX_SPAN_MS ||
	    c->quiet_ms < 0 || c->quiet_ms > BRUTEFORCE_MAX_SPAN_MS ||
	    c->max_sources < 1)
		goto fail;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		goto fail;
	st->conf = *c;
	st->idle_ms = c->window_ms + c->quiet_ms;
	st->srcs = ms_map_new(free);
	if (st->srcs == NULL)
		goto fail;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto fail;
	d->name = "ssh-bruteforce";
	d->state = st;
	d->on_event = bf_on_event;
	d->free = bf_free;
	d->tracked = bf_tracked;
	return d;
fail:
	bf_free(st);
	free(d);
	return NULL;
}
