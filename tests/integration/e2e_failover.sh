#!/usr/bin/env bash
# Several collectors, with the real binaries, real TLS and one real Redis:
#  0) -t prints the failover list; a bad collectors: entry is refused with
#     file: line N: reason;
#  1) lines flow through the primary;
#  2) the primary stops answering with a burst in flight, then is killed:
#     the agent fails over to the secondary, and neither the burst in
#     flight nor one written while it switches is lost;
#  3) the primary comes back: the agent fails back within a few
#     uplink.failback_ms periods;
#  4) the primary handles a burst but its ACK never reaches the agent (a
#     relay holds the primary's answers): the agent fails over and resends,
#     and the secondary – which served this agent before and remembers an
#     older number – skips the resent lines because it reads the handled
#     number from Redis again (minisoc:agents:seq); while the relay holds,
#     the fail-back probe fails and the agent stays;
#  5) the relay forwards again: the agent fails back.
# Each burst is 8 failures from its own IP: exactly one alert each, so a
# lost line shows as no alert and a line handled twice as two.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_failover.sh BUILD_DIR}"

W=$IT_WORK
# Both collectors carry their own certificate from the same CA.
it_pki "$W/pki" web1
it_pki_second "$W/pki" "$W/pki2"
cmp -s "$W/pki/collector.crt" "$W/pki2/collector.crt" && it_fail "both collectors got the same certificate"

PPORT=$(it_free_port)	# the primary collector
RPORT=$(it_free_port)	# the relay in front of it: what the agent is given
SPORT=$(it_free_port)	# the secondary collector
P=127.0.0.1:$RPORT
S=127.0.0.1:$SPORT
AUTH=$W/auth.log
: >"$AUTH"

# agent_conf FILE COLLECTORS_YAML: the agent's config with a collectors: list.
agent_conf() {
	cat >"$1" <<YML
agent:
  state_dir: $W/state
  log_level: debug
  poll_ms: 100
collectors:
$2
tls:
  ca: $W/pki/ca.crt
  cert: $W/pki/agent-web1.crt
  key: $W/pki/agent-web1.key
uplink:
  backoff_min_ms: 50
  backoff_max_ms: 500
  failback_ms: 1000
  heartbeat_ms: 200
  # Not 1 s: a sanitizer build on a loaded 2-core host can stall that
  # long, and a stall counted as a dead peer is one failover more than
  # the check of "no flapping" below wants (flake review).
  dead_after_ms: 2500
files:
  - path: $AUTH
    start: end
YML
}

# 0) the list as -t shows it, and bad entries refused with their line.
agent_conf "$W/agent.yml" "  - host: 127.0.0.1
    port: $RPORT
    server_name: collector.minisoc.local
  - $S"
"$IT_AGENT" -t -c "$W/agent.yml" >"$W/check.out" 2>&1 || { cat "$W/check.out"; it_fail "-t refused a good config"; }
grep -q "1\. $P server_name=collector.minisoc.local (primary)" "$W/check.out" &&
	grep -q "2\. $S server_name=127.0.0.1\$" "$W/check.out" ||
	{ cat "$W/check.out"; it_fail "-t does not print the collector list"; }
# collector.* comes first when both are given; every spelling of an entry.
sed -e "/^collectors:/,/^tls:/{/^tls:/!d}" "$W/agent.yml" >"$W/both.yml"
cat >>"$W/both.yml" <<YML
collector:
  host: 127.0.0.1
  port: $RPORT
  server_name: collector.minisoc.local
collectors:
  - $S
  - "[::1]:7000"
  - host: c3.example
  - c4.example
YML
"$IT_AGENT" -t -c "$W/both.yml" >"$W/check.out" 2>&1 || { cat "$W/check.out"; it_fail "-t refused collector.* with collectors:"; }
for want in "1\. $P server_name=collector.minisoc.local \(primary\)" "2\. $S server_name=127.0.0.1\$" \
	"3\. \[::1\]:7000 server_name=::1\$" "4\. c3.example:6514 server_name=c3.example\$" \
	"5\. c4.example:6514 server_name=c4.example\$" "probed every 1000 ms"; do
	grep -q -E -- "$want" "$W/check.out" || { cat "$W/check.out"; it_fail "-t output lacks $want"; }
