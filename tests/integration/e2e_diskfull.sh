#!/usr/bin/env bash
# Disk full under the agent: its state folder is a small tmpfs, filled up
# while the collector is away. Lines written then cannot go to the spool:
# the agent says so (event=spool_write_error, counter spool_errors), keeps
# running and reads nothing it cannot keep. Once space is freed, reading
# resumes by itself; when the collector comes, every line is handled
# exactly once and the brute force among them raises its one alert.
# Needs root (mount); reported as skipped (77) otherwise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_diskfull.sh BUILD_DIR}"

STATE=$IT_WORK/state
mkdir -p "$STATE"
if [[ $(id -u) != 0 ]] || ! mount -t tmpfs -o size=512k,mode=0700 minisoc-test "$STATE" 2>/dev/null; then
	it_log "SKIP: needs root to mount a small tmpfs"
	exit 77
fi
# Lazily: detached at once even while a failed run's agent still has it open.
trap 'umount -l "$STATE" 2>/dev/null; it_cleanup' EXIT

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$STATE" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent failing to connect" it_log_has agent "event=connect_failed"
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2)

# Fill the file system to the last block.
dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null || true
N=300
for i in $(seq 1 $N); do
	if ((i % 30 == 0)); then
		echo "$(it_syslog_now) web1 sshd[9$i]: Failed password for admin from 192.0.2.77 port 1$i ssh2"
	else
		echo "$(it_syslog_now) web1 CRON[5$i]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0) #$i"
	fi
done >>"$AUTH"
it_wait_for 10 "spool write error reported" it_log_has agent "event=spool_write_error"
kill -USR1 "$IT_PID_agent"
it_wait_for 10 "agent counters" it_log_has agent "why=sigusr1"
stats=$(grep 'why=sigusr1' "$IT_WORK/logs/agent.log" | tail -n1)
grep -q ' spool_errors=0 ' <<<"$stats" && it_fail "spool errors not counted: $stats"
kill -0 "$IT_PID_agent" || it_fail "agent died on a full disk"

# Space again: reading resumes by itself, then the collector takes it all.
rm -f "$STATE/filler"
it_wait_for 10 "spool writes working again" it_log_has agent "event=spool_write_ok"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
LAST=$((FIRST + N - 1))
all_handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $LAST ]]; }
it_wait_for 30 "all $N lines handled (seq $FIRST..$LAST)" all_handled
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has " events_in=$N " ||
	it_fail "collector did not see exactly $N events: $(grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1)"
[[ $(it_redis_raw XLEN minisoc:alerts) == 1 ]] || it_fail "expected exactly one alert"
it_stop agent
it_stop collector
it_log "PASS"
