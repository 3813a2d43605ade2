/*
 * sigma_corr – Sigma correlation rules on the live stream.
 *
 * A correlation is fed the matches of the rules it references (by the set,
 * which resolves names and ids) and keeps per-group state on EVENT time
 * (ev->time_ms); the wall clock is never read. A group is the tuple of the
 * group-by values of the event (taken from the aliased field when the
 * correlation defines an alias for the matching rule). An event that lacks
 * one of the group-by fields is not counted – a SIEM's "stats ... by f"
 * drops such events too. Without group-by every match is in one group.
 *
 * Windows (span = timespan):
 *  - Sliding and inclusive: an event at time t shares a window with events
 *    in [t - span, t]; with timespan 2m, events exactly 120 000 ms apart are
 *    in one window, 120 001 ms apart are not.
 *  - The reference point is the newest event time seen for the group, so a
 *    late event never re-opens what was already pruned: entries older than
 *    newest - span are dropped, and a late event older than that is ignored.
 *    A late event inside the window is counted like any other.
 *
 * Conditions are a map of one or more of gt/gte/lt/lte/eq/neq, ANDed (the
 * spec allows a range "gt: 100, lte: 200"). Two evaluation modes:
 *  - live (only gt, gte): evaluated on every counted event. After firing the
 *    group is reset and events older than the last event time of the fired
 *    window are ignored, so a continuing flood fires again only after
 *    another full count, and late stragglers of a fired window cannot fire
 *    it a second time.
 *  - at close (any of lt, lte, eq, neq): such conditions are only meaningful
 *    for a finished window (an open window always holds "fewer than N" so
 *    far, and one on its way to more passes through "exactly N"). For the
 *    temporal types the count is of rules, at most nrefs: eq nrefs is gte
 *    nrefs (live), other eq, lt, lte and neq are refused.
 *    The group's window is tumbling: it opens at the group's first event and
 *    covers [start, start + span]; it is evaluated when the next event of
 *    the same group arrives after start + span, and that event opens the
 *    next window; or, when the group went quiet, by an event of another
 *    group after start + 2 * span (close_quiet), and the group is forgotten.
 *    Count, first/last time, samples, values, agent and host are those of
 *    the closed window. There is no timer: a window waits for the
 *    correlation's next event; events older than the open window are
 *    ignored.
 *    A closed window holds at least one event, so a condition that can only
 *    hold for 0 (lt: 1, lte: 0) is rejected at parse time.
 *
 * Per type (count = what the condition is compared with):
 *  - event_count: count = matching events. Live: a ring of event times
 *    sorted oldest first, growing on demand up to the threshold (rules with
 *    a threshold above 100 000 are rejected). At close: a counter.
 *  - value_count: count = distinct values of condition.field (exact bytes;
 *    a longer value than SIGMA_CORR_VALUE_MAX is kept cut, with a keyed
 *    hash of the whole, see value_cut; events without the field are not
 *    counted).
 *    A set of values with their last-seen time, capped at what the condition
 *    needs (threshold, or threshold + 1 at close); rules needing more than
 *    1024 are rejected. The alert's first time is the oldest of the sampled
 *    lines and of the values' last sightings (exact unless more than
 *    SIGMA_CORR_MAX_SAMPLES events of the window were seen before a value
 *    seen early was seen again).
 *  - temporal: count = distinct referenced rules matched in the window; the
 *    default condition (none given) is "all of them". Only live conditions.
 *    Kept: the latest time of each rule. With events out of order only the
 *    latest occurrence of each rule is considered.
 *  - temporal_ordered: the rules matched in the listed order (by event time,
 *    equal times allowed) by distinct events within the window (one event
 *    matching two of the rules is one step, whatever order its matches are
 *    fed in); the condition, if given, must ask for all rules. Kept per prefix of the list the partial sequence
 *    with the latest start; a later match of rule k extends the prefix
 *    k-1 only when it is not older than that prefix's last event. Exact for
 *    events in time order; with events out of order a sequence may be missed
 *    but one in the wrong order never fires. The alert's count is the
 *    number of rules.
 *
 * Bounds: at most max_groups groups (default 65536), least recently used
 * evicted first and counted (an evicted group's state is lost: a window
 * waiting to close is never evaluated); samples: the first SIGMA_CORR_MAX_SAMPLES raw
 * lines still in the window, cut to SIGMA_CORR_SAMPLE_MAX bytes (and at an
 * embedded NUL); values (group-by and counted) shown cut to
 * SIGMA_CORR_VALUE_MAX bytes, told apart whole (value_cut).
 *
 * Emit is called synchronously with borrowed data; a feed of the same
 * correlation from inside emit is ignored (the state is being reported).
 */
#include "sigma.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ms_map.h"
#include "sigma_internal.h"

#define CORR_MAX_REFS		64
#define CORR_MAX_GROUP_BY	16
#define CORR_MAX_TAGS		64
#define CORR_NAME_MAX		256	/* ids, names, fields, tags */
#define CORR_TITLE_MAX		1024
#define CORR_EVENT_MAX		100000	/* event_count threshold cap */
#define CORR_VALUES_MAX		1024	/* value_count set cap */
#define CORR_SPAN_MAX_MS	(INT64_C(366) * 86400000)
#define CORR_RING_MIN		8	/* also the ring slots kept inside the group */
#define CORR_VALUE_INLINE	40	/* shorter values are kept in the set's array */
#define CORR_VALS_INLINE	2	/* value set slots kept inside the group */
#define CORR_CUT_TAG		9	/* a cut value's NUL and hash (value_cut) */
#define CORR_CUT_LEN		(SIGMA_CORR_VALUE_MAX + CORR_CUT_TAG)

#define T_NONE INT64_MIN
#define ORD_SLOT	5	/* int64_t per rule of a temporal_ordered group (feed_ordered) */

enum corr_type { CORR_EVENT_COUNT, CORR_VALUE_COUNT, CORR_TEMPORAL, CORR_TEMPORAL_ORDERED };
enum corr_op { OP_GT, OP_GTE, OP_LT, OP_LTE, OP_EQ, OP_NEQ, OP_NUM };

static const char *const type_names[] = {
	"event_count", "value_count", "temporal", "temporal_ordered",
};
static const char *const op_names[OP_NUM] = { "gt", "gte", "lt", "lte", "eq", "neq" };

struct corr_cond {
	enum corr_op op;
	uint64_t n;
};

/*
 * A counted value; len + NUL bytes in inl when len < CORR_VALUE_INLINE,
 * else in heap (owned). Inline values let the set be searched without a
 * pointer chase per value (see value_str).
 */
struct corr_value {
	int64_t t;		/* last seen */
	size_t len;
	char *heap;
	char inl[CORR_VALUE_INLINE];
};

/*
 * Per-group state lives in the group map's records (ms_map_new_inline,
 * c->gsize bytes each, zeroed when created), laid out for a feed that
 * finds the group cold in the CPU caches: the entry, then struct
 * corr_group (what every live feed reads, one cache line), then tv[] (the
 * temporal times or the first ring slots, next line), then struct
 * corr_cold (sample lines and the at-close window, read when a sample is
 * added or dropped, when a window fires or closes).
 */
struct corr_cold {
	/*
	 * Samples: line i (NUL-terminated) at sbuf + soff[i], in the order
	 * added, back to back; sbuf is kept when samples leave (no allocation
	 * per sample once it is large enough) and freed with the group.
	 */
	int64_t st[SIGMA_CORR_MAX_SAMPLES];
	uint16_t soff[SIGMA_CORR_MAX_SAMPLES];
	uint16_t sused, scap;
	char *sbuf;
	int64_t start;		/* at close: window start, T_NONE when none open */
	int64_t wfirst, wlast;	/* at close: event times in the open window */
	uint64_t wserial;	/* at close: serial of the window's last event (wlast) */
	uint64_t count;		/* at close, event_count: events in the window */
};

/*
 * At close only, right after struct corr_cold: the agent and host of the
 * window's last event, for its alert – the event that decides the window
 * is another window's, often another group's.
 */
struct corr_whom {
	char agent[128];
	char host[256];
};

struct corr_group {
	int64_t newest;		/* live: newest counted event time, T_NONE */
	int64_t floor;		/* live: older events are ignored (a window fired) */
	int64_t smin;		/* oldest sample time, when nsamples > 0 */
	int64_t *ring;		/* event_count live: ring[(rhead + i) % rcap]; tv or owned */
	struct corr_value *vals;	/* value_count, owned */
	uint32_t rcap, rhead, rn;
	uint16_t nvals, valloc;	/* at most CORR_VALUES_MAX + 1 */
	uint16_t coldoff;	/* bytes from the group to its struct corr_cold */
	uint8_t nsamples;
	/*
	 * temporal: latest time per rule; ordered: ORD_SLOT per prefix;
	 * event_count live: the first CORR_RING_MIN ring slots; value_count:
	 * the first CORR_VALS_INLINE values.
	 */
	int64_t tv[];
};

_Static_assert(sizeof(struct corr_group) <= 64, "corr_group hot part exceeds a cache line");
_Static_assert(CORR_VALUES_MAX + 1 <= UINT16_MAX, "value set counts are 16 bits");
_Static_assert(SIGMA_CORR_MAX_SAMPLES <= UINT8_MAX, "sample count is 8 bits");
#define CORR_SBUF_MAX	(SIGMA_CORR_MAX_SAMPLES * (SIGMA_CORR_SAMPLE_MAX + 1))
_Static_assert(CORR_SBUF_MAX <= UINT16_MAX, "sample offsets are 16 bits");

struct sigma_corr {
	char *title, *id, *name, *level, *status;	/* owned, NULL = "" */
	char **tags;
	size_t ntags;
	enum corr_type type;
	char **refs;
	size_t nrefs;
	char **group;		/* group-by names */
	size_t ngroup;
	char **alias;		/* [gi * nrefs + ri]: field for rule ri, NULL = group name */
	char *field;		/* value_count */
	int64_t span_ms;
	struct corr_cond conds[OP_NUM];
	size_t nconds;
	bool at_close;		/* some lt/lte/neq: evaluated when a window closes */
	uint64_t need;		/* live: the count at which the conditions hold */
	size_t cap;		/* live ring / value set capacity */
	size_t ntv;		/* int64_t per group in tv[] reset to T_NONE */
	size_t ringinl;		/* ring slots inside the group (tv[]) */
	size_t valinl;		/* value set slots inside the group (tv[]) */
	size_t coldoff;		/* struct corr_cold after the group and its tv[] */
	size_t gsize;		/* bytes per group: corr_group, tv[], corr_cold */
	bool generate;

