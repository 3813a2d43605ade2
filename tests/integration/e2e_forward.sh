#!/usr/bin/env bash
# minisoc-forward end to end (layer 4, to the national center), with a real
# redis-server, certificates made now and a real TLS receiver
# (syslog_sink.py, mutual TLS, RFC 5425 framing) standing in for the center:
#  0. a receiver whose certificate does not carry the expected name is refused;
#  1. alerts of every severity, today's JSON names and the ECS-style ones:
#     only those >= high arrive, each a valid RFC 5424 message whose MSG is
#     the alert JSON and whose SD carries the alert id; the others are
#     acknowledged in Redis as filtered (nothing left pending);
#  2. one alert through the real pipeline (agent -> collector -> Redis: SSH
#     brute force, severity high) arrives too;
#  3. the receiver is stopped, alerts are added, the receiver starts again:
#     every one of them arrives afterwards;
#  4. an incident event arrives as a well-formed IODEF 2.0 document with the
#     required elements and its alerts' addresses;
#  5. minisoc-forward is SIGKILLed while a batch is on its way and started
#     again: every alert of the batch arrives (duplicates only of what was
#     sent but not yet confirmed when it died – at least once);
#  6. a forwarder killed for good with entries pending: another one, under
#     another consumer name, takes them over and delivers them.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_forward.sh BUILD_DIR}"
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
FWD=$IT_BUILD/collector/minisoc-forward
TOOL=$HERE/fwd_tool.py
[[ -x $FWD ]] || it_fail "minisoc-forward not built in $IT_BUILD"

it_pki "$IT_WORK/pki" web1 forwarder
it_start_redis
OUT=$IT_WORK/received.jsonl
: >"$OUT"

sink_start() {
	rm -f "$IT_WORK/sink.port"
	it_start sink python3 "$HERE/syslog_sink.py" --cert "$IT_WORK/pki/collector.crt" \
		--key "$IT_WORK/pki/collector.key" --ca "$IT_WORK/pki/ca.crt" --out "$OUT" \
		--port-file "$IT_WORK/sink.port" --port "${SINK_PORT:-0}"
	it_wait_for 10 "the receiver to listen" test -s "$IT_WORK/sink.port"
	SINK_PORT=$(cat "$IT_WORK/sink.port")
	# Started again on it after each outage: no other test may be given it meanwhile.
	it_port_hold "$SINK_PORT"
}
# The receiver is a Python process: SIGTERM ends it with 143, which is expected.
sink_stop() { kill -TERM "$IT_PID_sink"; wait "$IT_PID_sink" 2>/dev/null || true; }
sink_start
it_forward_conf "$IT_WORK/forward.yml" "$SINK_PORT" "forward.max_inflight: 50"
"$FWD" --check -c "$IT_WORK/forward.yml" >/dev/null || it_fail "--check refused the config"
# 0. The receiver's name is checked: a forwarder expecting another name
#    does not send (the certificate says collector.minisoc.local).
sed -e 's/server_name: collector.minisoc.local/server_name: center.example.vn/' \
	-e 's/consumer: fwd-1/consumer: fwd-wrong-name/' "$IT_WORK/forward.yml" >"$IT_WORK/wrong.yml"
it_start wrong "$FWD" -c "$IT_WORK/wrong.yml"
it_wait_for 10 "the wrong name refused" it_log_has wrong "event=upstream_connect_failed .*certificate"
it_stop wrong
it_log_has wrong "event=upstream_connected" && it_fail "connected to a receiver with another name"
it_start forward "$FWD" -c "$IT_WORK/forward.yml"
it_wait_for 10 "the forwarder's group on Redis" it_log_has forward "event=redis_ready"
it_wait_for 10 "the forwarder connected upstream" it_log_has forward "event=upstream_connected"

received() { python3 "$TOOL" ids "$OUT" || it_fail "a received message is malformed"; }
# have_all FILE: every id in FILE was received (at least once).
have_all() { local got; got=$(received); [[ -z $(comm -23 <(sort -u "$1") <(sort -u <<<"$got")) ]]; }
pending() { it_redis_raw XPENDING minisoc:alerts minisoc-forward | sed -n 1p; }
none_pending() { [[ $(pending) == 0 ]]; }

