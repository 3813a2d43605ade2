#!/usr/bin/env bash
# A bad block in the collector's spool. spool.dir is a small btrfs on a
# loop device (btrfs checks every data block, so a block whose bytes were
# changed on the disk reads as EIO – what a failing disk gives). Redis is
# stopped, a numbered stream (one alert per line) is acknowledged to the
# agent from the collector's spool, the collector is killed, and one 4 KiB
# block in the middle of sink.journal is damaged on the device.
#
# When the collector starts again with Redis back, the alerts of the
# records in that block are lost (their agent was acknowledged and holds
# them no more), and every other one arrives, once: reading goes on at the
# next block (event=spool_damaged). Before, the scan stopped at the block
# and cut the journal there, losing every alert after it.
# Needs root (loop device, mount) and btrfs-progs; reported as skipped (77)
# otherwise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_journal_badblock.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=3000
RUN=jb$$
IMG=$IT_WORK/spool.img
SPOOL=$IT_WORK/collector.spool
it_btrfs_mount "$IMG" "$SPOOL"

seq_setup "$IT_WORK/app/app.log"
grep -q "dir: $SPOOL\$" "$IT_WORK/collector.yml" || it_fail "collector.yml: spool.dir is not $SPOOL"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
it_redis SHUTDOWN NOSAVE >/dev/null 2>&1 || true
it_wait_for 10 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
# A steady rate: agent batches of a few lines, so a record is a few alerts.
seq_writer -n "$N" -r 1000 -R "$RUN"
seq_writer_wait
# Acknowledged from the spool: the agent holds nothing, the collector's disk has it all.
it_wait_for 30 "agent drained while Redis is down" seq_agent_drained
seq_kill9 collector
it_stop agent

J=$SPOOL/sink.journal
size=$(stat -c %s "$J")
((size > 64 * 4096)) || it_fail "spool too small to damage its middle: $size bytes"
it_btrfs_damage "$J"

mv "$IT_WORK/logs/redis.log" "$IT_WORK/logs/redis-1.log"
it_start_redis
seq_start_collector
seq_start_agent
it_wait_for 60 "spool replayed" it_log_has collector "event=spool_replayed"
it_log_has collector "event=spool_damaged" || it_fail "the damaged block was not reported"
# One block, and the record that starts before it: a few batches of a few alerts.
seq_lost_one_run "$RUN" "$N" 60 alerts
it_stop agent
it_stop collector
it_log "PASS"
