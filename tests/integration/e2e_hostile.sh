#!/usr/bin/env bash
# Bad input from an authenticated client never hurts the collector: every
# malformed, oversize, out-of-order or silent session gets a clear ERROR,
# is closed and counted, hostile log lines are decoded without harm, and a
# real agent keeps delivering alerts throughout. Runs under ASan+UBSan in
# the test build; the collector must exit cleanly at the end.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_hostile.sh BUILD_DIR}"
PROBE=(python3 "$IT_ROOT/tests/integration/probe.py")

it_pki "$IT_WORK/pki" web1 probe
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
limits:
  max_frame: 64KiB
  handshake_timeout_ms: 1000
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

probe() { "${PROBE[@]}" "$CPORT" "$IT_WORK/pki/ca.crt" "$IT_WORK/pki/agent-probe.crt" \
	"$IT_WORK/pki/agent-probe.key" "$1"; }
expect() { # expect CASE PATTERN
	local out
	out=$(probe "$1") || it_fail "probe $1 crashed"
	it_log "$1 -> $out"
	grep -q -E -- "$2" <<<"$out" || it_fail "$1: expected /$2/, got: $out"
}
expect oversize '^error 4 frame_too_big'
expect garbage '^error 1 bad_magic'
expect batch_before_hello '^error 3 batch_before_hello'
expect unknown_type '^error 3 unknown_type'
expect bad_version '^error 2 unsupported_version'
expect bad_flags '^error 1 bad_flags'
expect count_lie '^error 1 malformed_batch'
expect seq_backwards '^error 1 malformed_batch'
expect ack_from_agent '^error 3 unexpected_message_type'
expect second_hello '^error 3 unexpected_hello'
expect silent '^error 6 hello_timeout'
expect half_frame '^closed'
expect hostile_lines '^ack [0-9]+'

# A client that floods and never reads: the collector closes it (hello
# timeout) and frees it – by its close deadline when its answers cannot
# drain, at once when the kernel's buffers took them.
freed_before=$(grep -c 'event=session_freed' "$IT_WORK/logs/collector.log" || true)
probe flood_noread >/dev/null 2>&1 &
IT_PIDS+=($!)
FLOOD=$!
flood_freed() { (($(grep -c 'event=session_freed' "$IT_WORK/logs/collector.log") > freed_before)); }
it_wait_for 15 "the flooding session to be freed" flood_freed
kill "$FLOOD" 2>/dev/null || true
it_log "flood_noread -> $(grep 'event=session_freed' "$IT_WORK/logs/collector.log" | tail -n1 | grep -o 'reason=[a-z_]*')"

# The real agent is unaffected: a brute force still becomes an alert.
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[7$i]: Failed password for root from 198.51.100.77 port 2$i ssh2"
done >>"$AUTH"
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"198.51.100.77"}'; }
it_wait_for 5 "alert from the real agent" has_alert
# (The probe's identity may turn silent – an alert about the agent, not its lines.)
detections() { it_redis_raw XRANGE minisoc:alerts - + | grep '^{' | grep -vc '"rule":{"id":"minisoc-agent-' || true; }
(($(detections) == 1)) || it_fail "hostile lines raised alerts"
grep -q 'event=hello .*agent=web1' "$IT_WORK/logs/collector.log"
grep -q 'session_replaced' "$IT_WORK/logs/collector.log" && it_fail "a probe replaced the agent"

# Every rejected session was counted.
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
bad=$(grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | grep -o 'frames_bad=[0-9]*' | cut -d= -f2)
((bad == 12)) || it_fail "frames_bad=$bad, expected 12"
# The line dated 2099 was taken as dated now (it would have moved shared
# correlation windows into the future), counted and said once.
capped=$(grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | grep -o 'events_time_capped=[0-9]*' | cut -d= -f2)
((capped == 1)) || it_fail "events_time_capped=$capped, expected 1"
it_log_has collector "event=event_time_capped .*agent=probe" || it_fail "no event_time_capped warning"
it_stop agent
it_stop collector

# The other way round: a "collector" that accepts TCP and never answers
# must not hold the agent in its handshake; it gives up and retries.
SPORT=$(it_free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$SPORT" &
IT_PIDS+=($!)
it_agent_conf "$IT_WORK/silent.yml" "$IT_WORK/pki" web1 "$SPORT" "$IT_WORK/state2" end "$AUTH"
sed -i 's/^uplink:$/uplink:\n  dead_after_ms: 1000/' "$IT_WORK/silent.yml"
it_start silent "$IT_AGENT" -c "$IT_WORK/silent.yml"
gave_up_twice() { (($(grep -c 'event=connect_failed' "$IT_WORK/logs/silent.log") >= 2)); }
it_wait_for 20 "agent to give up on a silent collector and retry" gave_up_twice
it_stop silent
it_log "PASS"
