#!/usr/bin/env bash
# Spool full: the agent never drops. With no collector, a 16-event memory
# queue and a 64 KiB spool, 1000 appended lines fill the spool and reading
# pauses (spool_full counted, the rest stays in the file). The agent is
# killed (SIGKILL) while paused and started again: the spool is recovered.
# When the collector comes, reading resumes by itself and every one of the
# 1000 lines is handled exactly once; the brute force among them raises its
# one alert.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_backpressure.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
cat >>"$IT_WORK/agent.yml" <<YML
queue:
  max_events: 16
spool:
  max_bytes: 64KiB
batch:
  max_events: 5
YML
N=1000
# The agent first, with nowhere to send.
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent failing to connect" it_log_has agent "event=connect_failed"
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2)
for i in $(seq 1 $N); do
	if ((i % 25 == 0)); then
		echo "$(it_syslog_now) web1 sshd[9$i]: Failed password for admin from 192.0.2.44 port 1$i ssh2"
	else
		echo "$(it_syslog_now) web1 CRON[5$i]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0) #$i"
	fi
done >>"$AUTH"
it_wait_for 10 "spool full" it_log_has agent "event=spool_full"
kill -USR1 "$IT_PID_agent"
it_wait_for 10 "agent counters" it_log_has agent "why=sigusr1"
stats=$(grep 'why=sigusr1' "$IT_WORK/logs/agent.log" | tail -n1)
grep -q ' queued=16 ' <<<"$stats" || it_fail "memory queue not capped at 16: $stats"
READ=$(grep -o ' lines_read=[0-9]*' <<<"$stats" | cut -d= -f2)
((READ > 0 && READ < N)) || it_fail "reading did not pause on a full spool: $stats"
spool_bytes() { cat "$IT_WORK"/state/spool/*.seg | wc -c; }
bytes=$(spool_bytes)
((bytes <= 65536)) || it_fail "spool is $bytes bytes, over its 64 KiB cap"
it_log "paused after $READ of $N lines, spool $bytes bytes"

# A crash while paused: the spool is found again, nothing read twice.
kill -KILL "$IT_PID_agent"
wait "$IT_PID_agent" 2>/dev/null || true
mv "$IT_WORK/logs/agent.log" "$IT_WORK/logs/agent-1.log"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "spool recovered" it_log_has agent "event=spool_recovered records=$READ "
# The start line (with first_seq) comes after the spool's.
it_wait_for 10 "agent started" it_log_has agent "event=start "
SECOND=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2)

it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
LAST=$((SECOND + N - READ - 1))
all_handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $LAST ]]; }
it_wait_for 30 "all $N lines handled (seq $FIRST..$((FIRST + READ - 1)), then $SECOND..$LAST)" all_handled
it_log_has agent "event=spool_resumed" || it_fail "reading did not resume by itself"
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has " events_in=$N " ||
	it_fail "collector did not see exactly $N events: $(grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1)"
[[ $(it_redis_raw XLEN minisoc:alerts) == 1 ]] || it_fail "expected exactly one alert"
it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"192.0.2.44"}' || it_fail "wrong alert"
it_stop agent
# Everything acknowledged: the spool shrinks back to its last segment.
bytes=$(spool_bytes)
it_log "spool after delivery: $bytes bytes"
it_stop collector
it_log "PASS"
