#!/usr/bin/env bash
# Redis with a password (requirepass, and an ACL user) restarted under every
# component: each connection made again signs in again.
#  1. collector (ACL user) -> alert in Redis; minisoc-forward (ACL user, its
#     consumer group) sends it upstream; minisoc-web (default user) has it
#     in /api/alerts and on its live stream (/api/stream); minisocctl
#     alerts -f (REDISCLI_AUTH + MINISOC_REDIS_USER) prints it;
#  2. Redis restarted (its AOF kept): a new alert reaches all four again;
#  3. Redis down while an alert is made (the collector's spool), then up:
#     the spooled alert reaches all four; minisocctl status, pki list and
#     incident list work; no NOAUTH/WRONGPASS, no password in a log.
# Passed when written (review-auth2): coverage of the reconnect paths,
# which e2e_redis_auth (one connection each) does not exercise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_auth_restart.sh BUILD_DIR}"
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
FWD=$IT_BUILD/collector/minisoc-forward
PW=$(openssl rand -hex 16)
PW2=$(openssl rand -hex 16)
IT_REDIS_EXTRA=(--requirepass "$PW" --user minisoc on ">$PW2" '~*' '&*' '+@all')
IT_REDIS_AOF=yes
export REDISCLI_AUTH=$PW
it_start_redis
printf '%s\n' "$PW2" >"$IT_WORK/redis.pw2"
printf '%s\n' "$PW" >"$IT_WORK/redis.pw"
chmod 600 "$IT_WORK"/redis.*
redis_restart() {
	local down=${1:-0}
	redis-cli -p "$IT_REDIS_PORT" shutdown >/dev/null 2>&1 || true
	it_wait_for 10 "redis gone" eval '! it_redis_ping'
	sleep "$down"
	it_start_redis
}
it_pki "$IT_WORK/pki" web1 forwarder
OUT=$IT_WORK/received.jsonl
: >"$OUT"
it_start sink python3 "$HERE/syslog_sink.py" --cert "$IT_WORK/pki/collector.crt" \
	--key "$IT_WORK/pki/collector.key" --ca "$IT_WORK/pki/ca.crt" --out "$OUT" \
	--port-file "$IT_WORK/sink.port" --port 0
it_wait_for 10 "the receiver to listen" test -s "$IT_WORK/sink.port"
SINK_PORT=$(cat "$IT_WORK/sink.port")
it_forward_conf "$IT_WORK/forward.yml" "$SINK_PORT" "redis.user: minisoc" \
	"redis.password_file: $IT_WORK/redis.pw2"
it_start forward "$FWD" -c "$IT_WORK/forward.yml"
it_wait_for 10 "the forwarder's group on Redis" it_log_has forward "event=redis_ready"

CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
sed -i "s|^redis:\$|redis:\n  password_file: $IT_WORK/redis.pw2\n  user: minisoc|" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector connected to Redis" it_log_has collector "event=redis_connected"
it_web_conf
sed -i "s|^redis:\$|redis:\n  password_file: $IT_WORK/redis.pw|" "$IT_WORK/web.yml"
it_start web "$IT_BUILD/collector/web/minisoc-web" -c "$IT_WORK/web.yml"
web_up() { curl -sf "http://127.0.0.1:$WPORT/healthz" 2>/dev/null | it_has '"redis":true'; }
it_wait_for 10 "dashboard sees Redis" web_up
curl -sN -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$WPORT/api/stream" >"$IT_WORK/stream.txt" 2>/dev/null &
IT_PIDS+=($!)
MINISOC_REDIS_USER=minisoc REDISCLI_AUTH=$PW2 it_start follow "$IT_CLI" alerts -f -r "127.0.0.1:$IT_REDIS_PORT"

AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent connected" it_log_has agent "event=connected"
burst() {
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[8$i]: Failed password for root from $1 port 1$i ssh2"
	done >>"$AUTH"
}
everywhere() {
	it_redis_raw XRANGE minisoc:alerts - + | it_has "\"ip\":\"$1\"" || return 1
	grep -q "$1" "$OUT" || return 2
	grep -q "$1" "$IT_WORK/stream.txt" || return 3
	grep -q "$1" "$IT_WORK/logs/follow.log" || return 4
	curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$WPORT/api/alerts?count=50" | it_has "$1" || return 5
}
burst 192.0.2.1
it_wait_for 15 "alert 1 everywhere" everywhere 192.0.2.1
it_log "phase 1 ok"
redis_restart 0
it_wait_for 15 "dashboard sees Redis again" web_up
burst 192.0.2.2
it_wait_for 20 "alert 2 everywhere after a restart" everywhere 192.0.2.2
it_log "phase 2 ok"
redis-cli -p "$IT_REDIS_PORT" shutdown >/dev/null 2>&1 || true
it_wait_for 10 "redis gone" eval '! it_redis_ping'
burst 192.0.2.3
sleep 3
it_start_redis
it_wait_for 20 "alert 3 (spooled) everywhere" everywhere 192.0.2.3
it_log "phase 3 ok"
for cmd in "status" "pki list" "incident list"; do
	# shellcheck disable=SC2086
	MINISOC_REDIS_USER=minisoc REDISCLI_AUTH=$PW2 "$IT_CLI" $cmd -r "127.0.0.1:$IT_REDIS_PORT" \
		>"$IT_WORK/logs/cli.log" 2>&1 || it_fail "minisocctl $cmd: $(cat "$IT_WORK/logs/cli.log")"
done
! grep -h "redis_auth_failed\|NOAUTH\|WRONGPASS" "$IT_WORK"/logs/*.log || it_fail "an auth failure"
! grep -l -e "$PW2" -e "$PW" "$IT_WORK"/logs/*.log | grep -v '/redis\.log$' || it_fail "a password in a log"
it_log PASS
