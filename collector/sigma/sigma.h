/*
 * sigma – Sigma rules on the live stream (see ../shared/brief/sigma.md and
 * docs/rules.md).
 *
 * Three parts, one prefix each:
 *   sigma_rule_*  (sigma_rule.c, sigma_cond.c, sigma_match.c): detection
 *                 rules – parsing, the condition grammar, value modifiers,
 *                 and matching one decoded event;
 *   sigma_corr_*  (sigma_corr.c): correlation rules – event_count,
 *                 value_count, temporal, temporal_ordered – fed with the
 *                 matches of the rules they reference, windows on event time;
 *   sigma_set_*   (sigma_set.c): a loaded rule folder – files, logsource
 *                 routing, chains, the load report – wrapped as a detector.
 *
 * Everything parsed here comes from files an operator (or an attacker who
 * got a rule into a shared folder) wrote: every error is a message with
 * file:line, never a crash, and every structure is bounded.
 */
#ifndef SIGMA_H
#define SIGMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "ms_util.h"
#include "ms_yaml.h"

/* --- what a rule is matched against --------------------------------- */

struct sigma_event {
	const struct decoded *d;	/* named fields and logsource */
	struct ms_str message;		/* what keyword searches match: the message */
	int64_t time_ms;		/* event time */
	const char *agent_id;		/* from the agent's certificate */
	const char *host;
	struct ms_str line;		/* the raw line, for alert samples */
	/*
	 * Which event this is (the set numbers them; a chained firing has
	 * its event's): temporal_ordered steps are distinct events. 0: not
	 * known, every feed is taken as a new event.
	 */
	uint64_t serial;
	/*
	 * Which line it came from (the set numbers them; the N events of a
	 * repeated line and the firings it sets off share it): what the
	 * quiet windows' budget of a line goes by (close_quiet). 0: not
	 * known, the line's address and time tell lines apart – lines read
	 * into one buffer in the same millisecond are then taken as one.
	 */
	uint64_t line_id;
};

/* --- detection rules (sigma_rule.c, sigma_cond.c, sigma_match.c) ----- */

struct sigma_rule;

/*
 * Parses one YAML document holding a detection rule. file is used in error
 * messages ("file:line: reason"). Returns an owned rule, or NULL with the
 * reason in err. placeholders (may be NULL) resolves %name% for |expand:
 * it returns the list of values of a placeholder, or NULL when unknown.
 */
typedef const struct ms_yaml_node *(*sigma_placeholder_fn)(const char *name, void *arg);
struct sigma_rule *sigma_rule_parse(const struct ms_yaml_node *doc, const char *file,
    sigma_placeholder_fn placeholders, void *parg, char *err, size_t errsz);
void sigma_rule_free(struct sigma_rule *r);

/*
 * A Sigma filter (a document with filter: where a rule has detection:)
 * applied to a rule: the rule then matches where its own condition and the
 * filter's both hold, the filter's condition seeing only the filter's own
 * searches (pySigma's semantics: "condition: not selection" excludes).
 */
struct sigma_rule_filter {
	const struct ms_yaml_node *filter;	/* the document's filter: map (borrowed) */
	const char *file;			/* its file, for errors (borrowed) */
};
/* sigma_rule_parse with filters (at most 16) ANDed to the rule's condition. */
struct sigma_rule *sigma_rule_parse_filtered(const struct ms_yaml_node *doc, const char *file,
    const struct sigma_rule_filter *filters, size_t nfilters, sigma_placeholder_fn placeholders,
    void *parg, char *err, size_t errsz);
/*
 * Whether a filter: map compiles on its own (its searches, one condition
 * string over them) and reads only fields that events of its logsource
 * (product, service, category; NULL: any) can carry: 0, or -1 with
 * "file:line: reason" in err.
 */
int sigma_filter_check(const struct ms_yaml_node *filter, const char *file,
    const char *product, const char *service, const char *category,
    sigma_placeholder_fn placeholders, void *parg, char *err, size_t errsz);

/*
 * True when PCRE2 can JIT-compile a pattern in this process. False where
 * executable memory is refused (systemd's MemoryDenyWriteExecute=yes, the
 * collector's unit): the rules' regular expressions then run in PCRE2's
 * interpreter, with the same results.
 */
bool sigma_re_jit_available(void);

/*
 * True when the event matches the rule's detection (logsource not checked).
 * Never allocates. A rule holds per-regex match scratch, so one rule is
 * matched by one thread at a time (rules may be spread over threads).
 */
bool sigma_rule_match(const struct sigma_rule *r, const struct sigma_event *ev);

