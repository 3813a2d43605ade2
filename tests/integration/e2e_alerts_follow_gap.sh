#!/usr/bin/env bash
# `minisocctl alerts --follow`, what an operator watching all day relies on,
# with the real collector, agent and Redis:
#  - a Redis restart (persisted, AOF) while following: the follower goes on
#    and prints the alert raised while Redis was down (the collector
#    spooled it) – it used to exit with status 2, and started again it
#    begins at the stream's end, so whatever came meanwhile was never shown;
#  - alerts trimmed from the stream (MAXLEN) while the follower is behind
#    (stopped here with SIGSTOP): it says so on stderr ("gap") instead of
#    going on as if nothing was missing;
#  - through a consumer group: alerts given to this consumer, not yet
#    acknowledged, then trimmed away are named on stderr, not acknowledged
#    silently; a group whose position is before trimmed alerts says so.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_alerts_follow_gap.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
IT_REDIS_AOF=yes
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
mkdir -p "$IT_WORK/rules"
cat >"$IT_WORK/rules/marker.yml" <<'YML'
title: Test marker
id: 6b0f7d3e-1c2a-4f5b-8e9d-0a1b2c3d4e5f
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'MARKERTEST'
  condition: keywords
level: high
YML
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $IT_WORK/rules
alerts:
  aggregate_window_s: 0
YML
LOG=$IT_WORK/app.log
: >"$LOG"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$LOG"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

R=(-r "127.0.0.1:$IT_REDIS_PORT")
marker() { echo "$(it_syslog_now) web1 app[1]: MARKERTEST $1" >>"$LOG"; }
printed() { grep -q "MARKERTEST $2" "$1"; }

# --- a Redis restart while following --------------------------------------------
"$IT_CLI" alerts "${R[@]}" -f -n 0 --json >"$IT_WORK/f1.out" 2>"$IT_WORK/logs/f1.log" &
F1=$!
following() { it_redis_raw CLIENT LIST | it_has 'cmd=xread'; }
it_wait_for 10 "follower blocked in XREAD" following
marker one
it_wait_for 10 "the first alert followed" printed "$IT_WORK/f1.out" one
REDIS_PID=${IT_PIDS[0]}
it_redis SHUTDOWN >/dev/null 2>&1 || true
wait "$REDIS_PID" 2>/dev/null || true
it_log "redis stopped"
marker two
two_raised() { (($(grep -c 'event=alert id=.*rule=6b0f7d3e' "$IT_WORK/logs/collector.log") >= 2)); }
it_wait_for 10 "the alert raised while Redis is down" two_raised
sleep 1.5
kill -0 "$F1" 2>/dev/null || it_fail "the follower ended when Redis went away: $(cat "$IT_WORK/logs/f1.log")"
it_start_redis
it_wait_for 20 "the alert raised while Redis was down, followed after its restart" \
	printed "$IT_WORK/f1.out" two
marker three
it_wait_for 10 "an alert after the restart followed" printed "$IT_WORK/f1.out" three
kill -TERM "$F1"
wait "$F1" || it_fail "follower did not exit cleanly on SIGTERM"
(($(grep -c MARKERTEST "$IT_WORK/f1.out") == 3)) || it_fail "not each alert once: $(cat "$IT_WORK/f1.out")"
it_log "follow across a Redis restart: ok"

# --- trimmed while the follower is behind ------------------------------------------
S=test:stream
fake() { # fake N: N alert entries in the test stream
	local i
	for i in $(seq 1 "$1"); do
		printf "XADD %s * alert '%s'\n" "$S" \
			"{\"schema\":1,\"event\":{\"id\":\"fake-$i\"},\"rule\":{\"title\":\"fake $i\",\"level\":\"low\"}}"
	done | redis-cli -p "$IT_REDIS_PORT" >/dev/null
}
fake 1
"$IT_CLI" alerts "${R[@]}" -k "$S" -f -n 0 --json >"$IT_WORK/f2.out" 2>"$IT_WORK/logs/f2.log" &
F2=$!
it_wait_for 10 "follower 2 blocked in XREAD" following
kill -STOP "$F2"
fake 50
it_redis XTRIM "$S" MAXLEN = 5 >/dev/null
kill -CONT "$F2"
got_last() { grep -q '"fake-50"' "$IT_WORK/f2.out"; }
it_wait_for 10 "the newest alert after the trim" got_last
told() { grep -q "gap" "$IT_WORK/logs/f2.log"; }
it_wait_for 5 "the follower to say alerts were trimmed before it read them" told
kill -TERM "$F2"
wait "$F2" || it_fail "follower 2 did not exit cleanly"
it_log "gap while behind: ok ($(grep gap "$IT_WORK/logs/f2.log"))"

# --- consumer group: pending alerts trimmed --------------------------------------------
G=test:group
it_redis XGROUP CREATE "$G" ops '$' MKSTREAM >/dev/null
S=$G
fake 10
# Consumer "alice" was given all ten, then died before acknowledging them.
it_redis XREADGROUP GROUP ops alice COUNT 10 STREAMS "$G" '>' >/dev/null
it_redis XTRIM "$G" MAXLEN = 2 >/dev/null
"$IT_CLI" alerts "${R[@]}" -k "$G" -f --group ops --consumer alice --json >"$IT_WORK/f3.out" \
	2>"$IT_WORK/logs/f3.log" &
F3=$!
got_pending() { grep -q '"fake-10"' "$IT_WORK/f3.out"; }
it_wait_for 10 "the pending alerts still in the stream" got_pending
told3() { grep -q "gap" "$IT_WORK/logs/f3.log"; }
it_wait_for 5 "the consumer to name the pending alerts trimmed away" told3
kill -TERM "$F3"
wait "$F3" || it_fail "group follower did not exit cleanly"
[[ $(it_redis_raw XPENDING "$G" ops | sed -n 1p) == 0 ]] || it_fail "entries left pending"
it_log "group, pending trimmed: ok ($(grep -c gap "$IT_WORK/logs/f3.log") notice(s))"

# A group behind trimmed alerts it was never given.
G=test:group2
it_redis XGROUP CREATE "$G" ops '$' MKSTREAM >/dev/null
S=$G
fake 10
it_redis XTRIM "$G" MAXLEN = 2 >/dev/null
"$IT_CLI" alerts "${R[@]}" -k "$G" -f --group ops --consumer bob --json >"$IT_WORK/f4.out" \
	2>"$IT_WORK/logs/f4.log" &
F4=$!
got4() { grep -q '"fake-10"' "$IT_WORK/f4.out"; }
it_wait_for 10 "the alerts left in the stream" got4
told4() { grep -q "gap" "$IT_WORK/logs/f4.log"; }
it_wait_for 5 "the consumer to say its group missed trimmed alerts" told4
kill -TERM "$F4"
wait "$F4" || it_fail "group follower 2 did not exit cleanly"
it_log "group behind a trim: ok"
it_stop agent
it_stop collector
it_log "PASS"
