#!/usr/bin/env bash
# Flood control without loss, end to end: an agent limited to 200 lines/s
# gets 1000 lines at once. It reads them at its pace (rate_limited and
# paused_ms counted), reports it in its health telemetry, the collector
# raises one "agent flooding" alert, and every line is handled exactly
# once.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_flood.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
agents:
  heartbeat_ms: 200
YML
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
sed -i 's/^agent:$/agent:\n  max_lines_per_s: 200/; s/^uplink:$/uplink:\n  heartbeat_ms: 200\n  health_ms: 300/' "$IT_WORK/agent.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent connected" it_log_has agent "event=connected"
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2)

N=1000
# Built first, appended at once: a slow shell must not pace the lines itself.
now=$(it_syslog_now)
for i in $(seq 1 $N); do
	echo "$now web1 CRON[5$i]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0) #$i"
done >"$IT_WORK/lines"
cat "$IT_WORK/lines" >>"$AUTH"
it_wait_for 10 "agent slowing down" it_log_has agent "event=rate_limited"
flooding() { (($(it_redis_raw XRANGE minisoc:alerts - + | grep -c '"id":"minisoc-agent-flooding"') == 1)); }
it_wait_for 10 "flooding alert" flooding
LAST=$((FIRST + N - 1))
all_handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $LAST ]]; }
it_wait_for 20 "all $N lines handled" all_handled
limited=$(it_redis_raw HGET minisoc:agent:web1:health count.rate_limited)
((limited > 0)) || it_fail "health report does not show the rate limit (count.rate_limited=$limited)"
it_stop agent
stats=$(grep 'why=exit' "$IT_WORK/logs/agent.log" | tail -n1)
paused=$(grep -o ' paused_ms=[0-9]*' <<<"$stats" | cut -d= -f2)
# 1000 lines at 200/s with a 200-line bucket: about 4 s of waiting.
((paused >= 2000)) || it_fail "reading was not slowed down: $stats"
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has " events_in=$N " ||
	it_fail "collector did not see exactly $N events"
flooding || it_fail "flooding alert repeated"
it_stop collector
it_log "PASS (paused ${paused} ms)"
