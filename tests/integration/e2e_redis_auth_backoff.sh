#!/usr/bin/env bash
# minisoc-forward whose password Redis refuses backs off as after a lost
# connection (operations.md: "reconnects (backoff up to 5 s)"): the
# backoff was reset at every TCP connect, before AUTH was answered, so a
# wrong redis.password_file (or an ACL user that may not XGROUP) was tried
# five times a second for ever, each try two log lines (redis_connected,
# redis_auth_failed) and a refused AUTH in Redis. Then Redis takes that
# password: the forwarder gets there within the 5 s cap.
# minisoc-web, the same: it retried every second for ever on both of its
# connections (two warnings a second); now 1, 2, 4 … up to 30 s, and once
# Redis takes its password it answers /api/alerts.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_auth_backoff.sh BUILD_DIR}"
FWD=$IT_BUILD/collector/minisoc-forward
[[ -x $FWD ]] || it_fail "minisoc-forward not built in $IT_BUILD"

PW=$(openssl rand -hex 16)
IT_REDIS_EXTRA=(--requirepass "$PW")
export REDISCLI_AUTH=$PW
it_start_redis
printf 'other-%s\n' "$PW" >"$IT_WORK/redis.pw"
chmod 600 "$IT_WORK/redis.pw"
it_pki "$IT_WORK/pki" forwarder
UPORT=$(it_free_port)
it_forward_conf "$IT_WORK/forward.yml" "$UPORT" "redis.password_file: $IT_WORK/redis.pw"
it_web_conf
echo "  password_file: $IT_WORK/redis.pw" >>"$IT_WORK/web.yml"
IT_WEB=$IT_BUILD/collector/web/minisoc-web
it_start forward "$FWD" -c "$IT_WORK/forward.yml"
it_start web "$IT_WEB" -c "$IT_WORK/web.yml"
it_wait_for 10 "the password refused" it_log_has forward "event=redis_auth_failed"
it_wait_for 10 "the dashboard's password refused" it_log_has web "event=redis_auth_failed"
# A window of time is what is measured here (tries in it), not waited for.
sleep 6
n=$(grep -c "event=redis_auth_failed" "$IT_WORK/logs/forward.log")
it_log "forwarder: $n refusals in about 6 s"
# 200, 400, 800, 1600, 3200 ms: 6 tries; at 200 ms each, 30
((n <= 10)) || it_fail "no backoff: $n tries in 6 s"
n=$(grep -c "event=redis_auth_failed" "$IT_WORK/logs/web.log")
it_log "dashboard: $n refusals in about 6 s (two connections a try)"
# tries at 0, 1, 3 s (then 7): 6 refusals; every second, 12 or more
((n <= 8)) || it_fail "the dashboard does not back off: $n refusals in 6 s"
# Still tried: Redis takes the forwarder's password, the group is made.
redis-cli -p "$IT_REDIS_PORT" CONFIG SET requirepass "other-$PW" >/dev/null ||
	it_fail "CONFIG SET requirepass"
export REDISCLI_AUTH=other-$PW
it_wait_for 10 "the forwarder's group on Redis" it_log_has forward "event=redis_ready"
# The dashboard's next try (at most 8 s after the last) signs in.
alerts_ok() {
	[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		"http://127.0.0.1:$WPORT/api/alerts") == 200 ]]
}
it_wait_for 20 "the dashboard answering from Redis" alerts_ok
it_stop web
it_stop forward
it_log "PASS"
