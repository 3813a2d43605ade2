#!/usr/bin/env bash
# One agent over its event rate does not slow the others: the collector
# caps each agent at limits.agent_events_per_s (500 here). Agent A gets
# 2,000 lines at once and is paused by the collector (sessions_throttled,
# event=agent_throttled), nothing dropped: all 2,000 are handled, at about
# the cap. Meanwhile agent B's brute force raises its alert at once.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_throttle.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1 web2
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
limits:
  agent_events_per_s: 500
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
for a in web1 web2; do
	: >"$IT_WORK/$a.log"
	it_agent_conf "$IT_WORK/$a.yml" "$IT_WORK/pki" "$a" "$CPORT" "$IT_WORK/state-$a" end "$IT_WORK/$a.log"
	# Small batches: the collector charges a batch after taking it, so the
	# last one's wait is not seen; with 100 the bound below is tight.
	printf 'batch:\n  max_events: 100\n' >>"$IT_WORK/$a.yml"
done
it_start agentA "$IT_AGENT" -c "$IT_WORK/web1.yml"
it_start agentB "$IT_AGENT" -c "$IT_WORK/web2.yml"
it_wait_for 10 "agent A connected" it_log_has agentA "event=connected"
it_wait_for 10 "agent B connected" it_log_has agentB "event=connected"
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agentA.log" | sed -n 1p | cut -d= -f2)

N=2000
# Built first, appended at once: a slow shell must not pace the lines itself.
now=$(it_syslog_now)
for i in $(seq 1 $N); do
	echo "$now web1 CRON[5$i]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0) #$i"
done >"$IT_WORK/lines"
start=$(date +%s%N)
cat "$IT_WORK/lines" >>"$IT_WORK/web1.log"
it_wait_for 10 "agent A throttled" it_log_has collector "event=agent_throttled agent=web1"

# B while A is held back: its alert comes at once.
b_start=$(date +%s%N)
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web2 sshd[7$i]: Failed password for root from 198.51.100.80 port 3$i$i ssh2"
done >>"$IT_WORK/web2.log"
has_b() { it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"198.51.100.80"}'; }
it_wait_for 10 "agent B's alert" has_b
b_ms=$((($(date +%s%N) - b_start) / 1000000))

LAST=$((FIRST + N - 1))
all_a() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $LAST ]]; }
it_wait_for 20 "all $N lines of agent A handled" all_a
a_ms=$((($(date +%s%N) - start) / 1000000))
a_left=$(it_redis_raw HGET minisoc:agents:seq web1)
it_log "agent B's alert after ${b_ms} ms; agent A's $N lines took ${a_ms} ms"
# The cap holds: 2,000 events at 500/s with a 500-event bucket, charged per
# batch of 100, take at least (2000 - 500 - 100) / 500 = 2.8 s.
((a_ms >= 2500)) || it_fail "agent A was not held to its rate (${a_ms} ms)"
((b_ms < a_ms / 2)) || it_fail "agent B was slowed down with agent A (${b_ms} ms)"
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
stats=$(grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1)
grep -q " sessions_throttled=0 " <<<"$stats" && it_fail "throttling not counted: $stats"
grep -q " events_in=$((N + 8)) " <<<"$stats" || it_fail "events lost or doubled: $stats"
it_stop agentA
it_stop agentB
it_stop collector
it_log "PASS"
