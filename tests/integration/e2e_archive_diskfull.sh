#!/usr/bin/env bash
# Disk full under the collector's event archive (a small tmpfs, filled to
# the last block): the collector says so (event=archive_error), keeps
# handling and acknowledging events and raising alerts – intake never waits
# for the archive – and holds what it could not write. Once space is freed
# the held records are written: the archive ends up with every line,
# exactly once, and nothing is counted as dropped.
# Needs root (mount); reported as skipped (77) otherwise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_archive_diskfull.sh BUILD_DIR}"

ARCH=$IT_WORK/archive
mkdir -p "$ARCH"
if [[ $(id -u) != 0 ]] || ! mount -t tmpfs -o size=1m,mode=0700 minisoc-test "$ARCH" 2>/dev/null; then
	it_log "SKIP: needs root to mount a small tmpfs"
	exit 77
fi
trap 'umount -l "$ARCH" 2>/dev/null; it_cleanup' EXIT

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
archive:
  path: $ARCH
  sync_ms: 100
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
LOG=$IT_WORK/auth.log
echo "$(it_syslog_now) web1 app[1]: first line, before the disk fills" >"$LOG"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" beginning "$LOG"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
FIRST_seq() { grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2; }
it_wait_for 10 "agent started" bash -c "grep -q first_seq= '$IT_WORK/logs/agent.log'"
FIRST=$(FIRST_seq)
handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $1 ]]; }
it_wait_for 10 "first line handled" handled "$FIRST"
it_wait_for 10 "day file opened" bash -c "ls '$ARCH'/unassigned/*.zst >/dev/null 2>&1"

# Fill the file system to the last block; then 400 lines, a brute force among them.
dd if=/dev/zero of="$ARCH/filler" bs=4k 2>/dev/null || true
lines=()
for i in $(seq 1 400); do
	if ((i % 40 == 0)); then
		lines+=("$(it_syslog_now) web1 sshd[9$i]: Failed password for admin from 192.0.2.77 port 1$i ssh2")
	else
		lines+=("$(it_syslog_now) web1 app[2]: order $i stored while the archive disk is full, token $SRANDOM$SRANDOM$SRANDOM$SRANDOM$SRANDOM$SRANDOM")
	fi
done
printf '%s\n' "${lines[@]}" >>"$LOG"
N=$((1 + ${#lines[@]}))
LAST=$((FIRST + N - 1))
it_wait_for 20 "all lines handled and acknowledged despite the full archive disk" handled "$LAST"
it_wait_for 10 "archive error reported" it_log_has collector "event=archive_error"
it_wait_for 10 "the brute force alert" bash -c "[[ \$(redis-cli --raw -p $IT_REDIS_PORT XLEN minisoc:alerts) -ge 1 ]]"
kill -0 "$IT_PID_collector" || it_fail "collector died on a full disk"
count() { "$IT_CLI" search -A "$ARCH" --count 2>/dev/null || true; }
got=$(count)
it_log "records readable while full: $got of $N"
((got < N)) || it_fail "the disk was full, yet all $N records were written"

# Space again: the held records go out at the next flush or sync.
rm -f "$ARCH/filler"
all_there() { [[ $(count) == "$N" ]]; }
it_wait_for 10 "all $N records in the archive" all_there
it_stop agent
it_stop collector
grep -q 'event=archive_stats .* dropped=0 ' "$IT_WORK/logs/collector.log" ||
	it_fail "records dropped: $(grep event=archive_stats "$IT_WORK/logs/collector.log")"
grep 'event=archive_stats' "$IT_WORK/logs/collector.log"
grep -q 'event=archive_stats .* write_errors=0 ' "$IT_WORK/logs/collector.log" &&
	it_fail "write errors not counted"
[[ $("$IT_CLI" search -A "$ARCH" --count --text 'order 399 stored' 2>/dev/null) == 1 ]] ||
	it_fail "a line written while full is not in the archive exactly once"
zstdcat "$ARCH"/unassigned/*.zst | wc -l | it_has -x "$N" || it_fail "zstdcat does not read $N records"
it_log "PASS"
