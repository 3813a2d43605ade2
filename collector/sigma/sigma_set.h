/*
 * sigma_set – a loaded folder of Sigma rules and correlations, run as one
 * detector of the collector (and of `minisocctl replay`).
 *
 * Loading never stops at a bad file: every document ends up loaded, inert
 * (its logsource is nothing our decoders produce – listed) or rejected
 * ("file:line: reason" – listed). A reload builds a new set and swaps it in
 * only when it loaded; the old set keeps running otherwise.
 */
#ifndef SIGMA_SET_H
#define SIGMA_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "ms_buf.h"
#include "sigma.h"

struct sigma_set;

struct sigma_report {
	size_t files;		/* .yml/.yaml files read */
	size_t rules;		/* detection rules loaded and live */
	size_t correlations;	/* correlation rules loaded */
	size_t filters;		/* Sigma filters applied to at least one rule */
	size_t inert;		/* parsed, but no decoder produces their logsource */
	size_t rejected;	/* documents refused, with reasons in text */
	struct ms_buf text;	/* one line per inert or rejected document (owned) */
};

void sigma_report_init(struct sigma_report *r);
void sigma_report_fini(struct sigma_report *r);

#define SIGMA_SET_DEFAULT_MAX_BYTES ((size_t)512 << 20)	/* rules.max_memory_mb's default */

struct sigma_set_opts {
	size_t max_groups;	/* per correlation; 0 = default 65536 */
	const char *placeholders;	/* YAML file: name -> list of values, for |expand; may be NULL */
	size_t max_bytes;	/* all correlations' groups, shared evenly; 0 = default 512 MiB */
};

/*
 * Loads every rule under path (a file, or a folder walked recursively for
 * *.yml and *.yaml, in name order; folders named "tests" hold rule test
 * cases and are skipped). Returns the set (caller owns), or NULL
 * when path itself cannot be read or memory ran out wiring the set (err
 * says why). Per-document problems, out of memory for one document
 * included, go to rep, never to err.
 */
struct sigma_set *sigma_set_load(const char *path, const struct sigma_set_opts *opts,
    struct sigma_report *rep, char *err, size_t errsz);
void sigma_set_free(struct sigma_set *s);

/*
 * Calls cb for every rule file under path (path itself when it is a file),
 * exactly in the order sigma_set_load reads them. file is borrowed for the
 * call. 0, or -errno when a folder could not be listed whole (out of
 * memory or descriptors, a read error, an unreadable folder): files were
 * left out.
 */
typedef void (*sigma_set_file_fn)(const char *file, void *arg);
int sigma_set_walk(const char *path, sigma_set_file_fn cb, void *arg);

/*
 * The literal prefilter (sigma_prefilter.h) is on by default: a rule whose
 * detection needs a literal runs only on events holding one of its
 * literals. Off runs every routed rule on every event – same alerts,
 * slower; for tests and benchmarks. Call before the first event.
 */
void sigma_set_prefilter(struct sigma_set *s, bool on);

/* Runs the set on one event; alerts go to emit (borrowed for the call). */
void sigma_set_eval(struct sigma_set *s, const struct detect_event *ev, detect_emit_fn emit,
    void *arg);

/* Rules and live correlations in the set, and the name (or id) of each. */
size_t sigma_set_count(const struct sigma_set *s);
const char *sigma_set_key(const struct sigma_set *s, size_t i);
/* Does entry i raise alerts (false for a rule that only feeds correlations)? */
bool sigma_set_alerts(const struct sigma_set *s, size_t i);

/* Empties every correlation window, as if just loaded; 0 or -1. */
int sigma_set_reset(struct sigma_set *s);

/* Events entry i matched (a rule) or times it fired (a correlation), since loaded. */
uint64_t sigma_set_hits(const struct sigma_set *s, size_t i);

/*
 * Entry i is a correlation: groups it evicted (its cap on groups was
 * reached) into *out, 0. A rule: -1.
 */
int sigma_set_evicted(const struct sigma_set *s, size_t i, uint64_t *out);

/*
 * Feeds of chained correlations (firings passed on, matches of their
 * rules) not made because one event set off too many (a folder whose
 * chains multiply; logged once).
 */
uint64_t sigma_set_chain_dropped(const struct sigma_set *s);
/* Bytes every correlation's groups hold (sigma_corr_bytes summed). */
uint64_t sigma_set_groups_bytes(const struct sigma_set *s);

/* Events the rules did not run on: memory ran out building their logsource's rule list. */
uint64_t sigma_set_eval_skipped(const struct sigma_set *s);

/* Correlation groups held now (metrics). */
size_t sigma_set_groups(const struct sigma_set *s);

/* A detector running s (takes ownership of s). */
struct detector *sigma_detector_new(struct sigma_set *s);
/* Replaces the detector's set with s (takes ownership; the old one is freed). */
void sigma_detector_swap(struct detector *d, struct sigma_set *s);
/* The set d runs now (borrowed; replaced by the next swap). */
const struct sigma_set *sigma_detector_set(const struct detector *d);

#endif