/* Accessors; strings are owned by the rule, "" when absent. */
const char *sigma_rule_id(const struct sigma_rule *r);
const char *sigma_rule_name(const struct sigma_rule *r);	/* "name:", for correlations */
const char *sigma_rule_title(const struct sigma_rule *r);
const char *sigma_rule_level(const struct sigma_rule *r);	/* informational..critical */
const char *sigma_rule_status(const struct sigma_rule *r);
size_t sigma_rule_ntags(const struct sigma_rule *r);
const char *sigma_rule_tag(const struct sigma_rule *r, size_t i);
/* logsource keys, "" when absent */
const char *sigma_rule_product(const struct sigma_rule *r);
const char *sigma_rule_service(const struct sigma_rule *r);
const char *sigma_rule_category(const struct sigma_rule *r);
/* Fields the rule lists under "fields:" (for the alert), may be 0. */
size_t sigma_rule_nfields(const struct sigma_rule *r);
const char *sigma_rule_field(const struct sigma_rule *r, size_t i);
/*
 * Distinct event fields the detection reads (including |fieldref targets),
 * so a rule set can report fields no decoder emits. Keyword searches read
 * the message and add nothing here.
 */
size_t sigma_rule_ndetection_fields(const struct sigma_rule *r);
const char *sigma_rule_detection_field(const struct sigma_rule *r, size_t i);
/* The rule file's line where detection field i is first read (0: none). */
int sigma_rule_detection_field_line(const struct sigma_rule *r, size_t i);

/*
 * Whether events of a logsource (product, service, category; "" when
 * absent) can carry a field of this name: 1 yes, 0 no (the rule loader
 * rejects a rule reading it), -1 when the source's fields are open
 * (auditd's and Zeek's keys, any syslog line). sigma_set.c.
 */
int sigma_logsource_field(const char *product, const char *service, const char *category,
    const char *field);

/* --- correlation rules (sigma_corr.c) --------------------------------- */

struct sigma_corr;

/* Bounds of what an alert carries (see sigma_corr.c for the semantics). */
#define SIGMA_CORR_MAX_SAMPLES	3	/* raw lines per alert */
#define SIGMA_CORR_SAMPLE_MAX	512	/* bytes kept of each sample line */
#define SIGMA_CORR_VALUE_MAX	256	/* bytes kept of group and counted values */
#define SIGMA_CORR_DEFAULT_MAX_GROUPS	65536

/* A correlation fired: everything borrowed for the duration of the call. */
struct sigma_corr_alert {
	const struct sigma_corr *corr;
	const char *const *group_names;		/* group-by field names */
	const struct ms_str *group_values;	/* their values for this group */
	size_t ngroup;
	uint64_t count;		/* events (event_count), distinct values (value_count) */
	int64_t first_ms;	/* event time span of what fired */
	int64_t last_ms;
	const struct sigma_event *last;		/* the event that completed it */
	/*
	 * A raw line of what fired: the completing event's, or for a window
	 * decided when a later event closed it, its latest sampled line.
	 */
	struct ms_str line;
	/* serial (sigma_event) of the last event of what fired, 0 when not known */
	uint64_t last_serial;
	const char *const *samples;		/* a few raw lines of the window */
	size_t nsamples;
	const char *const *values;		/* value_count: distinct values seen (some) */
	size_t nvalues;
	/*
	 * Decided at close: the agent and host of the window's last event (the
	 * deciding event is another window's); NULL otherwise, last's then.
	 */
	const char *agent_id, *host;
};
typedef void (*sigma_corr_emit_fn)(const struct sigma_corr_alert *a, void *arg);

/*
 * Parses a correlation rule document (one with a "correlation:" key).
 * References to other rules are kept as names/ids to be resolved by the set.
 */
struct sigma_corr *sigma_corr_parse(const struct ms_yaml_node *doc, const char *file,
    char *err, size_t errsz);
void sigma_corr_free(struct sigma_corr *c);
size_t sigma_corr_nrefs(const struct sigma_corr *c);
const char *sigma_corr_ref(const struct sigma_corr *c, size_t i);	/* name or id */
/* Is the referenced rule i to generate its own alerts too ("generate: true")? */
bool sigma_corr_generate(const struct sigma_corr *c);
const char *sigma_corr_id(const struct sigma_corr *c);
const char *sigma_corr_name(const struct sigma_corr *c);
const char *sigma_corr_title(const struct sigma_corr *c);
const char *sigma_corr_level(const struct sigma_corr *c);
size_t sigma_corr_ntags(const struct sigma_corr *c);
const char *sigma_corr_tag(const struct sigma_corr *c, size_t i);
/*
 * Feeds one match of referenced rule ref (index into the refs) on ev; may
 * fire (emit called synchronously). Windows use ev->time_ms only. The
 * semantics (inclusive sliding windows, reset after firing, eq/lt/lte/neq
 * evaluated when a window closes, out-of-order events) are described at
 * the top of sigma_corr.c.
 */