# 1. The threshold, with both JSON styles.
: >"$IT_WORK/want1"
: >"$IT_WORK/skip1"
for style in old ecs; do
	for sev in informational low medium; do
		python3 "$TOOL" add "$IT_REDIS_PORT" $style $sev 2 >>"$IT_WORK/skip1"
	done
	for sev in high critical; do
		python3 "$TOOL" add "$IT_REDIS_PORT" $style $sev 2 >>"$IT_WORK/want1"
	done
done
it_wait_for 15 "the high and critical alerts upstream" have_all "$IT_WORK/want1"
it_wait_for 10 "nothing pending in the group" none_pending
GOT=$(received)
[[ -z $(comm -12 <(sort -u "$IT_WORK/skip1") <(sort -u <<<"$GOT")) ]] ||
	it_fail "an alert below the threshold was forwarded"
it_log "step 1: $(wc -l <"$IT_WORK/want1") of $(($(wc -l <"$IT_WORK/want1") + $(wc -l <"$IT_WORK/skip1"))) alerts forwarded (>= high), the rest filtered"

# 2. One alert through agent -> collector -> Redis.
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
AUTH=$IT_WORK/auth.log
echo "$(it_syslog_now) web1 sshd[100]: Server listening on 0.0.0.0 port 22." >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello at the collector" it_log_has collector "event=hello .*agent=web1"
lines=()
for i in $(seq 1 8); do
	lines+=("$(it_syslog_now) web1 sshd[20$i]: Failed password for root from 192.0.2.77 port 4$i$i$i ssh2")
done
printf '%s\n' "${lines[@]}" >>"$AUTH"
it_wait_for 10 "the collector's alert" it_log_has collector "event=alert id=.*rule=minisoc-ssh-bruteforce"
PIPE_ID=$(grep -o 'event=alert id=[0-9a-f-]*' "$IT_WORK/logs/collector.log" | sed -n 1p | cut -d= -f3)
echo "$PIPE_ID" >"$IT_WORK/want2"
it_wait_for 10 "the pipeline's alert upstream" have_all "$IT_WORK/want2"
it_stop agent
it_stop collector
it_log "step 2: the collector's brute-force alert $PIPE_ID arrived"

# 3. The receiver is down while alerts come.
sink_stop
it_wait_for 10 "the forwarder to see the receiver gone" it_log_has forward "event=upstream_lost"
python3 "$TOOL" add "$IT_REDIS_PORT" old high 30 >"$IT_WORK/want3"
# They are read, pending in the group and not acknowledged while nobody receives them.
some_pending() { (($(pending) >= 30)); }
it_wait_for 10 "the new alerts pending" some_pending
it_wait_for 10 "reconnection attempts" it_log_has forward "event=upstream_connect_failed"
have_all "$IT_WORK/want3" && it_fail "alerts arrived while the receiver was down"
sink_start
it_wait_for 20 "every alert added during the outage" have_all "$IT_WORK/want3"
it_wait_for 10 "nothing pending in the group" none_pending
DUP3=$(($(received | grep -c -F -x -f "$IT_WORK/want3") - 30))
it_log "step 3: all 30 alerts added during the outage arrived after it ($DUP3 twice)"

# 4. An incident, with two alerts of step 1 (their source addresses).
A1=$(head -n1 "$IT_WORK/want1")
A2=$(tail -n1 "$IT_WORK/want1")
INC='{"id":"INC-2026-0007","created":"2026-11-25T16:40:00Z","updated":"2026-11-25T16:41:00Z",'
INC+='"severity":"critical","serious":true,"title":"Brute force <script>&\"x\" on web1",'
INC+='"systems":["SYS-0012"],"alerts":["'$A1'","'$A2'","not-an-alert"],"status":"notified",'
INC+='"notes":[{"time":"2026-11-25T16:40:30Z","who":"op1","text":"blocked at the edge & called the owner"}]}'
it_redis XADD minisoc:incidents:events '*' incident "$INC" >/dev/null
incident_in() { python3 "$TOOL" iodef "$OUT" INC-2026-0007 203.0.113.5 3 >"$IT_WORK/iodef.xml" 2>/dev/null; }
it_wait_for 10 "the incident upstream as IODEF" incident_in
python3 "$TOOL" iodef "$OUT" INC-2026-0007 203.0.113.5 3 >/dev/null || it_fail "IODEF check"
if command -v xmllint >/dev/null; then
	xmllint --noout "$IT_WORK/iodef.xml" || it_fail "xmllint: not well-formed"