	/* Where things are written, for the set's messages (sigma_corr_where). */
	char *file;		/* owned, NULL when parsed without one */
	int *ref_line;		/* [ri] */
	int *group_line;	/* [gi * nrefs + ri]: the alias entry, else the group-by item */
	int field_line;		/* condition field */
	/*
	 * Aliases keyed by a rule's name or id that is not how rules: lists
	 * it: matched by sigma_corr_resolve_aliases once the set knows both.
	 */
	struct corr_pending {
		size_t gi;
		char *key, *field;	/* owned */
		int line;
	} *pend;
	size_t npend;

	size_t max_groups;
	/*
	 * What the groups hold outside the map (sample buffers, rings and
	 * value sets past the group's own slots, long values), kept exact
	 * at each allocation and free; with the map's records it is held
	 * under max_bytes by evicting as max_groups does (group_get).
	 */
	size_t heap, max_bytes;
	size_t room;		/* max_bytes less the map's records: what heap may reach (room_set) */
	struct ms_map *groups;	/* key -> struct corr_group (owned) */
	/*
	 * Correlations that count exactly these windows (sigma_corr_twin):
	 * never fed, they fire when this one does. Not owned.
	 */
	struct sigma_corr **twins;
	size_t ntwins;
	const struct sigma_corr *twin_of;	/* the one this is a twin of, NULL: none */
	uint64_t evicted;
	bool busy;		/* inside emit */
	uint64_t fire_serial;	/* at close: the fired window's last serial, for fire() */
	/* close_quiet's budget for the line being fed (a repeated line is fed N times) */
	uint64_t close_id;
	const char *close_line;
	int64_t close_t;
	int close_left;

	/* sigma_corr_bind: field ids in fm, gfid[gi * nrefs + ri] as alias[] */
	const struct sigma_fieldmap *fm;	/* NULL: unbound */
	uint32_t *gfid;
	uint32_t ffid;

	/* scratch for keys and alerts, sized at parse time */
	char *key;
	char vcut[CORR_CUT_LEN];	/* the counted value, when cut */
	uint8_t hkey[16];	/* value_cut's hash key, random */
	struct ms_str *gvals;
	const char **vptrs;
	const char *sptrs[SIGMA_CORR_MAX_SAMPLES];
};

/* --- small helpers --------------------------------------------------- */

/* Event times come from untrusted lines: saturate instead of overflowing. */
static int64_t
sub_sat(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

static char *
mem_dup(const char *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static void
strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- parsing --------------------------------------------------------- */

struct pctx {
	const char *file;
	char *err;
	size_t errsz;
};

/* Writes "file:line: reason" into the error buffer; returns -1. */
static int
perr(struct pctx *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct pctx *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errsz == 0)
		return -1;
	n = snprintf(p->err, p->errsz, "%s:%d: ", p->file ? p->file : "<rule>", line);
	if (n < 0 || (size_t)n >= p->errsz)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A printable excerpt of a scalar for error messages: rule files are
 * untrusted and the message ends up in logs, so control bytes are masked
 * and the length is capped.
 */
static const char *
show(const struct ms_yaml_node *n, char *buf, size_t sz)
{
	size_t i, len;

	if (n == NULL || n->type != MS_YAML_SCALAR || n->str == NULL)
		return n ? ms_yaml_type_name(n->type) : "?";
	len = n->len < sz - 4 ? n->len : sz - 4;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)n->str[i];
		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (len < n->len)
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* Copies a non-empty scalar of at most max bytes without NULs into *out. */
static int
scalar_dup(struct pctx *p, const struct ms_yaml_node *n, const char *what, size_t max,
    char **out)
{
	if (n->type != MS_YAML_SCALAR)
		return perr(p, n->line, "%s must be a string, not a %s", what,
		    ms_yaml_type_name(n->type));
	if (n->str == NULL || n->len == 0 || ms_yaml_is_null(n))
		return perr(p, n->line, "%s is empty", what);
	if (n->len > max)
		return perr(p, n->line, "%s is longer than %zu bytes", what, max);
	if (memchr(n->str, '\0', n->len) != NULL)
		return perr(p, n->line, "%s contains a NUL byte", what);
	if ((*out = mem_dup(n->str, n->len)) == NULL)
		return perr(p, n->line, "out of memory");
	return 0;
}

/* An optional scalar: absent or null leaves *out NULL. */
static int
opt_scalar(struct pctx *p, const struct ms_yaml_node *doc, const char *key, size_t max,
    char **out)
{
	const struct ms_yaml_node *n = ms_yaml_get(doc, key);

	if (n == NULL || ms_yaml_is_null(n))
		return 0;
	return scalar_dup(p, n, key, max, out);
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static int
parse_bool(struct pctx *p, const struct ms_yaml_node *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };

	if (n->type == MS_YAML_SCALAR && n->plain && n->str != NULL &&
	    strlen(n->str) == n->len) {
		if (in_list(n->str, yes, MS_ARRAY_LEN(yes))) {
			*out = true;
			return 0;
		}
		if (in_list(n->str, no, MS_ARRAY_LEN(no))) {
			*out = false;
			return 0;
		}
	}
	return perr(p, n->line, "%s must be true or false", what);
}

/*
 * Parses a list of strings (or, when single_ok, one string) into an owned
 * vector. With unique, duplicates are rejected: a rule listed twice would
 * count its matches twice, a group-by field twice is a typo.
 */
static int
parse_strv(struct pctx *p, const struct ms_yaml_node *n, const char *what, size_t maxn,
    bool single_ok, bool unique, char ***out, size_t *nout)
{
	char **v = NULL;
	size_t alloc = 0, i, j;
	char sb[64];

	if (n->type == MS_YAML_SCALAR && single_ok) {
		alloc = 1;
		if ((v = calloc(1, sizeof(*v))) == NULL)
			return perr(p, n->line, "out of memory");
		if (scalar_dup(p, n, what, CORR_NAME_MAX, &v[0]) < 0)
			goto fail;
		*out = v;
		*nout = 1;
		return 0;
	}
	if (n->type != MS_YAML_SEQ)
		return perr(p, n->line, "%s must be a list of strings%s, not a %s", what,
		    single_ok ? " or a string" : "", ms_yaml_type_name(n->type));
	if (n->n > maxn)
		return perr(p, n->line, "%s has more than %zu entries", what, maxn);
	alloc = n->n;
	if (alloc && (v = calloc(alloc, sizeof(*v))) == NULL)
		return perr(p, n->line, "out of memory");
	for (i = 0; i < alloc; i++) {
		const struct ms_yaml_node *it = n->items[i];

		if (it->type != MS_YAML_SCALAR) {
			perr(p, it->line, "%s must be a list of strings, found a %s", what,
			    ms_yaml_type_name(it->type));
			goto fail;
		}
		if (scalar_dup(p, it, what, CORR_NAME_MAX, &v[i]) < 0)
			goto fail;
		for (j = 0; unique && j < i; j++)
			if (strcmp(v[j], v[i]) == 0) {
				perr(p, it->line, "%s lists '%s' twice", what, show(it, sb, sizeof(sb)));
				goto fail;
			}
	}
	*out = v;
	*nout = alloc;
	return 0;
fail:
	strv_free(v, alloc);
	return -1;
}

/* "<digits><s|m|h|d>" into milliseconds, 1 ms .. CORR_SPAN_MAX_MS. */
static int
parse_timespan(struct pctx *p, const struct ms_yaml_node *n, int64_t *out)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 },
	};
	char num[24], sb[64];
	int64_t v;
	size_t len;

	if (n->type != MS_YAML_SCALAR || n->str == NULL || n->len < 2 ||
	    n->len > sizeof(num) || strlen(n->str) != n->len)
		goto bad;
	len = n->len - 1;
	for (size_t i = 0; i < len; i++)
		if (n->str[i] < '0' || n->str[i] > '9')
			goto bad;
	memcpy(num, n->str, len);
	num[len] = '\0';
	for (size_t u = 0; u < MS_ARRAY_LEN(units); u++) {
		if (n->str[len] != units[u].unit)
			continue;
		if (ms_parse_i64(num, 1, CORR_SPAN_MAX_MS / units[u].ms, &v) < 0)
			return perr(p, n->line, "timespan '%s' out of range (1s .. 366d)",
			    show(n, sb, sizeof(sb)));
		*out = v * units[u].ms;
		return 0;
	}
bad:
	return perr(p, n->line, "bad timespan '%s' (expected a number and s, m, h or d: 2m)",
	    show(n, sb, sizeof(sb)));
}

