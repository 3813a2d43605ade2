/*
 * sigma_prefilter – one pass over an event's fields for every literal of a
 * list of rules, so that only rules that can match are evaluated.
 *
 * At build time each rule's detection is reduced to up to four sets
 * (clauses) of necessary literals: (field, bytes) pairs such that
 * whenever the rule matches, at least one literal of every clause occurs
 * (ASCII case-insensitively) in the value of its field, or in the message
 * for keyword searches (a regular expression without literals but with a
 * long minimum length: a value at least that long). A rule for which no
 * such set exists (a condition that is only "not ...", a regex without
 * literals, a null or numeric test on some branch ...) always runs. Per
 * event, every field that has literals is scanned once with one
 * Hyperscan database holding all of them (a short value of a field with
 * few literals: a direct search); a value of a field met again (most
 * repeat: user agents, URI stems, record types, command names) is not
 * scanned again, the literals found in it the first time are remembered
 * with it (a small table of recent values, compared byte for byte). A
 * rule with literals runs only when every one of its clauses had a
 * literal found. A literal many clauses share (most rules of a logsource
 * name the same few values) is registered once per field and, found,
 * counts for all of them. A scan that would report too many matches (a
 * hostile line repeating a literal) stops and fails open: every rule runs.
 *
 * The filter never changes results: it can only skip a rule whose
 * detection is false on the event (tests/unit/test_sigma_prefilter.c runs
 * every rule with and without it and compares the alerts).
 */
#ifndef SIGMA_PREFILTER_H
#define SIGMA_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "sigma.h"

struct sigma_prefilter;

/*
 * Builds the filter for rules[0..n) (borrowed: the rules must outlive the
 * filter). Returns an owned filter, or NULL when out of memory or when the
 * literal database cannot be compiled – the caller then runs every rule.
 * A filter holds its own scan scratch: one thread at a time.
 */
struct sigma_prefilter *sigma_prefilter_new(const struct sigma_rule *const *rules, size_t n);
void sigma_prefilter_free(struct sigma_prefilter *pf);

/*
 * Scans ev (its named fields and its message) once. Afterwards
 * sigma_prefilter_may_match(pf, i) is false only when rule i (index into
 * the list given at build time) cannot match ev. Returns 0, or -1 when the
 * scan failed: then every rule may match.
 */
int sigma_prefilter_scan(struct sigma_prefilter *pf, const struct sigma_event *ev);
bool sigma_prefilter_may_match(const struct sigma_prefilter *pf, size_t i);
/*
 * After a scan: the indices of the rules that may match, in rule order, in
 * *list (borrowed until the next scan), and their count – or SIZE_MAX when
 * the scan failed and every rule may match.
 */
size_t sigma_prefilter_candidates(struct sigma_prefilter *pf, const size_t **list);

/*
 * Rules that are filtered (have necessary literals), and distinct literals
 * registered (per field, ASCII case-folded: rules share most of theirs).
 */
size_t sigma_prefilter_nfiltered(const struct sigma_prefilter *pf);
size_t sigma_prefilter_nliterals(const struct sigma_prefilter *pf);
/*
 * Fields whose short values are searched without the memo of scanned
 * values for now, their values seldom repeating (see PF_MSTAT_* in
 * sigma_prefilter.c).
 */
size_t sigma_prefilter_nskipping(const struct sigma_prefilter *pf);

#endif
