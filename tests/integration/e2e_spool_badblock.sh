#!/usr/bin/env bash
# A bad block in the agent's spool. The agent's state folder is a small
# btrfs on a loop device (btrfs checks every data block, so a block whose
# bytes were changed on the disk reads as EIO – what a failing disk
# gives). The agent spools a numbered stream while the collector is away,
# the log file is then gone (rotated and deleted during the outage: the
# spool holds the only copy), and one 4 KiB block in the middle of the
# spool's segment is damaged on the device.
#
# When the collector comes, the lines in that block are lost, and every
# other line arrives: the records after the block are read on
# (event=spool_unreadable). Before, the scan stopped at the block and cut
# the segment there, losing every line after it.
#
# With "kept" (e2e_spool_badblock_kept.sh) the log file is rotated by
# renaming it during the outage, not deleted: the agent finds it under its
# new name and reads the lines of the bad block again from it
# (event=spool_lines_recovered), so every line arrives exactly once.
# With "live" (e2e_spool_badblock_live.sh) the agent is not restarted: the
# block goes bad under it while most of the lines wait on disk only (a
# queue of 100), it meets the block when it reads them back for the
# collector, and reads the lines again from the log file, which it still
# follows: every line exactly once.
# With "tail" (e2e_spool_badblock_tail.sh) the block damaged is the
# segment's last – as a power cut tears the sector being written – with the
# log file renamed as with "kept": the agent starts all the same (before, it
# refused to until the segment was moved away), keeps the segment as it is
# and writes new records into a new one, and reads the lines after its last
# record read again from the file (event=spool_unreadable_tail): every line
# exactly once.
# Needs root (loop device, mount) and btrfs-progs; reported as skipped (77)
# otherwise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_spool_badblock.sh BUILD_DIR [kept]}"
KEPT=${2:-}
[[ -z $KEPT || $KEPT == kept || $KEPT == live || $KEPT == tail ]] || it_fail "unknown mode $KEPT"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=3000
RUN=bb$$
IMG=$IT_WORK/state.img
STATE=$IT_WORK/state
it_btrfs_mount "$IMG" "$STATE"
chmod 0700 "$STATE"

if [[ $KEPT == live ]]; then
	seq_setup "$IT_WORK/app/app.log" $'queue:\n  max_events: 100'
else
	seq_setup "$IT_WORK/app/app.log"
fi
# The state folder is the btrfs (seq_setup points the agent at $IT_WORK/state).
grep -q "state_dir: $STATE\$" "$IT_WORK/agent.yml" || it_fail "agent.yml: state_dir is not $STATE"
seq_start_agent
it_wait_for 10 "agent failing to connect" it_log_has agent "event=connect_failed"
"$SEQ_WRITER" -o "$SEQ_LOG" -n "$N" -r 0 -R "$RUN" >>"$IT_WORK/logs/writer.log" 2>&1 ||
	it_fail "seqwriter failed"
all_read() { seq_agent_stats | it_has " lines_read=$N "; }
it_wait_for 30 "the agent to read all $N lines" all_read
if [[ $KEPT == live ]]; then
	spooled() { [[ $(stat -c %s "$STATE"/spool/*.seg) -gt $((64 * 4096)) ]]; }
	it_wait_for 10 "the spool to hold the lines" spooled
	SEG=$(ls "$STATE"/spool/*.seg)
	it_btrfs_damage "$SEG" live
	seq_start_collector
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$N" --wait 30 ||
		it_fail "not every line arrived exactly once"
	it_wait_for 30 "the agent to hold nothing unacknowledged" seq_agent_drained
	it_log_has agent "event=spool_unreadable" || it_fail "the unreadable block was not reported"
	# Read (and reported) once, though the read-back takes it 100 records at a time.
	reads=$(grep -c 'event=spool_unreadable' "$IT_WORK/logs/agent.log")
	((reads == 1)) || it_fail "the bad block was read $reads times"
	it_log_has agent "event=spool_lines_recovered" || it_fail "no line was read again"
	it_log "every line arrived once: $(grep -o 'event=spool_lines_recovered.*lines=[0-9]*' \
		"$IT_WORK/logs/agent.log" | sed -n 1p)"
	it_stop agent
	it_stop collector
	it_log "PASS"
	exit 0
fi
it_stop agent
if [[ $KEPT == kept || $KEPT == tail ]]; then
	# Rotated (renamed) while the collector was away: the lines are still there.
	mv "$SEQ_LOG" "$SEQ_LOG.1"
else
	# Rotated and deleted while the collector was away: the spool is the only copy.
	rm -f "$SEQ_LOG"
fi
: >"$SEQ_LOG"

# One block in the middle of the segment (its last with "tail"), damaged on the device.
SEG=$(ls "$STATE"/spool/*.seg)
[[ $(wc -l <<<"$SEG") == 1 ]] || it_fail "expected one segment: $SEG"
size=$(stat -c %s "$SEG")
((size > 64 * 4096)) || it_fail "segment too small to damage its middle: $size bytes"
if [[ $KEPT == tail ]]; then
	it_btrfs_damage "$SEG" "" last
else
	it_btrfs_damage "$SEG"
fi

seq_start_collector
seq_start_agent
# Everything but the lines of one block: the last line too.
python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" --seen $((N - 1)) --all --wait 30 >/dev/null || {
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$N" || true
	it_fail "the lines after the bad block never arrived"
}
it_wait_for 30 "the agent to hold nothing unacknowledged" seq_agent_drained
it_log_has agent "event=spool_unreadable" || it_fail "the unreadable block was not reported"
if [[ $KEPT == tail ]]; then
	it_log_has agent "event=spool_unreadable_tail" || it_fail "the unreadable end was not reported"
	# Kept as it was until delivered: new records went into a new segment.
	[[ ! -e $SEG || $(stat -c %s "$SEG") == "$size" ]] || it_fail "the damaged segment was cut"
fi
if [[ $KEPT == tail ]]; then
	# The file's reading resumes from its last record read (an open hole
	# lowers where reading starts), so these lines come as new ones.
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$N" --wait 30 ||
		it_fail "not every line arrived exactly once"
	it_log "every line arrived once"
elif [[ $KEPT == kept ]]; then
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$N" --wait 30 ||
		it_fail "not every line arrived exactly once"
	it_log_has agent "event=spool_lines_recovered" || it_fail "no line was read again"
	it_log "every line arrived once: $(grep -o 'event=spool_lines_recovered.*lines=[0-9]*' \
		"$IT_WORK/logs/agent.log" | sed -n 1p)"
else
	# A record is at least 110 bytes here: one 4 KiB block holds parts of at most 39.
	seq_lost_one_run "$RUN" "$N" 39 lines
fi
it_stop agent
it_stop collector
it_log "PASS"