static bool
cond_holds(const struct sigma_corr *c, uint64_t count)
{
	for (size_t i = 0; i < c->nconds; i++) {
		uint64_t n = c->conds[i].n;
		bool ok = false;

		switch (c->conds[i].op) {
		case OP_GT: ok = count > n; break;
		case OP_GTE: ok = count >= n; break;
		case OP_LT: ok = count < n; break;
		case OP_LTE: ok = count <= n; break;
		case OP_EQ: ok = count == n; break;
		case OP_NEQ: ok = count != n; break;
		case OP_NUM: break;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* Reads condition: into c->conds and c->field; type checks come later. */
static int
parse_condition(struct pctx *p, struct sigma_corr *c, const struct ms_yaml_node *n)
{
	char sb[64];

	if (n->type != MS_YAML_MAP)
		return perr(p, n->line, "condition must be a map such as {gte: 8}, not a %s",
		    ms_yaml_type_name(n->type));
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->pairs[i].key;
		const struct ms_yaml_node *v = n->pairs[i].value;
		int64_t num;
		size_t op;

		if (strcmp(k, "field") == 0) {
			if (scalar_dup(p, v, "condition field", CORR_NAME_MAX, &c->field) < 0)
				return -1;
			c->field_line = v->line;
			continue;
		}
		for (op = 0; op < OP_NUM; op++)
			if (strcmp(k, op_names[op]) == 0)
				break;
		if (op == OP_NUM)
			return perr(p, v->line, "condition not understood: '%.32s' is not one of "
			    "gt, gte, lt, lte, eq, neq, field", k);
		if (v->type != MS_YAML_SCALAR || v->str == NULL || strlen(v->str) != v->len ||
		    ms_parse_i64(v->str, 0, INT64_MAX, &num) < 0)
			return perr(p, v->line, "condition not understood: %s needs a "
			    "non-negative integer, not '%s'", k, show(v, sb, sizeof(sb)));
		if (c->nconds >= OP_NUM)	/* cannot happen: map keys are unique */
			return perr(p, v->line, "condition not understood: too many bounds");
		c->conds[c->nconds].op = (enum corr_op)op;
		c->conds[c->nconds].n = (uint64_t)num;
		c->nconds++;
	}
	if (c->nconds == 0)
		return perr(p, n->line, "condition not understood: no gt, gte, lt, lte, eq or neq");
	return 0;
}

/*
 * Decides the evaluation mode and the bounds from the condition, per type;
 * line is where to point errors.
 */
static int
check_condition(struct pctx *p, struct sigma_corr *c, int line)
{
	uint64_t need = 1, maxn = 0;
	bool temporal = c->type == CORR_TEMPORAL || c->type == CORR_TEMPORAL_ORDERED;

	if (c->field != NULL && c->type != CORR_VALUE_COUNT)
		return perr(p, line, "condition field is only for value_count");
	if (c->field == NULL && c->type == CORR_VALUE_COUNT)
		return perr(p, line, "value_count needs condition field (the field whose "
		    "distinct values are counted)");
	if (c->nconds == 0) {
		/* temporal without condition: all rules (spec). */
		c->conds[0].op = OP_GTE;
		c->conds[0].n = c->nrefs;
		c->nconds = 1;
	}
	for (size_t i = 0; i < c->nconds; i++) {
		enum corr_op op = c->conds[i].op;
		uint64_t n = c->conds[i].n;

		if (temporal && op == OP_EQ) {
			/* At most nrefs rules can match: eq nrefs is gte nrefs. */
			if (n != c->nrefs)
				return perr(p, line, "eq %llu is not supported for %s: only eq %zu "
				    "(all rules), gt and gte", (unsigned long long)n,
				    type_names[c->type], c->nrefs);
			c->conds[i].op = op = OP_GTE;
		}
		/*
		 * An exact count ("eq") is a statement about a whole window
		 * (the spec: "the count must be equal"): a sliding window on
		 * its way to more events passes through N, so eq is decided
		 * when the window closes, like lt/lte/neq.
		 */
		if (op == OP_LT || op == OP_LTE || op == OP_NEQ || op == OP_EQ)
			c->at_close = true;
		if (n > maxn)
			maxn = n;
		if (op == OP_GT && n + 1 > need)
			need = n + 1;
		if ((op == OP_GTE || op == OP_EQ) && n > need)
			need = n;
	}
	if (c->type == CORR_EVENT_COUNT && maxn > CORR_EVENT_MAX)
		return perr(p, line, "event_count threshold %llu is above %d",
		    (unsigned long long)maxn, CORR_EVENT_MAX);
	if (temporal && c->at_close)
		return perr(p, line, "lt, lte and neq are not supported for %s: only gt, gte "
		    "and eq (all rules) on the number of rules matched", type_names[c->type]);
	if (c->at_close) {
		/*
		 * A closed window holds >= 1 event; the set of counts meeting
		 * all bounds is a union of intervals whose ends lie next to the
		 * thresholds, so testing those points is enough.
		 */
		bool ok = cond_holds(c, 1);

		for (size_t i = 0; i < c->nconds && !ok; i++) {
			uint64_t n = c->conds[i].n;
			ok = (n > 1 && cond_holds(c, n - 1)) || (n >= 1 && cond_holds(c, n)) ||
			    cond_holds(c, n + 1);
		}
		if (!ok)
			return perr(p, line, "condition can never hold (a closed window holds "
			    "at least one event)");
		if (c->type == CORR_VALUE_COUNT) {
			if (maxn + 1 > CORR_VALUES_MAX)
				return perr(p, line, "value_count threshold %llu is above %d",
				    (unsigned long long)maxn, CORR_VALUES_MAX - 1);
			c->cap = (size_t)maxn + 1;
		}
		return 0;
	}
	if (!cond_holds(c, need))
		return perr(p, line, "condition can never hold");
	c->need = need;
	switch (c->type) {
	case CORR_EVENT_COUNT:
		c->cap = (size_t)need;
		break;
	case CORR_VALUE_COUNT:
		if (need > CORR_VALUES_MAX)
			return perr(p, line, "value_count threshold %llu is above %d",
			    (unsigned long long)need, CORR_VALUES_MAX);
		c->cap = (size_t)need;
		break;
	case CORR_TEMPORAL:
		if (need > c->nrefs)
			return perr(p, line, "condition asks for %llu rules but only %zu are "
			    "listed", (unsigned long long)need, c->nrefs);
		break;
	case CORR_TEMPORAL_ORDERED:
		if (need != c->nrefs || c->nconds != 1)
			return perr(p, line, "temporal_ordered matches all %zu rules in order: "
			    "its condition can only be gte: %zu", c->nrefs, c->nrefs);
		break;
	}
	return 0;
}

static void
pend_free(struct sigma_corr *c)
{
	for (size_t i = 0; i < c->npend; i++) {
		free(c->pend[i].key);
		free(c->pend[i].field);
	}
	free(c->pend);
	c->pend = NULL;
	c->npend = 0;
}

static int
parse_aliases(struct pctx *p, struct sigma_corr *c, const struct ms_yaml_node *n)
{
	if (n->type != MS_YAML_MAP)
		return perr(p, n->line, "aliases must be a map of alias -> {rule: field}");
	for (size_t i = 0; i < n->n; i++) {
		const char *alias = n->pairs[i].key;
		const struct ms_yaml_node *m = n->pairs[i].value;
		size_t gi, ri;

		for (gi = 0; gi < c->ngroup; gi++)
			if (strcmp(c->group[gi], alias) == 0)
				break;
		if (gi == c->ngroup)
			return perr(p, m->line, "alias '%.64s' is not used in group-by", alias);
		if (m->type != MS_YAML_MAP)
			return perr(p, m->line, "alias '%.64s' must map rule names to field names",
			    alias);
		for (size_t j = 0; j < m->n; j++) {
			const char *rule = m->pairs[j].key;
			const struct ms_yaml_node *fv = m->pairs[j].value;
			struct corr_pending *np;
			char *field = NULL;

			if (scalar_dup(p, fv, "alias field", CORR_NAME_MAX, &field) < 0)
				return -1;
			for (ri = 0; ri < c->nrefs; ri++)
				if (strcmp(c->refs[ri], rule) == 0)
					break;
			if (ri < c->nrefs) {
				c->alias[gi * c->nrefs + ri] = field;
				c->group_line[gi * c->nrefs + ri] = fv->line;
				continue;
			}
			/*
			 * The spec keys aliases by rule name; rules: may list the
			 * same rule by id. Only the set can tell: kept for later.
			 */
			np = realloc(c->pend, (c->npend + 1) * sizeof(*np));
			if (np == NULL || (np[c->npend].key = strdup(rule)) == NULL) {
				if (np != NULL)
					c->pend = np;
				free(field);
				return perr(p, fv->line, "out of memory");
			}
			c->pend = np;
			np[c->npend].gi = gi;
			np[c->npend].field = field;
			np[c->npend].line = fv->line;
			c->npend++;
		}
	}
	return 0;
}

/* "file:line" of the rule's text; see sigma.h. */
static int
corr_where_err(const struct sigma_corr *c, int line, char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
corr_where_err(const struct sigma_corr *c, int line, char *err, size_t errsz, const char *fmt, ...)
{
	struct pctx p = { c->file, err, errsz };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return perr(&p, line, "%s", msg);
}

int
sigma_corr_resolve_aliases(struct sigma_corr *c, const char *const *names,
    const char *const *ids, char *err, size_t errsz)
{
	int rc = 0;

	for (size_t i = 0; i < c->npend && rc == 0; i++) {
		struct corr_pending *pd = &c->pend[i];
		size_t ri;

		for (ri = 0; ri < c->nrefs; ri++)
			if ((names && names[ri] && strcmp(names[ri], pd->key) == 0) ||
			    (ids && ids[ri] && strcmp(ids[ri], pd->key) == 0))
				break;
		if (ri == c->nrefs)
			rc = corr_where_err(c, pd->line, err, errsz, "alias '%.64s': '%.64s' is "
			    "not one of the correlation's rules", c->group[pd->gi], pd->key);
		else if (c->alias[pd->gi * c->nrefs + ri] != NULL)
			rc = corr_where_err(c, pd->line, err, errsz, "alias '%.64s': rule '%.64s' "
			    "is given twice (by name and by id)", c->group[pd->gi], pd->key);
		else {
			c->alias[pd->gi * c->nrefs + ri] = pd->field;
			c->group_line[pd->gi * c->nrefs + ri] = pd->line;
			pd->field = NULL;
		}
	}
	pend_free(c);
	return rc;
}

static int
parse_meta(struct pctx *p, struct sigma_corr *c, const struct ms_yaml_node *doc)
{
	static const char *const levels[] = {
		"informational", "low", "medium", "high", "critical",
	};
	static const char *const statuses[] = {
		"stable", "test", "experimental", "deprecated", "unsupported",
	};
	const struct ms_yaml_node *n;

	if ((n = ms_yaml_get(doc, "title")) == NULL || ms_yaml_is_null(n))
		return perr(p, doc->line, "missing title");
	if (scalar_dup(p, n, "title", CORR_TITLE_MAX, &c->title) < 0 ||
	    opt_scalar(p, doc, "id", CORR_NAME_MAX, &c->id) < 0 ||
	    opt_scalar(p, doc, "name", CORR_NAME_MAX, &c->name) < 0 ||
	    opt_scalar(p, doc, "level", CORR_NAME_MAX, &c->level) < 0 ||
	    opt_scalar(p, doc, "status", CORR_NAME_MAX, &c->status) < 0)
		return -1;
	if (c->level && !in_list(c->level, levels, MS_ARRAY_LEN(levels)))
		return perr(p, ms_yaml_get(doc, "level")->line, "unknown level '%.32s' "
		    "(informational, low, medium, high, critical)", c->level);
	if (c->status && !in_list(c->status, statuses, MS_ARRAY_LEN(statuses)))
		return perr(p, ms_yaml_get(doc, "status")->line, "unknown status '%.32s'",
		    c->status);
	if ((n = ms_yaml_get(doc, "tags")) != NULL && !ms_yaml_is_null(n) &&
	    parse_strv(p, n, "tags", CORR_MAX_TAGS, false, false, &c->tags, &c->ntags) < 0)
		return -1;
	return 0;
}

/* Scratch buffers and the group map, once the shape is known. */
static int
corr_alloc_state(struct pctx *p, struct sigma_corr *c, int line)
{
	c->max_groups = SIGMA_CORR_DEFAULT_MAX_GROUPS;
	c->max_bytes = c->room = SIZE_MAX;
	if (c->type == CORR_TEMPORAL)
		c->ntv = 2 * c->nrefs;	/* times, then the serials that set them */
	else if (c->type == CORR_TEMPORAL_ORDERED)
		c->ntv = ORD_SLOT * c->nrefs;
	if (c->type == CORR_EVENT_COUNT && !c->at_close)
		c->ringinl = c->cap < CORR_RING_MIN ? c->cap : CORR_RING_MIN;
	if (c->type == CORR_VALUE_COUNT)
		c->valinl = c->cap < CORR_VALS_INLINE ? c->cap : CORR_VALS_INLINE;
	c->coldoff = sizeof(struct corr_group) +
	    (c->ntv > c->ringinl ? c->ntv : c->ringinl) * sizeof(int64_t) +
	    c->valinl * sizeof(struct corr_value);
	c->gsize = c->coldoff + sizeof(struct corr_cold);
	if (c->at_close)
		c->gsize += sizeof(struct corr_whom);
	if ((c->key = malloc(c->ngroup * (2 + CORR_CUT_LEN) + 1)) == NULL ||
	    (c->ngroup && (c->gvals = calloc(c->ngroup, sizeof(*c->gvals))) == NULL) ||
	    (c->cap && c->type == CORR_VALUE_COUNT &&
	     (c->vptrs = calloc(c->cap, sizeof(*c->vptrs))) == NULL))
		return perr(p, line, "out of memory");
	for (size_t got = 0; got < sizeof(c->hkey);) {
		ssize_t n = getrandom(c->hkey + got, sizeof(c->hkey) - got, 0);

		if (n < 0 && errno != EINTR)
			return perr(p, line, "cannot read random bytes: %s", strerror(errno));
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

static void group_clear_cb(void *v);

/* After the count of groups or max_bytes changed: the heap's room (corr_over). */
static void
room_set(struct sigma_corr *c)
{
	size_t rec = c->groups ? ms_map_count(c->groups) * c->gsize : 0;

	c->room = c->max_bytes > rec ? c->max_bytes - rec : 0;
}

static struct ms_map *
corr_groups_new(const struct sigma_corr *c)
{
	return ms_map_new_inline(c->gsize, group_clear_cb);
}

/*
 * Parses a correlation document; see sigma.h. Returns an owned correlation
 * or NULL with "file:line: reason" in err.
 */
struct sigma_corr *
sigma_corr_parse(const struct ms_yaml_node *doc, const char *file, char *err, size_t errsz)
{
	struct pctx p = { file, err, errsz };
	struct sigma_corr *c = NULL;
	const struct ms_yaml_node *corr, *type = NULL, *rules = NULL, *group = NULL;
	const struct ms_yaml_node *span = NULL, *cond = NULL, *aliases = NULL, *gen = NULL;
	char sb[64];
	size_t t;

	if (err && errsz)
		err[0] = '\0';
	if (doc == NULL) {
		perr(&p, 0, "empty document");
		return NULL;
	}
	if (doc->type != MS_YAML_MAP) {
		perr(&p, doc->line, "a correlation rule must be a map, not a %s",
		    ms_yaml_type_name(doc->type));
		return NULL;
	}
	if ((corr = ms_yaml_get(doc, "correlation")) == NULL) {
		perr(&p, doc->line, "no correlation section");
		return NULL;
	}
	if (corr->type != MS_YAML_MAP) {
		perr(&p, corr->line, "correlation must be a map, not a %s",
		    ms_yaml_type_name(corr->type));
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		perr(&p, doc->line, "out of memory");
		return NULL;
	}
	if (parse_meta(&p, c, doc) < 0)
		goto fail;

	/* Unknown keys are refused: a misspelt "timespan" must not go unnoticed. */
	for (size_t i = 0; i < corr->n; i++) {
		const char *k = corr->pairs[i].key;
		const struct ms_yaml_node *v = corr->pairs[i].value;

		if (strcmp(k, "type") == 0)
			type = v;
		else if (strcmp(k, "rules") == 0)
			rules = v;
		else if (strcmp(k, "group-by") == 0)
			group = v;
		else if (strcmp(k, "timespan") == 0)
			span = v;
		else if (strcmp(k, "condition") == 0)
			cond = v;
		else if (strcmp(k, "aliases") == 0)
			aliases = v;
		else if (strcmp(k, "generate") == 0)
			gen = v;
		else {
			perr(&p, v->line, "unknown key '%.64s' in correlation", k);
			goto fail;
		}
	}
	if (type == NULL) {
		perr(&p, corr->line, "correlation has no type");
		goto fail;
	}
	for (t = 0; t < MS_ARRAY_LEN(type_names); t++)
		if (type->type == MS_YAML_SCALAR && type->str != NULL &&
		    strlen(type->str) == type->len && strcmp(type->str, type_names[t]) == 0)
			break;
	if (t == MS_ARRAY_LEN(type_names)) {
		perr(&p, type->line, "unknown correlation type '%s' (event_count, value_count, "
		    "temporal, temporal_ordered)", show(type, sb, sizeof(sb)));
		goto fail;
	}
	c->type = (enum corr_type)t;
	if (rules == NULL) {
		perr(&p, corr->line, "correlation has no rules");
		goto fail;
	}
	if (parse_strv(&p, rules, "rules", CORR_MAX_REFS, true, true, &c->refs, &c->nrefs) < 0)
		goto fail;
	if (c->nrefs == 0) {
		perr(&p, rules->line, "rules is empty");
		goto fail;
	}
	if ((file != NULL && (c->file = strdup(file)) == NULL) ||
	    (c->ref_line = calloc(c->nrefs, sizeof(*c->ref_line))) == NULL) {
		perr(&p, rules->line, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < c->nrefs; i++)
		c->ref_line[i] = rules->type == MS_YAML_SEQ ? rules->items[i]->line : rules->line;
	if ((c->type == CORR_TEMPORAL || c->type == CORR_TEMPORAL_ORDERED) && c->nrefs < 2) {
		perr(&p, rules->line, "%s needs at least two rules", type_names[c->type]);
		goto fail;
	}
	if (group != NULL && !ms_yaml_is_null(group) &&
	    parse_strv(&p, group, "group-by", CORR_MAX_GROUP_BY, false, true, &c->group,
	    &c->ngroup) < 0)
		goto fail;
	if (span == NULL) {
		perr(&p, corr->line, "correlation has no timespan");
		goto fail;
	}
	if (parse_timespan(&p, span, &c->span_ms) < 0)
		goto fail;
	if (cond == NULL && (c->type == CORR_EVENT_COUNT || c->type == CORR_VALUE_COUNT)) {
		perr(&p, corr->line, "%s needs a condition", type_names[c->type]);
		goto fail;
	}
	if (cond != NULL && parse_condition(&p, c, cond) < 0)
		goto fail;
	if (check_condition(&p, c, cond ? cond->line : corr->line) < 0)
		goto fail;
	if (c->ngroup && ((c->alias = calloc(c->ngroup * c->nrefs, sizeof(*c->alias))) == NULL ||
	    (c->group_line = calloc(c->ngroup * c->nrefs, sizeof(*c->group_line))) == NULL)) {
		perr(&p, corr->line, "out of memory");
		goto fail;
	}
	for (size_t gi = 0; gi < c->ngroup; gi++)
		for (size_t ri = 0; ri < c->nrefs; ri++)
			c->group_line[gi * c->nrefs + ri] = group->items[gi]->line;
	if (aliases != NULL && !ms_yaml_is_null(aliases) && parse_aliases(&p, c, aliases) < 0)
		goto fail;
	/* The spec puts generate beside correlation, examples put it inside. */
	if (gen == NULL)
		gen = ms_yaml_get(doc, "generate");
	else if (ms_yaml_get(doc, "generate") != NULL) {
		perr(&p, gen->line, "generate given twice");
		goto fail;
	}
	if (gen != NULL && parse_bool(&p, gen, "generate", &c->generate) < 0)
		goto fail;
	if (corr_alloc_state(&p, c, corr->line) < 0)
		goto fail;
	if ((c->groups = corr_groups_new(c)) == NULL) {
		perr(&p, corr->line, "cannot create the group table");
		goto fail;
	}
	return c;
fail:
	sigma_corr_free(c);
	return NULL;
}

int
sigma_corr_reset(struct sigma_corr *c)
{
	struct ms_map *fresh;

	if (c->busy || (fresh = corr_groups_new(c)) == NULL)
		return -1;
	ms_map_free(c->groups);
	c->groups = fresh;
	c->heap = 0;
	room_set(c);
	c->evicted = 0;
	c->close_line = NULL;
	c->close_id = 0;
	return 0;
}

/* Frees c and every group it holds; NULL is a no-op. */
void
sigma_corr_free(struct sigma_corr *c)
{
	if (c == NULL)
		return;
	ms_map_free(c->groups);
	free(c->title);
	free(c->id);
	free(c->name);
	free(c->level);
	free(c->status);
	strv_free(c->tags, c->ntags);
	strv_free(c->alias, c->ngroup * c->nrefs);
	strv_free(c->refs, c->nrefs);
	strv_free(c->group, c->ngroup);
	free(c->field);
	free(c->file);
	free(c->ref_line);
	free(c->group_line);
	pend_free(c);
	free(c->key);
	free(c->gfid);
	free(c->gvals);
	free(c->vptrs);
	free(c->twins);
	free(c);
}

static bool
str_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

bool
sigma_corr_same(const struct sigma_corr *a, const struct sigma_corr *b)
{
	if (a == NULL || b == NULL || a == b || a->type != b->type || a->at_close ||
	    b->at_close || a->nrefs != b->nrefs || a->ngroup != b->ngroup ||
	    a->span_ms != b->span_ms || a->nconds != b->nconds || a->need != b->need ||
	    a->cap != b->cap || a->max_groups != b->max_groups || !str_same(a->field, b->field))
		return false;
	for (size_t i = 0; i < a->nconds; i++)
		if (a->conds[i].op != b->conds[i].op || a->conds[i].n != b->conds[i].n)
			return false;
	for (size_t gi = 0; gi < a->ngroup; gi++) {
		if (!str_same(a->group[gi], b->group[gi]))
			return false;
		for (size_t ri = 0; ri < a->nrefs; ri++)
			if (!str_same(a->alias[gi * a->nrefs + ri], b->alias[gi * b->nrefs + ri]))
				return false;
	}
	return true;
}

int
sigma_corr_twin(struct sigma_corr *a, struct sigma_corr *b)
{
	struct sigma_corr **t;

	if (a == NULL || b == NULL || !sigma_corr_same(a, b))
		return -1;
	if ((t = realloc(a->twins, (a->ntwins + 1) * sizeof(*t))) == NULL)
		return -1;
	a->twins = t;
	a->twins[a->ntwins++] = b;
	b->twin_of = a;
	return 0;
}

/* --- accessors ------------------------------------------------------- */

size_t
sigma_corr_nrefs(const struct sigma_corr *c)
{
	return c ? c->nrefs : 0;
}

/* The i-th referenced rule name or id (owned by c), NULL when out of range. */
const char *
sigma_corr_ref(const struct sigma_corr *c, size_t i)
{
	return c && i < c->nrefs ? c->refs[i] : NULL;
}

bool
sigma_corr_generate(const struct sigma_corr *c)
{
	return c ? c->generate : false;
}

const char *
sigma_corr_id(const struct sigma_corr *c)
{
	return c ? or_empty(c->id) : "";
}

const char *
sigma_corr_name(const struct sigma_corr *c)
{
	return c ? or_empty(c->name) : "";
}

const char *
sigma_corr_title(const struct sigma_corr *c)
{
	return c ? or_empty(c->title) : "";
}

const char *
sigma_corr_level(const struct sigma_corr *c)
{
	return c ? or_empty(c->level) : "";
}

const char *
sigma_corr_status(const struct sigma_corr *c)
{
	return c ? or_empty(c->status) : "";
}

size_t
sigma_corr_ntags(const struct sigma_corr *c)
{
	return c ? c->ntags : 0;
}

/* The i-th tag (owned by c), NULL when out of range. */
const char *
sigma_corr_tag(const struct sigma_corr *c, size_t i)
{
	return c && i < c->ntags ? c->tags[i] : NULL;
}

const char *
sigma_corr_type(const struct sigma_corr *c)
{
	return c ? type_names[c->type] : "";
}

int64_t
sigma_corr_timespan_ms(const struct sigma_corr *c)
{
	return c ? c->span_ms : 0;
}

const char *
sigma_corr_file(const struct sigma_corr *c)
{
	return c ? or_empty(c->file) : "";
}

int
sigma_corr_ref_line(const struct sigma_corr *c, size_t i)
{
	return c && i < c->nrefs ? c->ref_line[i] : 0;
}

size_t
sigma_corr_ngroup(const struct sigma_corr *c)
{
	return c ? c->ngroup : 0;
}

const char *
sigma_corr_group(const struct sigma_corr *c, size_t gi)
{
	return c && gi < c->ngroup ? c->group[gi] : NULL;
}

const char *
sigma_corr_group_field(const struct sigma_corr *c, size_t gi, size_t ri)
{
	if (c == NULL || gi >= c->ngroup || ri >= c->nrefs)
		return NULL;
	return c->alias[gi * c->nrefs + ri] ? c->alias[gi * c->nrefs + ri] : c->group[gi];
}

int
sigma_corr_group_line(const struct sigma_corr *c, size_t gi, size_t ri)
{
	return c && gi < c->ngroup && ri < c->nrefs ? c->group_line[gi * c->nrefs + ri] : 0;
}

const char *
sigma_corr_value_field(const struct sigma_corr *c)
{
	return c ? c->field : NULL;
}

int
sigma_corr_value_field_line(const struct sigma_corr *c)
{
	return c ? c->field_line : 0;
}

bool
sigma_corr_at_close(const struct sigma_corr *c)
{
	return c ? c->at_close : false;
}

size_t
sigma_corr_min_refs(const struct sigma_corr *c)
{
	if (c == NULL)
		return 0;
	switch (c->type) {
	case CORR_TEMPORAL:
		return c->need;
	case CORR_TEMPORAL_ORDERED:
		return c->nrefs;
	default:
		return 1;
	}
}

size_t
sigma_corr_groups(const struct sigma_corr *c)
{
	return c && c->groups ? ms_map_count(c->groups) : 0;
}

uint64_t
sigma_corr_evicted(const struct sigma_corr *c)
{
	/* A twin loses exactly the windows the one it fires with loses. */
	if (c != NULL && c->twin_of != NULL)
		c = c->twin_of;
	return c ? c->evicted : 0;
}

/* A cap of 0 is taken as 1; a lower cap takes effect as new groups come. */
void
sigma_corr_set_max_groups(struct sigma_corr *c, size_t max)
{
	if (c != NULL)
		c->max_groups = max ? max : 1;
}

/* 0: no bound but max_groups; a lower one takes effect as new groups come. */
void
sigma_corr_set_max_bytes(struct sigma_corr *c, size_t max)
{
	if (c != NULL) {
		c->max_bytes = max ? max : SIZE_MAX;
		room_set(c);
	}
}

size_t
sigma_corr_bytes(const struct sigma_corr *c)
{
	return c && c->groups ? c->heap + ms_map_count(c->groups) * c->gsize : 0;
}

/* What g holds outside the map, from its fields (sigma_corr_bytes_counted). */
static size_t
group_heap(const struct corr_group *g)
{
	const struct corr_cold *cg = (const struct corr_cold *)((const char *)g + g->coldoff);
	size_t n = cg->scap;

	for (size_t i = 0; i < g->nvals; i++)
		if (g->vals[i].len >= CORR_VALUE_INLINE)
			n += (size_t)g->vals[i].len + 1;
	if (g->vals != NULL && g->vals != (const struct corr_value *)g->tv)
		n += (size_t)g->valloc * sizeof(*g->vals);
	if (g->ring != NULL && g->ring != g->tv)
		n += (size_t)g->rcap * sizeof(*g->ring);
	return n;
}

size_t
sigma_corr_bytes_counted(const struct sigma_corr *c)
{
	struct ms_map_iter it;
	const struct corr_group *g;
	size_t n = 0;

	if (c == NULL || c->groups == NULL)
		return 0;
	ms_map_iter_init(&it);
	while ((g = ms_map_next(c->groups, &it, NULL, NULL)) != NULL)
		n += group_heap(g) + c->gsize;
	return n;
}

/* Are the groups at their bytes (group_get evicts until they are not)? */
static inline bool
corr_over(const struct sigma_corr *c)
{
	/* One compare on every feed: room follows the count (room_set). */
	return c->heap >= c->room;
}

/* ... or at their count? */
static inline bool
corr_full(const struct sigma_corr *c)
{
	return ms_map_count(c->groups) >= c->max_groups || corr_over(c);
}

/* --- groups ---------------------------------------------------------- */

static struct corr_cold *
group_cold(struct corr_group *g)
{
	return (struct corr_cold *)((char *)g + g->coldoff);
}

/* At close only: see struct corr_whom. */
static struct corr_whom *
group_whom(struct corr_group *g)
{
	return (struct corr_whom *)((char *)group_cold(g) + sizeof(struct corr_cold));
}

/* Forgets the samples (their buffer stays for the next ones). */
static void
samples_clear(struct corr_group *g)
{
	if (g->nsamples == 0)
		return;
	group_cold(g)->sused = 0;
	g->nsamples = 0;
}

static const char *
value_str(const struct corr_value *v)
{
	return v->len < CORR_VALUE_INLINE ? v->inl : v->heap;
}

static void
values_clear(struct sigma_corr *c, struct corr_group *g)
{
	for (size_t i = 0; i < g->nvals; i++)
		if (g->vals[i].len >= CORR_VALUE_INLINE) {
			free(g->vals[i].heap);
			c->heap -= (size_t)g->vals[i].len + 1;
		}
	g->nvals = 0;
}

/* Releases what a group owns; the group itself is the map's storage. */
static void
group_clear_cb(void *v)
{
	struct corr_group *g = v;

	if (g == NULL)
		return;
	free(group_cold(g)->sbuf);
	for (size_t i = 0; i < g->nvals; i++)
		if (g->vals[i].len >= CORR_VALUE_INLINE)
			free(g->vals[i].heap);
	if (g->vals != (struct corr_value *)g->tv)
		free(g->vals);
	if (g->ring != g->tv)
		free(g->ring);
}

/*
 * Before the map drops g (evicted): what it holds is freed here and taken
 * off c->heap (the map's callback, group_clear_cb, has no c).
 */
static void
group_release(struct sigma_corr *c, struct corr_group *g)
{
	struct corr_cold *cg = group_cold(g);

	free(cg->sbuf);
	c->heap -= cg->scap;
	cg->sbuf = NULL;
	cg->scap = cg->sused = 0;
	g->nsamples = 0;
	values_clear(c, g);
	if (g->vals != NULL && g->vals != (struct corr_value *)g->tv) {
		free(g->vals);
		c->heap -= (size_t)g->valloc * sizeof(*g->vals);
	}
	g->vals = NULL;
	g->valloc = 0;
	if (g->ring != NULL && g->ring != g->tv) {
		free(g->ring);
		c->heap -= (size_t)g->rcap * sizeof(*g->ring);
	}
	g->ring = NULL;
	g->rcap = g->rn = 0;
}

/* A fresh group (zeroed by the map) gets its "nothing seen" times. */
static void
group_init(const struct sigma_corr *c, struct corr_group *g)
{
	g->coldoff = (uint16_t)c->coldoff;
	g->newest = g->floor = group_cold(g)->start = T_NONE;
	for (size_t i = 0; i < c->ntv; i++)
		g->tv[i] = T_NONE;
}

/* After firing (or when a closed window is done): forget the window. */
static void
group_reset(struct sigma_corr *c, struct corr_group *g)
{
	samples_clear(g);
	values_clear(c, g);
	g->rn = g->rhead = 0;
	if (c->at_close) {
		group_cold(g)->count = 0;
		group_cold(g)->start = T_NONE;
	}
	for (size_t i = 0; i < c->ntv; i++)
		g->tv[i] = T_NONE;
	g->floor = g->newest;
}

/* Field value of ev: by id through fm when c is bound to it, else by name. */
static const struct ms_str *
corr_field(struct sigma_fieldmap *fm, const struct sigma_event *ev, uint32_t id, const char *name)
{
	if (fm != NULL)
		return sigma_fieldmap_get(fm, ev->d, id);
	return decode_field_get(ev->d, name);
}

/*
 * A group-by or counted value as kept: itself up to SIGMA_CORR_VALUE_MAX
 * bytes; a longer one as its first SIGMA_CORR_VALUE_MAX bytes, a NUL and
 * 8 bytes of SipHash of the whole under c's random key (written to buf,
 * CORR_CUT_LEN bytes). Values that differ anywhere stay distinct: cut
 * alone, a scanner padding its paths with 256 bytes of "/./" was one
 * distinct path however many it tried, and two long group-by values one
 * group. The NUL ends what an alert shows of it; no value of at most
 * SIGMA_CORR_VALUE_MAX bytes has this length.
 */
static struct ms_str
value_cut(const struct sigma_corr *c, const struct ms_str *v, char *buf)
{
	uint64_t h;

	if (v->p == NULL)
		return ms_str_make("", 0);
	if (v->len <= SIGMA_CORR_VALUE_MAX)
		return *v;
	h = ms_siphash24(c->hkey, v->p, v->len);
	memcpy(buf, v->p, SIGMA_CORR_VALUE_MAX);
	buf[SIGMA_CORR_VALUE_MAX] = '\0';
	memcpy(buf + SIGMA_CORR_VALUE_MAX + 1, &h, sizeof(h));
	return ms_str_make(buf, CORR_CUT_LEN);
}

/*
 * The group key: per group-by field a 2-byte length and the value as
 * value_cut keeps it, so distinct tuples never collide. Fills c->gvals
 * for the alert (cut to SIGMA_CORR_VALUE_MAX). Returns the key length, or
 * -1 when a field is missing (the event is not counted).
 */
static inline __attribute__((always_inline)) long
group_key(struct sigma_corr *c, size_t ref, const struct sigma_event *ev,
    struct sigma_fieldmap *fm)
{
	size_t k = 0;

	if (c->ngroup == 0) {
		c->key[0] = '*';
		return 1;
	}
	if (ev->d == NULL)
		return -1;
	for (size_t i = 0; i < c->ngroup; i++) {
		const char *name = c->alias[i * c->nrefs + ref];
		const struct ms_str *v;
		size_t n;

		v = corr_field(fm, ev, fm ? c->gfid[i * c->nrefs + ref] : 0,
		    name ? name : c->group[i]);
		if (v == NULL)
			return -1;
		n = v->p == NULL ? 0 : v->len;
		if (n > SIGMA_CORR_VALUE_MAX) {
			(void)value_cut(c, v, c->key + k + 2);
			n = CORR_CUT_LEN;
		} else if (n) {
			memcpy(c->key + k + 2, v->p, n);
		}
		c->key[k++] = (char)(n >> 8);
		c->key[k++] = (char)(n & 0xff);
		c->gvals[i] = ms_str_make(v->p, n < SIGMA_CORR_VALUE_MAX ? n : SIGMA_CORR_VALUE_MAX);
		k += n;
	}
	return (long)k;
}

/*
 * Groups grow after they are made (a value, a ring slot, a sample): over
 * the bytes, the least recently seen others go when one is fed too, or
 * groups made small first and then grown in turn passed the cap without
 * end (none new, none evicted). g was just touched: the newest, never the
 * one that goes. Out of line: rare, and group_get is inlined in every feed.
 */
static void __attribute__((noinline, cold))
evict_others(struct sigma_corr *c, struct corr_group *g)
{
	while (corr_over(c) && ms_map_count(c->groups) > 1) {
		struct corr_group *v = ms_map_lru(c->groups, NULL, NULL);

		if (v == NULL || v == g)
			break;
		group_release(c, v);
		if (ms_map_del_lru(c->groups) != 0)
			break;
		c->evicted++;
		room_set(c);
	}
}

/*
 * The group of c->key (h its hash), made when new: one hash for both.
 * When the map is full, the least recently used group is evicted first
 * and its sample buffer goes to the new group instead of back to malloc:
 * under a scan from many sources nearly every new group evicts one, and
 * free() then malloc() of the same block cost a cache miss on the block's
 * header and ~100 instructions each time. The buffer's contents are
 * never read past sused (0 for a new group).
 */
static inline __attribute__((always_inline)) struct corr_group *
group_get(struct sigma_corr *c, size_t klen, uint32_t h)
{
	struct corr_group *g = ms_map_touch_h(c->groups, c->key, klen, h);
	char *sbuf = NULL;
	uint16_t scap = 0;

	if (g != NULL) {
		if (__builtin_expect(corr_over(c), 0))
			evict_others(c, g);
		return g;
	}
	while (corr_full(c)) {
		struct corr_group *v = ms_map_lru(c->groups, NULL, NULL);

		if (v == NULL)
			break;
		if (sbuf == NULL) {
			struct corr_cold *vc = group_cold(v);

			/* still counted in c->heap: it moves to the new group */
			sbuf = vc->sbuf;
			scap = vc->scap;
			vc->sbuf = NULL;
			vc->scap = vc->sused = 0;
		}
		group_release(c, v);
		if (ms_map_del_lru(c->groups) != 0)
			break;
		c->evicted++;
		room_set(c);
	}
	if ((g = ms_map_add_h(c->groups, c->key, klen, h)) == NULL) {
		free(sbuf);
		c->heap -= scap;
		return NULL;
	}
	room_set(c);
	group_init(c, g);
	group_cold(g)->sbuf = sbuf;
	group_cold(g)->scap = scap;
	return g;
}

static void
sample_add(struct sigma_corr *c, struct corr_group *g, int64_t t, struct ms_str line)
{
	struct corr_cold *cg;
	const char *nul;
	size_t n;

	if (g->nsamples >= SIGMA_CORR_MAX_SAMPLES || line.p == NULL || line.len == 0)
		return;
	cg = group_cold(g);
	n = line.len < SIGMA_CORR_SAMPLE_MAX ? line.len : SIGMA_CORR_SAMPLE_MAX;
	if ((nul = memchr(line.p, '\0', n)) != NULL)
		n = (size_t)(nul - line.p);
	if ((size_t)cg->sused + n + 1 > cg->scap) {
		/* 512 bytes hold most pairs of lines; doubles up to three full samples. */
		size_t ncap = cg->scap ? (size_t)cg->scap * 2 : 512;
		char *nb;

		while (ncap < (size_t)cg->sused + n + 1)
			ncap *= 2;
		if (ncap > CORR_SBUF_MAX)
			ncap = CORR_SBUF_MAX;
		if ((nb = realloc(cg->sbuf, ncap)) == NULL)
			return;
		c->heap += ncap - cg->scap;
		cg->sbuf = nb;
		cg->scap = (uint16_t)ncap;
	}
	memcpy(cg->sbuf + cg->sused, line.p, n);
	cg->sbuf[cg->sused + n] = '\0';
	cg->soff[g->nsamples] = cg->sused;
	cg->sused = (uint16_t)(cg->sused + n + 1);
	cg->st[g->nsamples] = t;
	if (g->nsamples == 0 || t < g->smin)
		g->smin = t;
	g->nsamples++;
}

/*
 * Drops samples older than lo, keeping the order of the others. smin
 * spares the look at the sample list when none is that old (most feeds).
 */
static void
samples_prune(struct corr_group *g, int64_t lo)
{
	struct corr_cold *cg;
	size_t j = 0;

	if (g->nsamples == 0 || g->smin >= lo)
		return;
	cg = group_cold(g);
	for (size_t i = 0, used = 0, old = cg->sused; i < g->nsamples; i++) {
		size_t end = i + 1 < g->nsamples ? cg->soff[i + 1] : old;
		size_t len = end - cg->soff[i];

		if (cg->st[i] < lo)
			continue;
		if (j == 0 || cg->st[i] < g->smin)
			g->smin = cg->st[i];
		/* Kept lines only move towards the front: in order is safe. */
		if (used != cg->soff[i])
			memmove(cg->sbuf + used, cg->sbuf + cg->soff[i], len);
		cg->st[j] = cg->st[i];
		cg->soff[j++] = (uint16_t)used;
		used += len;
		cg->sused = (uint16_t)used;
	}
	if (j == 0)
		cg->sused = 0;
	g->nsamples = (uint8_t)j;
}

static void
fire(struct sigma_corr *c, struct corr_group *g, uint64_t count, int64_t first,
    int64_t last, const struct sigma_event *ev, sigma_corr_emit_fn emit, void *arg)
{
	struct sigma_corr_alert a;
	int64_t last_st = INT64_MIN;

	if (emit == NULL)
		return;
	memset(&a, 0, sizeof(a));
	a.corr = c;
	a.group_names = (const char *const *)c->group;
	a.group_values = c->ngroup ? c->gvals : NULL;
	a.ngroup = c->ngroup;
	a.count = count;
	a.first_ms = first;
	a.last_ms = last;
	a.last = ev;
	/* At close, ev is another window's event: the line is one of this window's samples. */
	a.line = c->at_close ? ms_str_make("", 0) : ev->line;
	/* At close: the window's last event, not the one that closed it. */
	a.last_serial = c->at_close ? c->fire_serial : ev->serial;
	if (c->at_close) {
		a.agent_id = group_whom(g)->agent;
		a.host = group_whom(g)->host;
	}
	for (size_t i = 0; i < g->nsamples; i++) {
		c->sptrs[i] = group_cold(g)->sbuf + group_cold(g)->soff[i];
		/* At close, ev is the next window's first event: a line of this one instead. */
		if (c->at_close && (i == 0 || group_cold(g)->st[i] >= last_st)) {
			last_st = group_cold(g)->st[i];
			a.line = ms_str_make(c->sptrs[i], strlen(c->sptrs[i]));
		}
	}
	a.samples = c->sptrs;
	a.nsamples = g->nsamples;
	if (c->vptrs != NULL) {
		for (size_t i = 0; i < g->nvals; i++)
			c->vptrs[i] = value_str(&g->vals[i]);
		a.values = c->vptrs;
		a.nvalues = g->nvals;
	}
	c->busy = true;
	emit(&a, arg);
	/* The same window, under each twin's name (its own alert or chain). */
	for (size_t i = 0; i < c->ntwins; i++) {
		a.corr = c->twins[i];
		c->twins[i]->busy = true;
		emit(&a, arg);
		c->twins[i]->busy = false;
	}
	c->busy = false;
}

/*
 * Live windows: a newer event moves the window forward (a late one never
 * moves it back); returns the window's low end, inclusive.
 */
static int64_t
live_advance(const struct sigma_corr *c, struct corr_group *g, int64_t t)
{
	if (g->newest == T_NONE || t > g->newest)
		g->newest = t;
	return sub_sat(g->newest, c->span_ms);
}

/* --- event_count ----------------------------------------------------- */

/* i < rcap; a compare instead of a division (one per slot looked at). */
static int64_t *
ring_at(struct corr_group *g, size_t i)
{
	size_t k = g->rhead + i;

	if (k >= g->rcap)
		k -= g->rcap;
	return &g->ring[k];
}

static void
ring_pop(struct corr_group *g)
{
	if (++g->rhead == g->rcap)
		g->rhead = 0;
	g->rn--;
}

/*
 * Back to the slots in the group once the window holds few enough events:
 * a group that once counted many does not pay a pointer chase to a
 * separate ring on every later event.
 */
static void
ring_shrink(struct sigma_corr *c, struct corr_group *g)
{
	for (size_t i = 0; i < g->rn; i++)
		g->tv[i] = *ring_at(g, i);
	free(g->ring);
	c->heap -= (size_t)g->rcap * sizeof(*g->ring);
	g->ring = g->tv;
	g->rcap = (uint32_t)c->ringinl;
	g->rhead = 0;
}

/* Inserts t at its sorted place; grows the ring up to c->cap. 0 or -1. */
static int
ring_insert(struct sigma_corr *c, struct corr_group *g, int64_t t)
{
	size_t i;

	if (g->rn == g->rcap) {
		if (g->rcap < c->cap) {
			size_t ncap = g->rcap ? (size_t)g->rcap * 2 : CORR_RING_MIN;
			int64_t *nr;

			if (ncap > c->cap)
				ncap = c->cap;
			if (g->ring == NULL && ncap <= c->ringinl) {
				/* The first slots live in the group (no allocation). */
				g->ring = g->tv;
				g->rcap = (uint32_t)ncap;
				g->rhead = 0;
				goto insert;
			}
			if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
				return -1;
			c->heap += ncap * sizeof(*nr);
			for (i = 0; i < g->rn; i++)
				nr[i] = *ring_at(g, i);
			if (g->ring != g->tv) {
				free(g->ring);
				c->heap -= (size_t)g->rcap * sizeof(*nr);
			}
			g->ring = nr;
			g->rcap = (uint32_t)ncap;
			g->rhead = 0;
		} else {
			/* Full only if the window fired and was not reset: defensive. */
			ring_pop(g);
		}
	}
insert:
	for (i = g->rn; i > 0 && *ring_at(g, i - 1) > t; i--)
		*ring_at(g, i) = *ring_at(g, i - 1);
	*ring_at(g, i) = t;
	g->rn++;
	return 0;
}

static inline __attribute__((always_inline)) void
feed_event_live(struct sigma_corr *c, struct corr_group *g, const struct sigma_event *ev,
    sigma_corr_emit_fn emit, void *arg)
{
	int64_t t = ev->time_ms, lo;

	if (t < g->floor)
		return;
	lo = live_advance(c, g, t);
	while (g->rn > 0 && *ring_at(g, 0) < lo)
		ring_pop(g);
	if (g->ring != NULL && g->ring != g->tv && g->rn <= c->ringinl)
		ring_shrink(c, g);
	samples_prune(g, lo);
	if (t < lo || ring_insert(c, g, t) < 0)
		return;
	sample_add(c, g, t, ev->line);
	if (g->rn >= c->need) {
		fire(c, g, g->rn, *ring_at(g, 0), *ring_at(g, g->rn - 1), ev, emit, arg);
		group_reset(c, g);
	}
}

/* --- value_count ----------------------------------------------------- */

/* Adds or refreshes value v at time t; false when the set is full. */
static bool
value_add(struct sigma_corr *c, struct corr_group *g, struct ms_str v, int64_t t)
{
	struct corr_value *nv;

	for (size_t i = 0; i < g->nvals; i++)
		if (g->vals[i].len == v.len &&
		    (v.len == 0 || memcmp(value_str(&g->vals[i]), v.p, v.len) == 0)) {
			if (t > g->vals[i].t)
				g->vals[i].t = t;
			return true;
		}
	if (g->nvals >= c->cap)
		return false;
	if (g->nvals == g->valloc) {
		size_t na = g->valloc ? (size_t)g->valloc * 2 : 4;

		if (na > c->cap)
			na = c->cap;
		if (g->vals == NULL && c->valinl > 0) {
			/* The first values live in the group (no allocation). */
			g->vals = (struct corr_value *)g->tv;
			g->valloc = (uint16_t)c->valinl;
		} else if (g->vals == (struct corr_value *)g->tv) {
			if ((nv = malloc(na * sizeof(*nv))) == NULL)
				return false;
			c->heap += na * sizeof(*nv);
			memcpy(nv, g->vals, g->nvals * sizeof(*nv));
			g->vals = nv;
			g->valloc = (uint16_t)na;
		} else {
			if ((nv = realloc(g->vals, na * sizeof(*nv))) == NULL)
				return false;
			c->heap += (na - g->valloc) * sizeof(*nv);
			g->vals = nv;
			g->valloc = (uint16_t)na;
		}
	}
	nv = &g->vals[g->nvals];
	if (v.len < CORR_VALUE_INLINE) {
		if (v.len)
			memcpy(nv->inl, v.p, v.len);
		nv->inl[v.len] = '\0';
	} else if ((nv->heap = mem_dup(v.p, v.len)) == NULL) {
		return false;
	} else {
		c->heap += v.len + 1;
	}
	nv->len = v.len;
	g->vals[g->nvals].t = t;
	g->nvals++;
	return true;
}

/*
 * Drops values last seen before lo. A set that fits the group's own slots
 * again moves back there: a group that once held many values does not pay
 * a pointer chase to a separate array on every later event.
 */
static void
values_prune(struct sigma_corr *c, struct corr_group *g, int64_t lo)
{
	struct corr_value *inl = (struct corr_value *)g->tv;
	size_t j = 0;

	for (size_t i = 0; i < g->nvals; i++) {
		if (g->vals[i].t < lo) {
			if (g->vals[i].len >= CORR_VALUE_INLINE) {
				free(g->vals[i].heap);
				c->heap -= (size_t)g->vals[i].len + 1;
			}
		} else
			g->vals[j++] = g->vals[i];
	}
	g->nvals = (uint16_t)j;
	if (g->vals != NULL && g->vals != inl && j <= c->valinl && c->valinl > 0) {
		memcpy(inl, g->vals, j * sizeof(*inl));
		free(g->vals);
		c->heap -= (size_t)g->valloc * sizeof(*inl);
		g->vals = inl;
		g->valloc = (uint16_t)c->valinl;
	}
}

static void
feed_value_live(struct sigma_corr *c, struct corr_group *g, const struct sigma_event *ev,
    struct ms_str v, sigma_corr_emit_fn emit, void *arg)
{
	int64_t t = ev->time_ms, lo, first = INT64_MAX, last = INT64_MIN;

	if (t < g->floor)
		return;
	lo = live_advance(c, g, t);
	values_prune(c, g, lo);
	samples_prune(g, lo);
	if (t < lo || !value_add(c, g, v, t))
		return;
	sample_add(c, g, t, ev->line);
	if (g->nvals >= c->need) {
		for (size_t i = 0; i < g->nvals; i++) {
			if (g->vals[i].t < first)
				first = g->vals[i].t;
			if (g->vals[i].t > last)
				last = g->vals[i].t;
		}
		/*
		 * Values keep their last-seen time; the window's first event
		 * may be an earlier sighting of one of them, and is the
		 * oldest sample still in the window (samples are pruned to lo).
		 */
		if (g->nsamples > 0 && g->smin < first)
			first = g->smin;
		fire(c, g, g->nvals, first, last, ev, emit, arg);
		group_reset(c, g);
	}
}

/* --- lt / lte / neq: tumbling windows evaluated when they close ------- */

/* g's window is over (ev is later): fires when the condition holds of it. */
static void
window_decide(struct sigma_corr *c, struct corr_group *g, const struct sigma_event *ev,
    sigma_corr_emit_fn emit, void *arg)
{
	struct corr_cold *cg = group_cold(g);
	uint64_t count = c->type == CORR_VALUE_COUNT ? g->nvals : cg->count;

	if (cond_holds(c, count)) {
		c->fire_serial = cg->wserial;
		fire(c, g, count, cg->wfirst, cg->wlast, ev, emit, arg);
	}
}

/* Not inlined: the event_count and value_count feeds (most) stay small enough to be. */
static void __attribute__((noinline))
feed_at_close(struct sigma_corr *c, struct corr_group *g, const struct sigma_event *ev,
    struct ms_str v, sigma_corr_emit_fn emit, void *arg)
{
	struct corr_cold *cg = group_cold(g);
	int64_t t = ev->time_ms;

	if (cg->start != T_NONE) {
		if (t < cg->start)
			return;
		if ((uint64_t)t - (uint64_t)cg->start > (uint64_t)c->span_ms) {
			window_decide(c, g, ev, emit, arg);
			group_reset(c, g);
		}
	}
	if (cg->start == T_NONE) {
		cg->start = cg->wfirst = cg->wlast = t;
		cg->wserial = ev->serial;
		cg->count = 0;
	}
	if (c->type == CORR_VALUE_COUNT) {
		/* Full at threshold + 1: enough to decide every bound. */
		(void)value_add(c, g, v, t);
	} else if (cg->count < UINT64_MAX) {
		cg->count++;
	}
	/* The last event: the latest time, the latest to arrive among equals. */
	if (t >= cg->wlast) {
		struct corr_whom *w = group_whom(g);
		const char *agent = ev->agent_id ? ev->agent_id : "";
		const char *host = ev->host ? ev->host : "";

		cg->wlast = t;
		cg->wserial = ev->serial;
		ms_copy(w->agent, sizeof(w->agent), agent, strlen(agent));
		ms_copy(w->host, sizeof(w->host), host, strlen(host));
	}
	sample_add(c, g, t, ev->line);
}

/* Quiet groups looked at per line fed, at most: the rest at the next lines. */
#define CORR_CLOSE_STEP 4

/*
 * Windows decided at close whose group went quiet: the group that was fed
 * least recently is decided when ev (just fed, of another group) is past
 * its window by one more timespan (room for agents whose events come
 * late), and is then forgotten (an at-close group holds nothing but its
 * window). Quiet groups reach the least recent end of the map in the
 * order they went quiet; the one just fed is at the other end. ev's own
 * time, not the newest ever seen: one line dated in the future decides at
 * most CORR_CLOSE_STEP windows early, not every window from then on; a
 * group whose window starts after ev is passed over (moved to the newest
 * end), so that one such group does not hold up the others.
 */
static void __attribute__((noinline))
close_quiet(struct sigma_corr *c, const struct sigma_event *ev, sigma_corr_emit_fn emit,
    void *arg)
{
	/*
	 * A new line by its id: lines read into one buffer (replay's getline,
	 * a reused frame) have one address, and those of one second one time.
	 */
	if (ev->line_id != c->close_id || ev->line.p != c->close_line ||
	    ev->time_ms != c->close_t) {
		c->close_id = ev->line_id;
		c->close_line = ev->line.p;
		c->close_t = ev->time_ms;
		c->close_left = CORR_CLOSE_STEP;
	}
	for (; c->close_left > 0 && ms_map_count(c->groups) > 1; c->close_left--) {
		const void *kp;
		size_t klen, k = 0;
		struct corr_group *g = ms_map_lru(c->groups, &kp, &klen);
		const unsigned char *key = kp;
		struct corr_cold *cg;

		if (g == NULL)
			break;
		cg = group_cold(g);
		if (cg->start != T_NONE) {
			if (ev->time_ms < cg->start) {
				/* ahead of ev: passed over */
				(void)ms_map_touch(c->groups, kp, klen);
				continue;
			}
			if ((uint64_t)ev->time_ms - (uint64_t)cg->start <= 2 * (uint64_t)c->span_ms)
				break;
			/* The group-by values for the alert, from the key (group_key's layout). */
			for (size_t i = 0; i < c->ngroup && k + 2 <= klen; i++) {
				size_t n = (size_t)key[k] << 8 | key[k + 1];

				if (n > klen - k - 2)
					n = klen - k - 2;
				/* A cut value's NUL and hash are not shown (value_cut). */
				c->gvals[i] = ms_str_make((const char *)key + k + 2,
				    n < SIGMA_CORR_VALUE_MAX ? n : SIGMA_CORR_VALUE_MAX);
				k += 2 + n;
			}
			window_decide(c, g, ev, emit, arg);
		}
		group_release(c, g);
		if (ms_map_del_lru(c->groups) != 0)
			break;
		room_set(c);
	}
}

/* --- temporal, temporal_ordered --------------------------------------- */

/* Not inlined: the event_count and value_count feeds (most) stay small enough to be. */
static void __attribute__((noinline))
feed_temporal(struct sigma_corr *c, struct corr_group *g, size_t ref,
    const struct sigma_event *ev, sigma_corr_emit_fn emit, void *arg)
{
	int64_t t = ev->time_ms, lo, first = INT64_MAX, last = INT64_MIN;
	int64_t ser = ev->serial ? (int64_t)ev->serial : T_NONE;
	uint64_t n = 0;

	if (t < g->floor)
		return;
	lo = live_advance(c, g, t);
	samples_prune(g, lo);
	for (size_t i = 0; i < c->nrefs; i++)
		if (g->tv[i] < lo)
			g->tv[i] = T_NONE;
	if (t < lo)
		return;
	/* The latest time, the latest event among equals (ser: tv[nrefs + ref]). */
	if (t >= g->tv[ref]) {
		g->tv[ref] = t;
		g->tv[c->nrefs + ref] = ser;
	}
	sample_add(c, g, t, ev->line);
	for (size_t i = 0; i < c->nrefs; i++) {
		if (g->tv[i] == T_NONE)
			continue;
		n++;
		if (g->tv[i] < first)
			first = g->tv[i];
		if (g->tv[i] > last)
			last = g->tv[i];
	}
	if (n >= c->need) {
		int64_t keep[CORR_MAX_REFS];
		size_t nkeep = 0;

		/*
		 * This event's other matches, fed before the one that fired,
		 * go to the next window as if fed after the reset (which they
		 * would only pass at or above the new floor): the order of
		 * feeds decides nothing.
		 */
		for (size_t i = 0; i < c->nrefs && ser != T_NONE; i++)
			if (i != ref && g->tv[i] == t && g->tv[c->nrefs + i] == ser)
				keep[nkeep++] = (int64_t)i;
		fire(c, g, n, first, last, ev, emit, arg);
		group_reset(c, g);
		for (size_t k = 0; k < nkeep && t >= g->floor; k++) {
			g->tv[keep[k]] = t;
			g->tv[c->nrefs + (size_t)keep[k]] = ser;
		}
		if (nkeep > 0 && t >= g->floor)
			sample_add(c, g, t, ev->line);
	}
}

/*
 * Per prefix k of the rule list, ORD_SLOT values at tv[ORD_SLOT * k]:
 * start and end time of the partial sequence matching refs[0..k] with the
 * latest start, the serial of the event that ended it (T_NONE: none in
 * the window), and the same start and end as they were before that event.
 * A step extends the prefix before it as it was before its own event: one
 * event is one step (matching two rules, or completing two inner
 * correlations, it is not both), whatever order its matches are fed in.
 */
enum { ORD_S, ORD_E, ORD_SER, ORD_PS, ORD_PE };

/* Not inlined: the event_count and value_count feeds (most) stay small enough to be. */
static void __attribute__((noinline))
feed_ordered(struct sigma_corr *c, struct corr_group *g, size_t ref,
    const struct sigma_event *ev, sigma_corr_emit_fn emit, void *arg)
{
	int64_t t = ev->time_ms, lo, cs, ce, ser = ev->serial ? (int64_t)ev->serial : T_NONE;
	int64_t *slot;

	if (t < g->floor)
		return;
	lo = live_advance(c, g, t);
	samples_prune(g, lo);
	for (size_t k = 0; k < c->nrefs; k++) {
		int64_t *v = &g->tv[ORD_SLOT * k];

		if (v[ORD_S] != T_NONE && v[ORD_S] < lo)
			v[ORD_S] = v[ORD_E] = T_NONE;
		if (v[ORD_PS] != T_NONE && v[ORD_PS] < lo)
			v[ORD_PS] = v[ORD_PE] = T_NONE;
	}
	if (t < lo)
		return;
	if (ref == 0) {
		cs = ce = t;
	} else {
		const int64_t *prev = &g->tv[ORD_SLOT * (ref - 1)];
		bool same = ser != T_NONE && prev[ORD_SER] == ser;
		int64_t ps = same ? prev[ORD_PS] : prev[ORD_S], pe = same ? prev[ORD_PE] : prev[ORD_E];

		/* The previous step must exist and not be later than this match. */
		if (ps == T_NONE || pe > t)
			return;
		cs = ps;
		ce = t;
	}
	slot = &g->tv[ORD_SLOT * ref];
	/* The latest start, then the earliest end, then the latest event. */
	if (slot[ORD_S] == T_NONE || cs > slot[ORD_S] || (cs == slot[ORD_S] && ce <= slot[ORD_E])) {
		/* What an earlier event left is what this event's later steps see. */
		if (ser == T_NONE || slot[ORD_SER] != ser) {
			slot[ORD_PS] = slot[ORD_S];
			slot[ORD_PE] = slot[ORD_E];
		}
		slot[ORD_S] = cs;
		slot[ORD_E] = ce;
		slot[ORD_SER] = ser;
	}
	sample_add(c, g, t, ev->line);
	if (ref == c->nrefs - 1) {
		/* This event may also have begun the next sequence (fed ref 0 before this). */
		bool began = ser != T_NONE && g->tv[ORD_S] == t && g->tv[ORD_E] == t &&
		    g->tv[ORD_SER] == ser;

		fire(c, g, c->nrefs, slot[ORD_S], slot[ORD_E], ev, emit, arg);
		group_reset(c, g);
		/*
		 * Kept, as if its ref 0 had come after the reset (which it would
		 * only pass at or above the new floor): the order of feeds
		 * decides nothing.
		 */
		if (began && t >= g->floor) {
			g->tv[ORD_S] = g->tv[ORD_E] = t;
			g->tv[ORD_SER] = ser;
			sample_add(c, g, t, ev->line);
		}
	}
}

/*
 * Feeds one match of refs[ref] on ev (borrowed for the call); see the top
 * of this file for the semantics. Unknown ref indexes, events lacking a
 * group-by field (or the value_count field) and feeds from inside emit are
 * ignored. Never fails: out of memory drops the event.
 */
void
sigma_corr_feed(struct sigma_corr *c, size_t ref, const struct sigma_event *ev,
    sigma_corr_emit_fn emit, void *arg)
{
	sigma_corr_feed_fm(c, ref, ev, NULL, emit, arg);
}

int
sigma_corr_bind(struct sigma_corr *c, struct sigma_fieldmap *fm)
{
	uint32_t *ids = NULL;
	size_t n = c->ngroup * c->nrefs;

	c->fm = NULL;
	if (n > 0 && (ids = calloc(n, sizeof(*ids))) == NULL)
		return -1;
	for (size_t gi = 0; gi < c->ngroup; gi++)
		for (size_t ri = 0; ri < c->nrefs; ri++) {
			const char *name = c->alias[gi * c->nrefs + ri];
			if ((ids[gi * c->nrefs + ri] = sigma_fieldmap_id(fm, name ? name :
			    c->group[gi])) == UINT32_MAX)
				goto fail;
		}
	if (c->field != NULL && (c->ffid = sigma_fieldmap_id(fm, c->field)) == UINT32_MAX)
		goto fail;
	free(c->gfid);
	c->gfid = ids;
	c->fm = fm;
	return 0;
fail:
	free(ids);
	return -1;
}

void
sigma_corr_feed_fm(struct sigma_corr *c, size_t ref, const struct sigma_event *ev,
    struct sigma_fieldmap *fm, sigma_corr_emit_fn emit, void *arg)
{
	struct ms_str v = MS_STR_NULL;
	struct corr_group *g;
	long klen;
	uint32_t h;

	if (c == NULL || ev == NULL || ref >= c->nrefs || c->busy || c->groups == NULL)
		return;
	/* Ids are only meaningful in the map c was bound to. */
	if (fm != c->fm || ev->d == NULL)
		fm = NULL;
	/*
	 * At the cap a new group evicts the least recently fed: windows
	 * decided at close that are over are decided first rather than
	 * dropped (before group_key: close_quiet sets c->gvals).
	 */
	if (c->at_close && corr_full(c))
		close_quiet(c, ev, emit, arg);
	if ((klen = group_key(c, ref, ev, fm)) < 0)
		return;
	/* One hash for the lookup and, for a new group, the insert. */
	h = ms_map_hash(c->groups, c->key, (size_t)klen);
	if (c->type == CORR_VALUE_COUNT) {
		const struct ms_str *fv = ev->d ? corr_field(fm, ev, c->ffid, c->field) : NULL;

		if (fv == NULL)
			return;
		v = value_cut(c, fv, c->vcut);
	}
	if ((g = group_get(c, (size_t)klen, h)) == NULL)
		return;
	if (c->at_close) {
		feed_at_close(c, g, ev, v, emit, arg);
		close_quiet(c, ev, emit, arg);
		return;
	}
	switch (c->type) {
	case CORR_EVENT_COUNT:
		feed_event_live(c, g, ev, emit, arg);
		break;
	case CORR_VALUE_COUNT:
		feed_value_live(c, g, ev, v, emit, arg);
		break;
	case CORR_TEMPORAL:
		feed_temporal(c, g, ref, ev, emit, arg);
		break;
	case CORR_TEMPORAL_ORDERED:
		feed_ordered(c, g, ref, ev, emit, arg);
		break;
	}
}