void sigma_corr_feed(struct sigma_corr *c, size_t ref, const struct sigma_event *ev,
    sigma_corr_emit_fn emit, void *arg);
/*
 * Groups held now, and groups evicted because of the cap (metrics). A
 * twin (sigma_corr_twin) holds none, and reports the evictions of the one
 * it fires with: the windows it loses.
 */
size_t sigma_corr_groups(const struct sigma_corr *c);
uint64_t sigma_corr_evicted(const struct sigma_corr *c);
/* Forgets every group (windows start empty again); 0, or -1 (state kept). */
int sigma_corr_reset(struct sigma_corr *c);
/* Cap on groups per correlation (default 65536), set before the first feed. */
void sigma_corr_set_max_groups(struct sigma_corr *c, size_t max);
/*
 * Cap on the bytes its groups hold (records, samples, rings, values; 0: no
 * cap but the groups'), least recently seen evicted first as at
 * max_groups; it may pass it by what one event adds to one group.
 */
void sigma_corr_set_max_bytes(struct sigma_corr *c, size_t max);
size_t sigma_corr_bytes(const struct sigma_corr *c);
/* The same, summed group by group (tests: the running count is exact). */
size_t sigma_corr_bytes_counted(const struct sigma_corr *c);
/* "event_count", "value_count", "temporal" or "temporal_ordered". */
const char *sigma_corr_type(const struct sigma_corr *c);
/* status: of the rule, "" when absent. */
const char *sigma_corr_status(const struct sigma_corr *c);
/* The window length in milliseconds (timespan:). */
int64_t sigma_corr_timespan_ms(const struct sigma_corr *c);

/*
 * Where c is written, for messages: its file ("" when parsed without one),
 * the line of reference i in rules:.
 */
const char *sigma_corr_file(const struct sigma_corr *c);
int sigma_corr_ref_line(const struct sigma_corr *c, size_t i);
/* group-by: the names, and the field each reads in events of reference ri
 * (its alias, else the name) with the line that says so. */
size_t sigma_corr_ngroup(const struct sigma_corr *c);
const char *sigma_corr_group(const struct sigma_corr *c, size_t gi);
const char *sigma_corr_group_field(const struct sigma_corr *c, size_t gi, size_t ri);
int sigma_corr_group_line(const struct sigma_corr *c, size_t gi, size_t ri);
/* value_count: the counted field (NULL for other types) and its line. */
const char *sigma_corr_value_field(const struct sigma_corr *c);
int sigma_corr_value_field_line(const struct sigma_corr *c);
/* Is c decided when a window closes (eq, lt, lte, neq), not as events come? */
bool sigma_corr_at_close(const struct sigma_corr *c);
/* How many referenced rules must be able to match for c ever to fire. */
size_t sigma_corr_min_refs(const struct sigma_corr *c);
/*
 * aliases: keys that are not written as in rules: (a rule listed by id,
 * aliased by name) are matched against names[ri] and ids[ri], the name and
 * id of the rule reference ri resolved to (either array or entry may be
 * NULL). Call once, before the first feed; until then those aliases do not
 * apply. 0, or -1 with "file:line: reason" in err.
 */
int sigma_corr_resolve_aliases(struct sigma_corr *c, const char *const *names,
    const char *const *ids, char *err, size_t errsz);
/*
 * Whether a and b, fed the same matches (their references resolved to the
 * same rules, in the same order: the caller's to check), count the same
 * windows and fire at the same events: the same type, group-by with its
 * aliases, counted field, timespan and conditions, decided live (not at a
 * window's close); names, texts and generate may differ. Aliases must be
 * resolved first.
 */
bool sigma_corr_same(const struct sigma_corr *a, const struct sigma_corr *b);
/*
 * Makes b a twin of a (sigma_corr_same): b is then never fed, and fires
 * with a's window whenever a fires (emit called once for a, then once per
 * twin with corr set to it). A quiet copy of a correlation for a chain
 * then costs no feed of its own. 0, or -1 (not the same, or out of memory).
 */
int sigma_corr_twin(struct sigma_corr *a, struct sigma_corr *b);

#endif