done
# Whole output first: grep -q stopping early would make the agent's write fail (pipefail).
help=$("$IT_AGENT" --help)
grep -q -E '^  collectors +failover list' <<<"$help" || it_fail "--help does not show collectors"
grep -q -E '^  uplink.failback_ms .*\(default: 60000\)' <<<"$help" ||
	it_fail "--help does not show uplink.failback_ms"
# bad_config NAME COLLECTORS_YAML EXPECTED_MESSAGE (collectors: is line 5)
bad_config() {
	local f=$W/$1.yml out
	agent_conf "$f" "$2"
	if out=$("$IT_AGENT" -t -c "$f" 2>&1); then
		it_fail "$1: -t accepted a bad collectors: entry"
	fi
	grep -qF -- "$f: $3" <<<"$out" || it_fail "$1: expected \"$f: $3\", got: $out"
}
bad_config bad_port "  - $S
  - 127.0.0.1:70000" 'line 7: port must be an integer in [1, 65535]'
bad_config bad_key "  - host: 127.0.0.1
    prot: 1" 'line 6: unknown key "collectors.prot"'
bad_config no_host "  - port: 1" 'line 6: a collector needs a host'
bad_config twice "  - $S
  - host: 127.0.0.1
    port: $SPORT" "line 7: collector $S is listed twice"
bad_config too_many "$(for i in 1 2 3 4 5 6 7 8 9; do echo "  - 10.0.0.$i"; done)" \
	'line 14: at most 8 collectors'
bad_config not_list "  host: 127.0.0.1" 'line 6: collectors must be a list'
it_log "0: -t prints the failover list; bad collectors: entries are refused with their line"

burst() { # burst IP: 8 failed logins
	local i
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[4$i]: Failed password for root from $1 port 3$i$i ssh2"
	done >>"$AUTH"
}
alerts_for() { it_redis_raw XRANGE minisoc:alerts - + | grep -c "\"source\":{\"ip\":\"$1\"}" || true; }
has_alert() { (($(alerts_for "$1") >= 1)); }
# count_is N LOG REGEX / count_ge N LOG REGEX: LOG has N (at least N) lines matching REGEX.
count_of() { grep -c -E -- "$2" "$W/logs/$1.log" || true; }
count_is() { (($(count_of "$2" "$3") == $1)); }
count_ge() { (($(count_of "$2" "$3") >= $1)); }
# events_sent_ge N: the agent's counters (asked for with SIGUSR1) say N sent.
events_sent_ge() {
	local v
	kill -USR1 "$IT_PID_agent"
	v=$(grep 'why=sigusr1' "$W/logs/agent.log" | tail -n1 | sed -nE 's/.* events_sent=([0-9]+) .*/\1/p')
	[[ -n $v ]] && ((v >= $1))
}
# raised_by NAME IP: that collector ran detection for the burst (its info
# line per alert is written up to collector.log_flush_ms after the alert).
raised_by() { it_wait_for 10 "$2 handled by $1" it_log_has "$1" "event=alert .*src_ip=$2( |\$)"; }

it_start_redis
it_collector_conf "$W/primary.yml" "$W/pki" "$PPORT"
it_collector_conf "$W/secondary.yml" "$W/pki2" "$SPORT"
it_start relay python3 "$IT_ROOT/tests/integration/relay.py" "$RPORT" "$PPORT"
it_start primary "$IT_COLLECTOR" -c "$W/primary.yml"
it_start secondary "$IT_COLLECTOR" -c "$W/secondary.yml"
it_wait_for 10 "relay listening" it_log_has relay "relay listening"
it_wait_for 10 "primary listening" it_log_has primary "event=listening"
it_wait_for 10 "secondary listening" it_log_has secondary "event=listening"
it_start agent "$IT_AGENT" -c "$W/agent.yml"
it_wait_for 10 "agent hello at the primary" it_log_has primary "event=hello .*agent=web1"

# 1) through the primary.
burst 203.0.113.1
it_wait_for 10 "alert 1 through the primary" has_alert 203.0.113.1
raised_by primary 203.0.113.1
it_log "1: alert through the primary"

