/*
 * aggregate – folds repeated alerts so that a flood does not bury the
 * operator.
 *
 * Alerts of the same rule on the same key (agent, source IP, first user,
 * correlation group-by values) within the rule's window are one
 * aggregate: the first goes out at once; the others are only counted. When
 * the window (measured from the first, on the collector's clock) ends and
 * more than one alert fell in it, one summary alert goes out: same rule
 * and key, count = events of every alert of the window, first and last
 * seen over all of them, aggregate.alerts = how many were folded in
 * (the first included), aggregate.first_id = the id of the first, and
 * samples of the latest folded ones. The window is alerts.aggregate_window_s,
 * or the rule's entry in alerts.aggregate_rules ("rule=seconds,..." by rule
 * id or name; 0 = never folded).
 *
 * Memory: one small entry per open window (at most max_keys in all; the
 * oldest is closed early when more come), in a map per window length; a
 * summary buffer only once an alert is folded in. The summaries of a
 * window live in memory only: a collector crash loses a pending summary
 * (the first alert of the window is already stored).
 */
#ifndef AGGREGATE_H
#define AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"

struct aggregate;

/*
 * window_ms: default window (0 = no folding unless a rule says otherwise);
 * rules: "rule=seconds,..." (may be "" or NULL); max_keys: open windows at
 * most. NULL with err filled when rules does not parse.
 */
struct aggregate *aggregate_new(int64_t window_ms, const char *rules, size_t max_keys,
    char *err, size_t errsz);
void aggregate_free(struct aggregate *ag);

/*
 * Offers a just-raised alert (its id filled). Returns true when it was
 * folded into an open window (the caller does not send it), false when
 * the caller sends it (it may open a window). An entry pushed out by
 * max_keys has its summary emitted first, through emit.
 */
bool aggregate_offer(struct aggregate *ag, const struct alert *a, int64_t now_ms,
    detect_emit_fn emit, void *arg);
/*
 * Closes windows that ended by now_ms (every open one with flush),
 * emitting their summaries: at most max of them (0 = no limit). Returns
 * true when ended windows are left for another call, so that a caller can
 * let other work run between a flood's summaries. Costs nothing per window
 * still open.
 */
bool aggregate_tick(struct aggregate *ag, int64_t now_ms, bool flush, size_t max,
    detect_emit_fn emit, void *arg);
/* Open windows now. */
size_t aggregate_open(const struct aggregate *ag);

#endif
