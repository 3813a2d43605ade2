#!/usr/bin/env bash
# minisoc-forward whose password Redis refuses backs off as after a lost
# connection (operations.md: "reconnects (backoff up to 5 s)"): the
# backoff was reset at every TCP connect, before AUTH was answered, so a
# wrong redis.password_file (or an ACL user that may not XGROUP) was tried
# five times a second for ever, each try two log lines (redis_connected,
# redis_auth_failed) and a refused AUTH in Redis. Then Redis takes that
# password: the forwarder gets there within the 5 s cap.
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
cat >"$IT_WORK/forward.yml" <<YML
forward:
  min_severity: high
upstream:
  host: 127.0.0.1
  port: $UPORT
  server_name: collector.minisoc.local
tls:
  ca: $IT_WORK/pki/ca.crt
  cert: $IT_WORK/pki/agent-forwarder.crt
  key: $IT_WORK/pki/agent-forwarder.key
redis:
  port: $IT_REDIS_PORT
  consumer: fwd-1
  password_file: $IT_WORK/redis.pw
iodef:
  name: soc.example.vn
  contact_name: SOC
  contact_email: soc@example.vn
YML
it_start forward "$FWD" -c "$IT_WORK/forward.yml"
it_wait_for 10 "the password refused" it_log_has forward "event=redis_auth_failed"
sleep 6
n=$(grep -c "event=redis_auth_failed" "$IT_WORK/logs/forward.log")
it_log "$n refusals in about 6 s"
# 200, 400, 800, 1600, 3200 ms: 6 tries; at 200 ms each, 30
((n <= 10)) || it_fail "no backoff: $n tries in 6 s"
# Still tried: Redis takes the forwarder's password, the group is made.
redis-cli -p "$IT_REDIS_PORT" CONFIG SET requirepass "other-$PW" >/dev/null ||
	it_fail "CONFIG SET requirepass"
export REDISCLI_AUTH=other-$PW
it_wait_for 10 "the forwarder's group on Redis" it_log_has forward "event=redis_ready"
it_stop forward
it_log "PASS"
