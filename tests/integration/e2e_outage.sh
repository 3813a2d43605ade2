#!/usr/bin/env bash
# Nothing lost across outages, with the real binaries and a real Redis:
#  A) lines appended while the collector is down arrive after it restarts;
#  B) lines appended while Redis is down arrive when Redis is back; meanwhile
#     the collector keeps the work in its spool on disk and acknowledges it
#     from there (the agent's queue empties);
#  C) lines appended while the agent is stopped are read after it restarts
#     (it resumes at the last acknowledged offset, not at the file's end).
# Each burst is 8 failures from its own IP: exactly one alert each.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_outage.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
# Redis persists to its append-only file, as in production.
IT_REDIS_AOF=yes
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"

burst() { # burst IP: 8 failed logins
	local i
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[4$i]: Failed password for root from $1 port 3$i$i ssh2"
	done >>"$AUTH"
}
alerts_for() { it_redis_raw XRANGE minisoc:alerts - + | grep -c "\"source\":{\"ip\":\"$1\"}" || true; }
has_alert() { (($(alerts_for "$1") >= 1)); }
hellos() { grep -c 'event=hello .*agent=web1' "$IT_WORK/logs/collector.log" || true; }

it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
# The collector logs the hello before its reply reaches the agent: stopping
# it now could leave the agent mid-handshake, never connected.
it_wait_for 10 "agent connected" it_log_has agent "event=connected"

# A) collector down
it_stop collector
mv "$IT_WORK/logs/collector.log" "$IT_WORK/logs/collector-1.log"
burst 203.0.113.10
it_wait_for 10 "agent to notice the collector is gone" it_log_has agent "event=disconnected"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "alert A after the collector restart" has_alert 203.0.113.10
it_log "A: alert arrived after the collector restart"

# B) Redis down: the collector keeps the work in its spool and acks from there.
it_redis SHUTDOWN NOSAVE >/dev/null 2>&1 || true
it_wait_for 10 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
burst 203.0.113.20
# Detection ran (the collector logged the alert) ...
it_wait_for 10 "collector to raise alert B" it_log_has collector "event=alert .*src_ip=203.0.113.20"
# ... and the spool holds it durably, so the agent is acknowledged.
it_wait_for 10 "spool started" it_log_has collector "event=spool_start .*reason=redis_unreachable"
agent_queue_empty() {
	local before
	before=$(grep -c 'why=sigusr1' "$IT_WORK/logs/agent.log" || true)
	kill -USR1 "$IT_PID_agent"
	it_wait_for 10 "agent counters" eval '(($(grep -c "why=sigusr1" "$IT_WORK/logs/agent.log") > before))'
	grep 'why=sigusr1' "$IT_WORK/logs/agent.log" | tail -n1 | it_has ' queued=0 '
}
it_wait_for 10 "the agent acknowledged from the collector's spool" agent_queue_empty
[[ -s $IT_WORK/collector.spool/sink.journal ]] || it_fail "the spool file is empty while Redis is down"
# Redis back on the same port with the same data folder.
mv "$IT_WORK/logs/redis.log" "$IT_WORK/logs/redis-1.log"
it_start_redis
it_wait_for 15 "alert B after Redis came back" has_alert 203.0.113.20
it_wait_for 10 "spool replayed" it_log_has collector "event=spool_replayed"
it_log "B: alert arrived after Redis came back"

# D) Redis up but refusing writes (out of memory): the work goes to the spool
# (nothing is lost, the agent is acknowledged from there) until Redis accepts it.
it_redis CONFIG SET maxmemory-policy noeviction >/dev/null
it_redis CONFIG SET maxmemory 1 >/dev/null
burst 203.0.113.40
it_wait_for 10 "Redis to refuse the alert" it_log_has collector "event=redis_error .*OOM"
it_wait_for 10 "the agent acknowledged from the collector's spool" agent_queue_empty
(($(alerts_for 203.0.113.40) == 0)) || it_fail "alert D stored although Redis refused it"
it_redis CONFIG SET maxmemory 0 >/dev/null
it_wait_for 15 "alert D once Redis accepts writes again" has_alert 203.0.113.40
it_log "D: alert arrived once Redis accepted writes again"

# E) Redis refuses only the alert (the stream key has the wrong type): the
# agent's handled number must not move past the refused alert.
seq_before=$(it_redis_raw HGET minisoc:agents:seq web1)
it_redis DEL minisoc:alerts:saved >/dev/null
it_redis RENAME minisoc:alerts minisoc:alerts:saved >/dev/null
it_redis SET minisoc:alerts notastream >/dev/null
burst 203.0.113.50
it_wait_for 10 "Redis to refuse the alert" it_log_has collector "event=redis_error .*WRONGTYPE"
# Earlier lines of the burst may be checkpointed; the 8th raised the alert.
(($(it_redis_raw HGET minisoc:agents:seq web1) < seq_before + 8)) ||
	it_fail "handled number moved past an alert Redis refused"
# One RENAME replaces the string at once: a retry landing between a DEL and
# the RENAME would write a new stream that the RENAME then overwrote.
it_redis RENAME minisoc:alerts:saved minisoc:alerts >/dev/null
it_wait_for 15 "alert E once the stream is writable" has_alert 203.0.113.50
it_log "E: a refused alert held the checkpoint back until it was stored"

# C) agent stopped while lines are written.
it_stop agent
mv "$IT_WORK/logs/agent.log" "$IT_WORK/logs/agent-1.log"
burst 203.0.113.30
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "alert C after the agent restart" has_alert 203.0.113.30
it_log "C: alert arrived after the agent restart"

# Every line handled exactly once by detection: one alert per burst.
for ip in 203.0.113.10 203.0.113.20 203.0.113.30 203.0.113.40 203.0.113.50; do
	n=$(alerts_for $ip)
	[[ $n == 1 ]] || it_fail "expected 1 alert for $ip, found $n"
done
grep -q 'resending=' "$IT_WORK/logs/agent.log" || it_fail "agent did not log its reconnect"
it_stop agent
it_stop collector
it_log "PASS"
