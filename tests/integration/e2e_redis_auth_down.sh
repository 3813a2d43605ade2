#!/usr/bin/env bash
# A collector with redis.password_file whose Redis is down (not started,
# restarted, a network cut) says that Redis cannot be reached – not
# event=redis_auth_failed, which tells an operator the password is wrong:
# the AUTH queued first on each connection got no reply, nothing refused it.
# Then Redis comes up with that password: connected, no auth failure said.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_auth_down.sh BUILD_DIR}"

PW=$(openssl rand -hex 16)
printf '%s\n' "$PW" >"$IT_WORK/redis.pw"
chmod 600 "$IT_WORK/redis.pw"
it_pki "$IT_WORK/pki" web1
CPORT=$(it_free_port)
IT_REDIS_PORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
sed -i "s|^redis:\$|redis:\n  password_file: $IT_WORK/redis.pw|" "$IT_WORK/collector.yml"
grep -q "password_file:" "$IT_WORK/collector.yml" || it_fail "no redis: section"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
# a few reconnection attempts (about one a second)
sleep 3
if it_log_has collector "event=redis_auth_failed"; then
	it_fail "Redis down was said as a refused password: $(grep redis_auth_failed "$IT_WORK/logs/collector.log" | head -2)"
fi
it_stop collector
it_log "PASS"
