#!/usr/bin/env bash
# logrotate's default way, under load: "create" (the file is renamed to
# app.log.<k> and an empty app.log created) with a postrotate reload that
# makes the daemon reopen its log only a moment later. Until the reload, the
# daemon goes on appending to the renamed file. Every line must arrive,
# those included: they are in a file that still exists.
#
# The writer (bench/seqwriter -x create:LINES -w MS) plays logrotate and the
# daemon: it rotates every 4,000 lines at 5,000 lines/s and reopens 200 ms
# after each rotation (a reload that takes 200 ms: nginx, rsyslog and the
# like take from a few to hundreds of milliseconds).
#
# The agent reads a rotated file on beside the new one until it has not
# grown for agent.rotate_wait_ms (5 s by default), so those lines arrive.
# ROTATION_CREATE_KNOWN_BUG=1 turns a loss confined to the post-rotation
# windows into a skip (exit 77) – for agents without that; not set in CI.
#
# CI length: 20,000 lines, 4 rotations. Full length: ROTATION_CREATE_LINES,
# ROTATION_CREATE_RATE, ROTATION_CREATE_EVERY, ROTATION_CREATE_REOPEN_MS.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_rotation_create.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

LINES=${ROTATION_CREATE_LINES:-20000}
RATE=${ROTATION_CREATE_RATE:-5000}
EVERY=${ROTATION_CREATE_EVERY:-4000}
REOPEN_MS=${ROTATION_CREATE_REOPEN_MS:-200}
KNOWN_BUG=${ROTATION_CREATE_KNOWN_BUG:-0}
RUN=rc$$

seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
it_log "create: $LINES lines at $RATE lines/s, rotated every $EVERY lines, reopened ${REOPEN_MS} ms later"
seq_writer -n "$LINES" -r "$RATE" -R "$RUN" -x "create:$EVERY" -w "$REOPEN_MS"
seq_writer_wait
seq_wait_last "$RUN" "$LINES" 60
if out=$(python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$LINES" --missing-out "$IT_WORK/missing"); then
	echo "$out"
	it_stop agent
	it_stop collector
	it_log "PASS"
	exit 0
fi
echo "$out"
# Lines written to the renamed file after the rotation: the first
# rate x delay (+ 100 ms of slack) numbers after each multiple of EVERY.
window=$((RATE * (REOPEN_MS + 100) / 1000))
outside=$(awk -v e="$EVERY" -v w="$window" '$1 < e || $1 % e >= w' "$IT_WORK/missing" | sed -n 1,20p)
lost=$(wc -l <"$IT_WORK/missing")
grep -q ' dups=0$' <<<"$out" || it_fail "lines doubled"
[[ -z $outside ]] || it_fail "lines lost outside the post-rotation windows (first: $(echo $outside))"
it_log "KNOWN BUG: $lost lines lost, all appended to a renamed file after its rotation" \
	"(the agent stops reading it once the new file exists)"
((KNOWN_BUG == 1)) || it_fail "$lost lines lost after rotations (ROTATION_CREATE_KNOWN_BUG=1 reports it as skipped)"
it_stop agent
it_stop collector
exit 77
