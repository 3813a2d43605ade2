#!/usr/bin/env bash
# Redis with a password (requirepass) and an ACL user: on the collector's
# host any local user can reach Redis on loopback, and without a password
# could make an enrolment token (a certificate for a fake agent), delete or
# acknowledge alerts. With redis.password_file (and redis.user) the
# collector, the dashboard and minisocctl (REDISCLI_AUTH) still work:
#  - an unauthenticated local user (nobody) is refused (NOAUTH);
#  - the collector, as ACL user "minisoc", stores an alert;
#    minisocctl alerts and pki token work with REDISCLI_AUTH (and
#    MINISOC_REDIS_USER); the dashboard answers with Redis up;
#  - a wrong password is said (event=redis_auth_failed), nothing stored;
#    a password taken is said (event=redis_authenticated), and a Redis
#    refusing the connection for another reason (maxclients) is not called
#    a wrong password (event=redis_unavailable);
#  - a password file or TLS key other users can read is warned about
#    (event=secret_file_mode); one of owner and group only is not.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_auth.sh BUILD_DIR}"

PW=$(openssl rand -hex 16)
PW2=$(openssl rand -hex 16)
IT_REDIS_EXTRA=(--requirepass "$PW" --user minisoc on ">$PW2" '~*' '&*' '+@all')
export REDISCLI_AUTH=$PW
it_start_redis
printf '%s\n' "$PW2" >"$IT_WORK/redis.pw2"
printf '%s\n' "$PW" >"$IT_WORK/redis.pw"
printf 'wrong-%s\n' "$PW" >"$IT_WORK/redis.bad"
chmod 600 "$IT_WORK"/redis.*
# The collector's own password file readable by its group: no warning.
chmod 640 "$IT_WORK/redis.pw2"

# A local user without the password gets nothing.
chmod 755 "$IT_WORK"
if (($(id -u) == 0)); then
	out=$(env -u REDISCLI_AUTH runuser -u nobody -- redis-cli -p "$IT_REDIS_PORT" \
		HSET minisoc:enroll:token:x agent evil 2>&1) || true
	[[ $out == *NOAUTH* ]] || it_fail "an unauthenticated user wrote to Redis: $out"
fi

it_pki "$IT_WORK/pki" web1
CPORT=$(it_free_port)
# conf FILE PASSWORD_FILE [USER]
conf() {
	it_collector_conf "$1" "$IT_WORK/pki" "$CPORT"
	sed -i "s|^redis:\$|redis:\n  password_file: $2\n  user: \"${3:-}\"|" "$1"
	grep -q "password_file: $2" "$1" || it_fail "no redis: section in $1"
}
conf "$IT_WORK/collector.yml" "$IT_WORK/redis.pw2" minisoc
"$IT_COLLECTOR" -c "$IT_WORK/collector.yml" -t >"$IT_WORK/logs/check.log" 2>&1 ||
	it_fail "collector -t: $(cat "$IT_WORK/logs/check.log")"
! grep -q -- "$PW2" "$IT_WORK/logs/check.log" || it_fail "--check printed the password"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector connected to Redis" it_log_has collector "event=redis_connected"
it_wait_for 10 "collector's password taken" it_log_has collector "event=redis_authenticated"
! it_log_has collector "event=secret_file_mode" || it_fail "collector warned of a 0640/0600 file"

AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
# The agent's key readable by every local user: said, the agent still runs.
chmod 644 "$IT_WORK/pki/agent-web1.key"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent connected" it_log_has agent "event=connected"
it_log_has agent 'event=secret_file_mode file=".*agent-web1.key" what="tls key" mode=0644' ||
	it_fail "no warning of the world-readable agent key: $(grep secret_file "$IT_WORK/logs/agent.log")"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[8$i]: Failed password for root from 192.0.2.77 port 1$i ssh2"
