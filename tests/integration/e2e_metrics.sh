#!/usr/bin/env bash
# /metrics on a running collector with real traffic: a real agent ships
# lines (one matches a Sigma rule, one no decoder knows), a client without
# a certificate is refused, a hostile client sends an oversize frame; the
# scrape must parse as Prometheus text format (tests/integration/
# promcheck.py, strict) and show each of these in its counter: events
# received / decoded / rejected by reason, per-agent events and alerts,
# rule hits, alerts by severity, sink depth, Redis round trips, TLS
# failures by reason, an auditd exe path longer than its slot. Only GET /metrics is answered, on loopback.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_metrics.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki "$PKI" web1 prober
it_start_redis
CPORT=$(it_free_port)
MPORT=$(it_free_port)
RULES=$IT_WORK/rules
mkdir -p "$RULES"
cat >"$RULES/canary.yml" <<'YML'
title: Canary "quoted" title
id: 00000000-0000-4000-8000-00000000c0de
name: canary_metrics
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'CANARY-METRICS'
  condition: keywords
level: high
YML
# A correlation with more groups than rules.max_groups (16, the least
# allowed): every source past the 16th evicts the least recently seen.
cat >"$RULES/evict.yml" <<'YML'
title: Canary login
name: canary_login
logsource:
  product: linux
  service: sshd
detection:
  sel:
    outcome: success
  condition: sel
---
title: Canary logins per source
name: canary_logins
correlation:
  type: event_count
  rules: [canary_login]
  group-by: [src_ip]
  timespan: 1h
  condition: {gte: 1000}
YML
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $RULES
  max_groups: 16
metrics:
  address: 127.0.0.1
  port: $MPORT
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_log_has collector "event=metrics_listening address=127.0.0.1 port=$MPORT" ||
	it_fail "no metrics_listening line"

# scrape PATH OUT: GET; prints the HTTP status, body in OUT.
scrape() {
	python3 - "$MPORT" "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
port, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    r = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
    ctype = r.headers.get("Content-Type", "")
    body, code = r.read(), r.status
except urllib.error.HTTPError as e:
    body, code, ctype = e.read(), e.code, ""
open(out, "wb").write(body)
print(code, ctype)
PY
}
M=$IT_WORK/metrics.txt
got=$(scrape /metrics "$M")
[[ $got == "200 text/plain; version=0.0.4"* ]] || it_fail "GET /metrics answered: $got"
python3 "$IT_ROOT/tests/integration/promcheck.py" "$M" >/dev/null || it_fail "first scrape is not valid exposition format"
[[ $(scrape /other "$IT_WORK/x") == 404* ]] || it_fail "/other was not 404"

AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$PKI" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
{
	echo "$(it_syslog_now) web1 app[7]: hello CANARY-METRICS"
	echo "$(it_syslog_now) web1 sshd[9]: Accepted publickey for alice from 192.0.2.4 port 5000 ssh2"
	echo "not a syslog line at all"
} >>"$AUTH"
it_wait_for 10 "canary alert in Redis" bash -c \
	"redis-cli -p $IT_REDIS_PORT XRANGE minisoc:alerts - + | grep -q canary_metrics"

# A client without certificate, and a frame over the size cap.
python3 - "$CPORT" "$PKI/ca.crt" <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(sys.argv[2])
ctx.check_hostname = False
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    t = ctx.wrap_socket(s, server_hostname="collector.minisoc.local")
    t.recv(1)
except (ssl.SSLError, OSError):
    pass
PY
out=$(python3 "$IT_ROOT/tests/integration/probe.py" "$CPORT" "$PKI/ca.crt" \
	"$PKI/agent-prober.crt" "$PKI/agent-prober.key" oversize)
[[ $out == error* ]] || it_fail "oversize frame not refused: $out"

get() { python3 "$IT_ROOT/tests/integration/promcheck.py" "$M" "$@"; }
counters_ready() {
	[[ $(scrape /metrics "$M") == 200* ]] || return 1
	local v
	v=$(get 'minisoc_agent_events_received_total{agent="web1"}' \
		'minisoc_tls_handshake_failures_total{reason="no_cert"}' \
		'minisoc_frames_rejected_total{reason="too_big"}' | tr '\n' ' ')
	[[ $v == "3 1 1 " ]]
}
it_wait_for 10 "counters to show the traffic" counters_ready
read -r -a v <<<"$(get minisoc_events_received_total minisoc_events_decoded_total \
	'minisoc_events_rejected_total{reason="undecoded"}' \
	'minisoc_events_rejected_total{reason="duplicate"}' \
	'minisoc_rule_hits_total{rule="canary_metrics"}' \
	'minisoc_alerts_total{severity="high"}' \
	'minisoc_agent_alerts_total{agent="web1"}' \
	'minisoc_agent_connected{agent="web1"}' \
	minisoc_redis_rtt_seconds_count minisoc_sink_pending minisoc_redis_connected \
	'minisoc_tls_handshake_failures_total{reason="unknown_ca"}' | tr '\n' ' ')"
