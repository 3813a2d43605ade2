#!/usr/bin/env bash
# The collector dies by SIGKILL several times while a writer appends a
# numbered stream at a steady rate, and is started again each time: every
# line arrives, and none raises its alert twice (the collector reads each
# agent's handled number back from Redis and skips what the agent resends).
#
# A batch's alerts and its checkpoint (HSET minisoc:agents:seq) are one Lua
# script in Redis, so a collector killed mid-batch leaves neither; copies
# are printed and fail the test (CRASH_COLLECTOR_MAX_DUPS, default 0).
#
# CI length: 100,000 lines at 5,000 lines/s (20 s), 5 kills, evenly spread
# over the stream. Full length (what the issue asks): the same; longer
# streams with CRASH_COLLECTOR_LINES, CRASH_COLLECTOR_RATE,
# CRASH_COLLECTOR_KILLS.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crash_collector.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

LINES=${CRASH_COLLECTOR_LINES:-100000}
RATE=${CRASH_COLLECTOR_RATE:-5000}
KILLS=${CRASH_COLLECTOR_KILLS:-5}
MAX_DUPS=${CRASH_COLLECTOR_MAX_DUPS:-0}
RUN=cc$$

seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
it_log "writing $LINES lines at $RATE lines/s, killing the collector $KILLS times"
seq_writer -n "$LINES" -r "$RATE" -R "$RUN"
for ((k = 1; k <= KILLS; k++)); do
	at=$((LINES * k / (KILLS + 1)))
	started_at=$(seq_alerts)
	it_wait_for 120 "writer at line $at" seq_written_ge "$at"
	# Killed while it works: it has raised alerts since it started.
	it_wait_for 30 "collector $k to raise alerts" seq_alerts_grew "$started_at"
	seq_kill9 collector
	it_log "kill $k: writer at line $(seq_written), $(seq_alerts) alerts stored"
	seq_start_collector
done
seq_writer_wait
seq_verify "$RUN" "$LINES" 120 --allow-dups
it_log "handled numbers read back at each hello:" \
	$(grep -h 'event=hello' "$IT_WORK"/logs/collector*.log | grep -o 'handled_seq=[0-9]*' | cut -d= -f2)
dups=$(grep -o 'dups=[0-9]*' <<<"$SEQ_RESULT" | cut -d= -f2)
if ((dups > 0)); then
	it_log "KNOWN GAP: $dups alerts stored twice after $KILLS collector kills" \
		"(alerts stored, checkpoint not yet: see the comment at the top)"
fi
((dups <= MAX_DUPS)) || it_fail "$dups alerts stored twice (CRASH_COLLECTOR_MAX_DUPS=$MAX_DUPS)"
it_stop agent
it_stop collector
it_log "PASS"