fi
it_log "step 4: incident INC-2026-0007 arrived as IODEF ($(wc -c <"$IT_WORK/iodef.xml") bytes)"

# 5. SIGKILL while a batch is under way, then start again.
BEFORE=$(received | wc -l)
python3 "$TOOL" add "$IT_REDIS_PORT" ecs critical 300 >"$IT_WORK/want5"
some_arrived() { (($(received | wc -l) > BEFORE)); }
it_wait_for 10 "the batch to start arriving" some_arrived
kill -KILL "$IT_PID_forward"
wait "$IT_PID_forward" 2>/dev/null || true
GOT_AT_KILL=$(comm -12 <(sort -u "$IT_WORK/want5") <(received | sort -u) | wc -l)
((GOT_AT_KILL < 300)) || it_log "note: the whole batch had arrived before the kill"
it_log "killed the forwarder with $GOT_AT_KILL of 300 received, $(pending) pending"
it_start forward2 "$FWD" -c "$IT_WORK/forward.yml"
it_wait_for 30 "every alert of the batch after the restart" have_all "$IT_WORK/want5"
it_wait_for 10 "nothing pending in the group" none_pending
DUP5=$(($(received | grep -c -F -x -f "$IT_WORK/want5") - 300))
it_log "step 5: 300 of 300 arrived after the SIGKILL ($DUP5 twice: sent, not yet confirmed when it died)"
# Duplicates come only from what was in flight at the kill: at most the window.
((DUP5 <= 50)) || it_fail "$DUP5 duplicates, more than the window (50) holds"
# Nothing else arrives twice: steps 1, 2 and 4 had no failure.
DUP1=$(($(received | grep -c -F -x -f "$IT_WORK/want1") - $(wc -l <"$IT_WORK/want1")))
((DUP1 == 0)) || it_fail "$DUP1 duplicates without any failure"

# 6. A forwarder that dies for good with entries pending, and one under
#    another consumer name takes them over (XAUTOCLAIM once they are idle
#    redis.claim_idle_ms).
sink_stop
it_wait_for 10 "the forwarder to see the receiver gone" it_log_has forward2 "event=upstream_lost"
python3 "$TOOL" add "$IT_REDIS_PORT" old critical 10 >"$IT_WORK/want6"
ten_pending() { (($(pending) >= 10)); }
it_wait_for 10 "the alerts read and pending at fwd-1" ten_pending
kill -KILL "$IT_PID_forward2"
wait "$IT_PID_forward2" 2>/dev/null || true
sed -e 's/consumer: fwd-1/consumer: fwd-2/' -e 's/block_ms: 200/block_ms: 200\n  claim_idle_ms: 1000/' \
	"$IT_WORK/forward.yml" >"$IT_WORK/forward2.yml"
sink_start
it_start forward3 "$FWD" -c "$IT_WORK/forward2.yml"
it_wait_for 20 "fwd-2 to deliver what fwd-1 left pending" have_all "$IT_WORK/want6"
it_wait_for 10 "nothing pending in the group" none_pending
it_log "step 6: the 10 alerts fwd-1 left pending were claimed and delivered by fwd-2"

# Counters in Redis, and a clean stop.
it_stop forward3
STATS=$(it_redis_raw HGETALL minisoc:forward:stats | paste -sd' ')
it_log "stats: $STATS"
grep -q 'filtered' <<<"$STATS" || it_fail "no counters in minisoc:forward:stats"
it_log "PASS"