it_log "received=${v[0]} decoded=${v[1]} undecoded=${v[2]} dup=${v[3]} rule_hits=${v[4]}" \
	"alerts_high=${v[5]} agent_alerts=${v[6]} connected=${v[7]} rtt_count=${v[8]}" \
	"pending=${v[9]} redis=${v[10]} unknown_ca=${v[11]}"
((v[0] == 3)) || it_fail "events received ${v[0]}, expected 3"
((v[1] == 2)) || it_fail "events decoded ${v[1]}, expected 2 (two syslog lines)"
((v[2] == 1)) || it_fail "undecoded ${v[2]}, expected 1"
((v[3] == 0)) || it_fail "duplicates ${v[3]}, expected 0"
((v[4] == 1)) || it_fail "rule hits ${v[4]}, expected 1"
((v[5] == 1)) || it_fail "high alerts ${v[5]}, expected 1"
((v[6] == 1)) || it_fail "web1 alerts ${v[6]}, expected 1"
((v[7] == 1)) || it_fail "web1 not shown as connected"
((v[8] >= 2)) || it_fail "Redis round trips not measured (${v[8]})"
[[ ${v[9]} =~ ^[0-9]+$ && ${v[10]} == 1 ]] || it_fail "sink gauges: pending=${v[9]} connected=${v[10]}"
((v[11] == 0)) || it_fail "unknown_ca counted without cause"
grep -q '^minisoc_redis_rtt_seconds_bucket{le="+Inf"}' "$M" || it_fail "no +Inf bucket"
# the rules' loss counters are there, and nothing was lost
read -r -a v <<<"$(get minisoc_rule_chain_dropped_total minisoc_rule_events_skipped_total | tr '\n' ' ')"
[[ ${v[0]:-} == 0 && ${v[1]:-} == 0 ]] || it_fail "rule loss counters: chain_dropped=${v[0]:-none} events_skipped=${v[1]:-none}"

# Only GET; the listener is on loopback only.
code=$(python3 - "$MPORT" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/metrics",
                           data=b"", method="POST"), timeout=5)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
PY
)
[[ $code == 405 || $code == 501 ]] || it_fail "POST /metrics answered $code"
ss -ltnH "sport = :$MPORT" >"$IT_WORK/ss.txt"
grep -q "127.0.0.1:$MPORT" "$IT_WORK/ss.txt" || it_fail "metrics not on 127.0.0.1: $(cat "$IT_WORK/ss.txt")"

# 16 more sources for the 16 groups of canary_logins (one is 192.0.2.4): one evicted.
for i in $(seq 10 25); do
	echo "$(it_syslog_now) web1 sshd[9]: Accepted publickey for alice from 192.0.2.$i port 5000 ssh2"
done >>"$AUTH"
evicted_ready() {
	[[ $(scrape /metrics "$M") == 200* ]] || return 1
	[[ $(get 'minisoc_agent_events_received_total{agent="web1"}') == 19 ]]
}
it_wait_for 10 "the 16 lines counted" evicted_ready
ev=$(get 'minisoc_rule_groups_evicted_total{rule="canary_logins"}')
((ev == 1)) || it_fail "groups evicted by canary_logins: $ev, expected 1"
# The 16 groups held (their records and sample lines) are what the gauge says.
gb=$(get minisoc_rule_groups_bytes)
((gb > 16 * 64)) || it_fail "minisoc_rule_groups_bytes $gb with 16 groups held"

# An exec from a directory 600 bytes deep: the EXECVE record's Image is
# only the ends of the exe path (decode_auditd.c, au_keep_ends), counted.
[[ $(get minisoc_events_values_cut_total) == 0 ]] || it_fail "values cut before any long value"
deep=/tmp/$(printf 'aaaaaaa/%.0s' $(seq 75))nc
{
	echo "type=SYSCALL msg=audit(1795604400.100:9001): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=4001 auid=1000 uid=1000 comm=\"nc\" exe=\"$deep\" key=(null)"
	echo "type=EXECVE msg=audit(1795604400.100:9001): argc=2 a0=\"nc\" a1=\"-l\""
} >>"$AUTH"
cut_ready() {
	[[ $(scrape /metrics "$M") == 200* ]] || return 1
	[[ $(get 'minisoc_agent_events_received_total{agent="web1"}') == 21 ]]
}
it_wait_for 10 "the exec counted" cut_ready
cut=$(get minisoc_events_values_cut_total)
((cut == 1)) || it_fail "events with a value cut: $cut, expected 1 (the EXECVE record)"

it_stop agent
it_stop collector
it_log "PASS"