done >>"$AUTH"
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"192.0.2.77"}'; }
it_wait_for 10 "alert stored through an authenticated connection" has_alert
! it_log_has collector "NOAUTH" || it_fail "collector: NOAUTH"
! grep -q -- "$PW2" "$IT_WORK"/logs/*.log || it_fail "the password is in a log"

# minisocctl with REDISCLI_AUTH; without it, a clear error.
"$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 >"$IT_WORK/logs/alerts.log" 2>&1 ||
	it_fail "minisocctl alerts with REDISCLI_AUTH: $(cat "$IT_WORK/logs/alerts.log")"
grep -q 192.0.2.77 "$IT_WORK/logs/alerts.log" || it_fail "minisocctl alerts: $(cat "$IT_WORK/logs/alerts.log")"
env -u REDISCLI_AUTH "$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 \
	>"$IT_WORK/logs/alerts-noauth.log" 2>&1 && it_fail "minisocctl alerts without the password succeeded"
grep -q "REDISCLI_AUTH" "$IT_WORK/logs/alerts-noauth.log" ||
	it_fail "no hint at REDISCLI_AUTH: $(cat "$IT_WORK/logs/alerts-noauth.log")"

MINISOC_REDIS_USER=minisoc REDISCLI_AUTH=$PW2 "$IT_CLI" pki token --dir "$IT_WORK/pki" \
	-r "127.0.0.1:$IT_REDIS_PORT" --agent web9 --system erp >"$IT_WORK/token.txt" \
	2>"$IT_WORK/logs/token.log" || it_fail "pki token as ACL user: $(cat "$IT_WORK/logs/token.log")"
[[ $(it_redis_raw --scan --pattern 'minisoc:enroll:token:*' | wc -l) == 1 ]] || it_fail "no token in Redis"

# The dashboard with the default user's password.
it_web_conf
sed -i "s|^redis:\$|redis:\n  password_file: $IT_WORK/redis.pw|" "$IT_WORK/web.yml"
chmod 604 "$IT_WORK/redis.pw"
it_start web "$IT_BUILD/collector/web/minisoc-web" -c "$IT_WORK/web.yml"
it_wait_for 10 "world-readable password file said" it_log_has web \
	'event=secret_file_mode file=".*redis.pw" what="redis password" mode=0604'
web_up() { curl -sf "http://127.0.0.1:$WPORT/healthz" 2>/dev/null | it_has '"redis":true'; }
it_wait_for 10 "dashboard sees Redis" web_up
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$WPORT/api/alerts?count=5" |
	it_has 192.0.2.77 || it_fail "dashboard: no alert"
it_stop web
it_stop agent
it_stop collector

# A wrong password: said, and retried (nothing stored, no crash).
conf "$IT_WORK/collector-bad.yml" "$IT_WORK/redis.bad"
it_start collector2 "$IT_COLLECTOR" -c "$IT_WORK/collector-bad.yml"
it_wait_for 10 "wrong password said" it_log_has collector2 "event=redis_auth_failed"
! grep -q -- "wrong-$PW" "$IT_WORK/logs/collector2.log" || it_fail "the wrong password is in the log"
! it_log_has collector2 "event=redis_authenticated" || it_fail "a wrong password said taken"
it_stop collector2

# Redis full (maxclients): the right password, refused for another reason.
redis-cli --raw -p "$IT_REDIS_PORT" BLPOP minisoc:test:never 0 >/dev/null 2>&1 &
HOLD=$!
one_client() { [[ $(it_redis_raw INFO clients | tr -d '\r' | sed -n 's/^connected_clients://p') == 2 ]]; }
it_wait_for 10 "a client holding Redis" one_client
it_redis_raw CONFIG SET maxclients 1 >/dev/null
it_start collector3 "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "a full Redis said" it_log_has collector3 'event=redis_unavailable reason=".*max'
! it_log_has collector3 "event=redis_auth_failed" || it_fail "a full Redis called a wrong password"
kill "$HOLD" 2>/dev/null || true
wait "$HOLD" 2>/dev/null || true
it_wait_for 10 "collector in once Redis has room" it_log_has collector3 "event=redis_authenticated"
it_stop collector3
it_log "PASS"
