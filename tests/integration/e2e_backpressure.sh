#!/usr/bin/env bash
# The agent never drops silently: with a tiny queue (16 events) and no
# collector, 200 appended lines make the agent pause reading (counted as
# queue_full) instead of dropping; when the collector comes, every one of
# the 200 lines is handled and the brute force among them raises its alert.
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
batch:
  max_events: 5
YML
# The agent first, with nowhere to send.
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent failing to connect" it_log_has agent "event=connect_failed"
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | head -n1 | cut -d= -f2)
for i in $(seq 1 200); do
	if ((i % 25 == 0)); then
		echo "$(it_syslog_now) web1 sshd[9$i]: Failed password for admin from 192.0.2.44 port 1$i ssh2"
	else
		echo "$(it_syslog_now) web1 CRON[5$i]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0) #$i"
	fi
done >>"$AUTH"
kill -USR1 "$IT_PID_agent"
it_wait_for 10 "agent counters" it_log_has agent "why=sigusr1"
stats=$(grep 'why=sigusr1' "$IT_WORK/logs/agent.log" | tail -n1)
grep -q ' queued=16 ' <<<"$stats" || it_fail "queue not capped at 16: $stats"
grep -q ' queue_full=0 ' <<<"$stats" && it_fail "reading did not pause on a full queue: $stats"

it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
LAST=$((FIRST + 199))
all_handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $LAST ]]; }
it_wait_for 20 "all 200 lines handled (seq $LAST)" all_handled
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | grep -q ' events_in=200 ' ||
	it_fail "collector did not see exactly 200 events"
[[ $(it_redis_raw XLEN minisoc:alerts) == 1 ]] || it_fail "expected exactly one alert"
it_redis_raw XRANGE minisoc:alerts - + | grep -q '"src_ip":"192.0.2.44"' || it_fail "wrong alert"
it_stop agent
it_stop collector
it_log "PASS"
