#!/usr/bin/env bash
# End to end, with the real binaries, a real redis-server and certificates
# made now: 8 failed SSH logins from one IP and 7 from another, appended to
# a followed file, give exactly one alert – for the first IP – in
# minisoc:alerts within 2 s; an agent whose certificate comes from another
# CA is refused during the handshake and nothing of it reaches Redis.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_bruteforce.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_pki "$IT_WORK/rogue" intruder
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

AUTH=$IT_WORK/auth.log
echo "$(it_syslog_now) web1 sshd[100]: Server listening on 0.0.0.0 port 22." >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello at the collector" it_log_has collector "event=hello .*agent=web1"
# A certificate made by hand (pki.sh) is not one enrolment can renew: said once, never tried.
it_wait_for 10 "agent notes its certificate is not renewed automatically" \
	it_log_has agent "event=cert_not_enrolled"
it_log_has agent "event=cert_renewing" && it_fail "agent tried to renew a pki.sh certificate"
# An agent without a capture source never loads libpcap (and the libraries it drags in).
maps=$(cat "/proc/$IT_PID_agent/maps")
grep -q libpcap <<<"$maps" && it_fail "a log-only agent has libpcap mapped"

# The agent's first sequence number, to know when everything was handled.
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2)
[[ -n $FIRST ]] || it_fail "agent did not log first_seq"

# 8 failures from 203.0.113.5 and 7 from 198.51.100.9, interleaved.
lines=()
for i in $(seq 1 8); do
	lines+=("$(it_syslog_now) web1 sshd[20$i]: Failed password for invalid user admin$i from 203.0.113.5 port 4$i$i$i ssh2")
	if ((i <= 7)); then
		lines+=("$(it_syslog_now) web1 sshd[30$i]: Failed password for root from 198.51.100.9 port 5$i$i$i ssh2")
	fi
done
T0=$(date +%s%N)
printf '%s\n' "${lines[@]}" >>"$AUTH"
NLINES=${#lines[@]}

alert_count() { [[ $(it_redis_raw XLEN minisoc:alerts) -ge 1 ]]; }
it_wait_for 5 "an alert in minisoc:alerts" alert_count
T1=$(date +%s%N)
LAT_MS=$(((T1 - T0) / 1000000))
it_log "first alert after ${LAT_MS} ms"
((LAT_MS <= 2000)) || it_fail "alert took ${LAT_MS} ms (> 2000 ms)"

# Wait until the collector confirmed every appended line, then count.
LAST=$((FIRST + NLINES - 1))
all_handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $LAST ]]; }
it_wait_for 10 "collector to handle seq $LAST" all_handled
N=$(it_redis_raw XLEN minisoc:alerts)
[[ $N == 1 ]] || it_fail "expected exactly 1 alert, found $N"
JSON=$(it_redis_raw XRANGE minisoc:alerts - + | grep '^{')
echo "$JSON"
grep -q '"source":{"ip":"203.0.113.5"}' <<<"$JSON" || it_fail "alert is not for 203.0.113.5"
grep -q '"count":8' <<<"$JSON" || it_fail "alert count is not 8"
grep -q '"id":"minisoc-ssh-bruteforce"' <<<"$JSON" || it_fail "wrong rule id"
grep -q '"agent":{"id":"web1"' <<<"$JSON" || it_fail "agent id not from the certificate"
grep -q '"admin1"' <<<"$JSON" || it_fail "users tried missing"

# The control tool shows the alert and the agent.
"$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 | it_has 'SSH brute force.*' || it_fail "minisocctl alerts"
"$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 --json | it_has '"source":{"ip":"203.0.113.5"}' ||
	it_fail "minisocctl alerts --json"
"$IT_CLI" status -r "127.0.0.1:$IT_REDIS_PORT" | it_has "web1 (handled seq $LAST)" || it_fail "minisocctl status"

# A rogue agent: certificate from another CA, following a file that would
# raise an alert if a single line of it got through.
ROGUE_LOG=$IT_WORK/rogue.log
for i in $(seq 1 10); do
	echo "$(it_syslog_now) evil sshd[9$i]: Failed password for root from 192.0.2.66 port 6$i ssh2"
done >"$ROGUE_LOG"
cp "$IT_WORK/pki/ca.crt" "$IT_WORK/rogue/collector-ca.crt"
it_agent_conf "$IT_WORK/rogue.yml" "$IT_WORK/rogue" intruder "$CPORT" "$IT_WORK/rogue-state" beginning "$ROGUE_LOG"
# It trusts the real collector (so the refusal is the collector's doing).
sed -i "s|ca: $IT_WORK/rogue/ca.crt|ca: $IT_WORK/rogue/collector-ca.crt|" "$IT_WORK/rogue.yml"
REFUSED_BEFORE=$(grep -c 'event=tls_refused' "$IT_WORK/logs/collector.log" || true)
it_start rogue "$IT_AGENT" -c "$IT_WORK/rogue.yml"
refused_twice() { (($(grep -c 'event=tls_refused' "$IT_WORK/logs/collector.log") >= REFUSED_BEFORE + 2)); }
it_wait_for 10 "collector to refuse the rogue agent twice" refused_twice
grep 'event=tls_refused' "$IT_WORK/logs/collector.log" | tail -n1
grep -q 'event=hello .*agent=intruder' "$IT_WORK/logs/collector.log" && it_fail "rogue agent got a session"
[[ $(it_redis_raw HEXISTS minisoc:agents:seq intruder) == 0 ]] || it_fail "rogue agent reached Redis"
[[ $(it_redis_raw EXISTS minisoc:agent:intruder) == 0 ]] || it_fail "rogue agent info reached Redis"
it_redis_raw XRANGE minisoc:alerts - + | it_has 192.0.2.66 && it_fail "rogue alert reached Redis"
[[ $(it_redis_raw XLEN minisoc:alerts) == 1 ]] || it_fail "alert count changed"

it_stop rogue
it_stop agent
it_stop collector
grep -q 'event=stop' "$IT_WORK/logs/collector.log" || it_fail "collector did not log its stop"
it_log "PASS"