# 2) the primary freezes with burst 2 in flight, then dies; burst 3 is
# written while the agent switches.
kill -STOP "$IT_PID_primary"
burst 203.0.113.2
it_wait_for 10 "burst 2 sent to the frozen primary" events_sent_ge 16
kill -KILL "$IT_PID_primary"
wait "$IT_PID_primary" 2>/dev/null || true
burst 203.0.113.3
it_wait_for 10 "failover to the secondary" it_log_has agent "event=failover from=$P to=$S"
it_wait_for 10 "agent hello at the secondary" it_log_has secondary "event=hello .*agent=web1"
it_wait_for 10 "alert 2 (in flight at the failure)" has_alert 203.0.113.2
raised_by secondary 203.0.113.2
it_wait_for 10 "alert 3 (written while switching)" has_alert 203.0.113.3
raised_by secondary 203.0.113.3
burst 203.0.113.4
it_wait_for 10 "alert 4 through the secondary" has_alert 203.0.113.4
raised_by secondary 203.0.113.4
it_log "2: failed over; nothing in flight or written while switching was lost"

# 3) the primary is back: fail-back within a few failback periods.
mv "$W/logs/primary.log" "$W/logs/primary-1.log"
it_start primary "$IT_COLLECTOR" -c "$W/primary.yml"
it_wait_for 10 "primary listening again" it_log_has primary "event=listening"
it_wait_for 6 "fail-back to the primary" it_log_has agent "event=failback from=$S to=$P"
it_wait_for 10 "agent hello at the restarted primary" it_log_has primary "event=hello .*agent=web1"
it_log_has secondary "event=session_close .*agent=web1 reason=peer_closed" ||
	it_fail "the agent did not close its session at the secondary cleanly"
burst 203.0.113.5
it_wait_for 10 "alert 5 through the primary" has_alert 203.0.113.5
raised_by primary 203.0.113.5
it_log "3: failed back to the primary"

# 4) the primary handles burst 6, its ACK is held back: resent to the secondary.
kill -USR1 "$IT_PID_relay"
it_wait_for 10 "relay holding the primary's answers" it_log_has relay "relay hold"
burst 203.0.113.6
it_wait_for 10 "alert 6 raised by the primary" has_alert 203.0.113.6
raised_by primary 203.0.113.6
it_wait_for 10 "second failover" count_ge 2 agent "event=failover from=$P to=$S"
it_wait_for 10 "second hello at the secondary" count_ge 2 secondary "event=hello .*agent=web1"
# The secondary read the primary's progress from Redis, not its own memory.
handled=$(grep -E "event=hello .*agent=web1" "$W/logs/secondary.log" | tail -n1 | sed -E 's/.*handled_seq=([0-9]+).*/\1/')
[[ $handled == "$(it_redis_raw HGET minisoc:agents:seq web1)" ]] ||
	it_fail "secondary started from handled_seq=$handled, Redis says $(it_redis_raw HGET minisoc:agents:seq web1)"
# Batches are handled in order: once alert 7 is in, the resent burst 6 was seen.
burst 203.0.113.7
it_wait_for 10 "alert 7 through the secondary" has_alert 203.0.113.7
raised_by secondary 203.0.113.7
it_log_has secondary "event=alert .*src_ip=203.0.113.6( |\$)" &&
	it_fail "the secondary raised the resent burst 6 again"
it_wait_for 10 "a fail-back probe through the holding relay to fail" \
	it_log_has agent "event=failback_probe collector=$P result=failed reason=.no answer in time"
count_is 1 agent "event=failback from=" || it_fail "failed back to a primary that does not answer"
it_log "4: resent lines handled by the primary were skipped by the secondary"

# 5) answers flow again: fail-back.
kill -USR2 "$IT_PID_relay"
it_wait_for 10 "relay forwarding" it_log_has relay "relay forward"
it_wait_for 6 "second fail-back" count_ge 2 agent "event=failback from=$S to=$P"
it_wait_for 10 "second hello at the primary" count_ge 2 primary "event=hello .*agent=web1"
burst 203.0.113.8
it_wait_for 10 "alert 8 through the primary" has_alert 203.0.113.8
raised_by primary 203.0.113.8
it_log "5: failed back again once the primary answered"

# No loss, no duplicate: exactly one alert per burst.
for i in 1 2 3 4 5 6 7 8; do
	n=$(alerts_for 203.0.113.$i)
	[[ $n == 1 ]] || it_fail "expected 1 alert for 203.0.113.$i, found $n"
done
it_stop agent
# Two failovers, two fail-backs, five sessions: no flapping of idle
# connections in between (heartbeats every 200 ms keep them alive).
stats=$(grep 'event=stats why=exit' "$W/logs/agent.log")
for want in failovers=2 failbacks=2 connects=5; do
	[[ " $stats " == *" $want "* ]] || it_fail "expected $want in: $stats"
done
it_stop primary
it_stop secondary
it_log "PASS"
