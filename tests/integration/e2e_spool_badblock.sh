#!/usr/bin/env bash
# A bad block in the agent's spool. The agent's state folder is a small
# btrfs on a loop device (btrfs checks every data block, so a block whose
# bytes were changed on the disk reads as EIO – what a failing disk
# gives). The agent spools a numbered stream while the collector is away,
# the log file is then gone (rotated and deleted during the outage: the
# spool holds the only copy), and one 4 KiB block in the middle of the
# spool's segment is damaged on the device.
#
# When the collector comes, the lines in that block are lost (the saved
# file positions are past them, so they would be lost even with the log
# file still there), and every other line arrives: the records after the
# block are read on (event=spool_unreadable). Before, the scan stopped at
# the block and cut the segment there, losing every line after it.
# Needs root (loop device, mount) and btrfs-progs; reported as skipped (77)
# otherwise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_spool_badblock.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=3000
RUN=bb$$
IMG=$IT_WORK/state.img
STATE=$IT_WORK/state
if [[ $(id -u) != 0 ]] || ! command -v mkfs.btrfs >/dev/null || ! command -v btrfs-map-logical >/dev/null ||
	! command -v filefrag >/dev/null; then
	it_log "SKIP: needs root and btrfs-progs"
	exit 77
fi
mkdir -p "$STATE"
truncate -s 128M "$IMG"
mkfs.btrfs -q -f "$IMG" >/dev/null 2>&1 || it_fail "mkfs.btrfs failed"
# max_inline=0: even a small file's data is in a data block, checked on read.
mount_state() { mount -o loop,max_inline=0 "$IMG" "$STATE"; }
if ! mount_state 2>/dev/null; then
	it_log "SKIP: cannot mount a btrfs loop device here"
	exit 77
fi
chmod 0700 "$STATE"
trap 'umount -l "$STATE" 2>/dev/null; it_cleanup' EXIT

seq_setup "$IT_WORK/app/app.log"
# The state folder is the btrfs (seq_setup points the agent at $IT_WORK/state).
grep -q "state_dir: $STATE\$" "$IT_WORK/agent.yml" || it_fail "agent.yml: state_dir is not $STATE"
seq_start_agent
it_wait_for 10 "agent failing to connect" it_log_has agent "event=connect_failed"
"$SEQ_WRITER" -o "$SEQ_LOG" -n "$N" -r 0 -R "$RUN" >>"$IT_WORK/logs/writer.log" 2>&1 ||
	it_fail "seqwriter failed"
all_read() { seq_agent_stats | grep -q " lines_read=$N "; }
it_wait_for 30 "the agent to read all $N lines" all_read
it_stop agent
# Rotated and deleted while the collector was away: the spool is the only copy.
rm -f "$SEQ_LOG"
: >"$SEQ_LOG"

# One block in the middle of the segment, damaged on the device.
sync
SEG=$(ls "$STATE"/spool/*.seg)
[[ $(wc -l <<<"$SEG") == 1 ]] || it_fail "expected one segment: $SEG"
size=$(stat -c %s "$SEG")
((size > 64 * 4096)) || it_fail "segment too small to damage its middle: $size bytes"
# filefrag: the first extent's start in 4 KiB blocks (btrfs's logical address)
ext=$(filefrag -v -b4096 "$SEG" | awk '$1 == "0:" { sub(/\.\..*/, "", $4); print $4, $6; exit }') || true
read -r first len <<<"$ext" || true
len=${len%:}
[[ $first =~ ^[0-9]+$ && $len =~ ^[0-9]+$ ]] || it_fail "no extent for $SEG: $(filefrag -v "$SEG")"
blk=$((first + len / 2))
umount "$STATE" || it_fail "cannot unmount the state folder"
phys=$(btrfs-map-logical -l $((blk * 4096)) "$IMG" 2>/dev/null | awk '/mirror 1/ { for (i = 1; i < NF; i++) if ($i == "physical") { print $(i + 1); exit } }') || true
[[ $phys =~ ^[0-9]+$ ]] || it_fail "btrfs-map-logical gave no physical offset for block $blk"
printf 'BADBLOCK' | dd of="$IMG" bs=1 seek=$((phys + 100)) conv=notrunc,fsync status=none
mount_state || it_fail "cannot mount the state folder again"
if dd if="$SEG" of=/dev/null bs=4096 status=none 2>/dev/null; then
	it_fail "the damaged segment still reads whole: no bad block to test with (extent $first+$len, block $blk, physical $phys)"
fi
it_log "block $((len / 2)) of the segment's $len damaged (physical offset $phys)"

seq_start_collector
seq_start_agent
# Everything but the lines of one block: the last line too.
python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" --seen $((N - 1)) --all --wait 30 >/dev/null || {
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$N" || true
	it_fail "the lines after the bad block never arrived"
}
it_wait_for 30 "the agent to hold nothing unacknowledged" seq_agent_drained
it_log_has agent "event=spool_unreadable" || it_fail "the unreadable block was not reported"
python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" "$N" --missing-out "$IT_WORK/missing" >"$IT_WORK/check" || true
cat "$IT_WORK/check"
lost=$(wc -l <"$IT_WORK/missing")
# A record is at least 110 bytes here: one 4 KiB block holds parts of at most 39.
((lost >= 1 && lost <= 39)) || it_fail "$lost lines missing, expected those of one 4 KiB block (1..39)"
lo=$(head -n1 "$IT_WORK/missing")
hi=$(tail -n1 "$IT_WORK/missing")
((hi - lo + 1 == lost)) || it_fail "the missing lines are not one run: $(tr '\n' ' ' <"$IT_WORK/missing")"
grep -q 'dups=0' "$IT_WORK/check" || it_fail "lines arrived twice"
it_log "lost with the bad block: lines $lo..$hi ($lost); the other $((N - lost)) arrived once"
it_stop agent
it_stop collector
it_log "PASS"
