#!/usr/bin/env bash
# Log rotation under load: while a writer appends a numbered stream at
# 5,000 lines/s, the file is rotated every 4,000 lines, three ways in turn
# (one run each), and each run's exact sequence 0..N-1 must arrive: nothing
# missing, nothing twice.
#
#  rename        the file is renamed to app.log.<k> and a new app.log created
#  copytruncate  app.log is copied to app.log.<k>, then truncated to 0
#  delete        app.log is unlinked and a new one created (the agent still
#                holds the old one open and reads it to its end)
#
# The writer rotates its own file between two lines (bench/seqwriter -x),
# the way an application with its own log rotation does: nothing is written
# to the old file once the new one exists. (logrotate's "create" followed by
# a postrotate reload lets a daemon go on writing to the renamed file for a
# moment: e2e_rotation_create.sh.)
#
# copytruncate is unfair by nature: whatever is written between the copy and
# the truncation exists only in the copy, and whatever the agent had not
# read yet when the truncation came is gone from the file it follows. That
# is logrotate's race, not ours, so the rotator plays it at a quiet moment:
# the writer is paused (it runs the hook and waits for it) until the alert
# of the last line written is visible, then copies and truncates, then goes
# on. Rename and delete need no pause: the old file stays readable.
#
# CI length: 24,000 lines per mode at 5,000 lines/s, a rotation every 4,000
# lines (5 per mode). Full length: ROTATION_LINES=300000 ROTATION_EVERY=20000
# (ROTATION_RATE sets the rate).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_rotation_rate.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

LINES=${ROTATION_LINES:-24000}
RATE=${ROTATION_RATE:-5000}
EVERY=${ROTATION_EVERY:-4000}

seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
for mode in rename copytruncate delete; do
	run=rot-$mode-$$
	hook=()
	if [[ $mode == copytruncate ]]; then
		hook=(-k "python3 '$SEQ_CHECK' $IT_REDIS_PORT $run --seen \"\$SEQ_LAST\" --wait 30")
	fi
	it_log "$mode: $LINES lines at $RATE lines/s, rotated every $EVERY lines"
	seq_writer -n "$LINES" -r "$RATE" -R "$run" -x "$mode:$EVERY" "${hook[@]}"
	seq_writer_wait
	rotations=$(tail -n1 "$IT_WORK/logs/writer.log" | grep -o 'rotations=[0-9]*' | cut -d= -f2)
	((rotations == (LINES - 1) / EVERY)) || it_fail "$mode: $rotations rotations, expected $(((LINES - 1) / EVERY))"
	seq_verify "$run" "$LINES" 60
	rm -f "$SEQ_LOG".*
done
it_stop agent
it_stop collector
it_log "PASS"
