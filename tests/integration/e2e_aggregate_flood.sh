#!/usr/bin/env bash
# A flood's aggregation windows ending together, with the real collector,
# agent and Redis: 300 sources each raise the same rule twice within its
# 2 s window, so 300 windows close in the same second. Their summaries go
# out in slices of 128, 5 ms apart, with the loop running in between
# (collector.c, aggregate_timer_cb): every one of them arrives, once, with
# the right count, spread over the slices (Redis's entry ids: at least the
# two 5 ms gaps between three slices); and an alert raised once the first
# summaries are out arrives too.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_aggregate_flood.sh BUILD_DIR}"

N=300
it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
mkdir -p "$IT_WORK/rules"
cat >"$IT_WORK/rules/flood.yml" <<'YML'
title: Test flood marker
id: 6a1f8c52-3d0e-4b8f-9c41-7e2b5d9a0c11
name: test_flood
status: test
logsource:
  product: linux
  service: sshd
detection:
  keywords:
    - 'FLOODTEST'
  condition: keywords
level: low
YML
cat >"$IT_WORK/rules/after.yml" <<'YML'
title: Test after marker
id: 1b7e2d40-9a3c-4f65-8d12-c4e9a7b3f820
name: test_after
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'AFTERTEST'
  condition: keywords
level: low
YML
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $IT_WORK/rules
alerts:
  aggregate_window_s: 60
  aggregate_rules: test_flood=2,test_after=0
detect:
  ssh_bruteforce:
    enabled: false
YML
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

xlen() { it_redis_raw XLEN minisoc:alerts; }
xlen_is() { [[ $(xlen) == "$1" ]]; }
xlen_over() { (($(xlen) > $1)); }

# Two lines per source, one source per window: N first alerts at once.
# Built first, appended at once: written line by line, a date(1) each, the
# first round took 1.2-1.5 s on this host under load, and a source's second
# line came after its 2 s window had closed (a new first alert, never N).
now=$(it_syslog_now)
for round in 1 2; do
	for i in $(seq 1 $N); do
		printf '%s web1 sshd[%d]: Failed password for invalid user FLOODTEST from 10.77.%d.%d port 22 ssh2\n' \
		    "$now" $((1000 + i)) $((i / 250)) $((i % 250 + 1))
	done
done >"$IT_WORK/lines"
cat "$IT_WORK/lines" >>"$AUTH"
it_wait_for 20 "the $N first alerts" xlen_is $N
# Then the windows end (2 s), and an unfolded alert comes while their summaries go out.
it_wait_for 10 "the first summaries" xlen_over $N
echo "$(it_syslog_now) web1 cron[9]: AFTERTEST" >>"$AUTH"
it_wait_for 20 "$N summaries and the alert after them" xlen_is $((2 * N + 1))

it_redis_raw XRANGE minisoc:alerts - + >"$IT_WORK/xrange.txt"
python3 - "$IT_WORK/xrange.txt" "$N" <<'PY' || it_fail "summaries wrong (see $IT_WORK/xrange.txt)"
import json, re, sys
n = int(sys.argv[2])
alerts, ids, cur = [], [], None
for l in open(sys.argv[1]):
    if re.fullmatch(r"\d+-\d+\n?", l):
        cur = int(l.split("-")[0])
    elif l.startswith("{"):
        alerts.append(json.loads(l))
        ids.append(cur)
assert len(alerts) == 2 * n + 1, len(alerts)
flood = [a for a in alerts if a["rule"].get("name") == "test_flood"]
firsts = [a for a in flood if "aggregate" not in a]
sums = [a for a in flood if "aggregate" in a]
assert len(firsts) == n and len(sums) == n, (len(firsts), len(sums))
assert len({a["source"]["ip"] for a in sums}) == n      # each window once
assert all(a["aggregate"]["alerts"] == 2 and a["aggregate"]["window_s"] == 2 for a in sums)
by_id = {a["event"]["id"]: a["source"]["ip"] for a in firsts}
assert all(by_id[a["aggregate"]["first_id"]] == a["source"]["ip"] for a in sums)
assert sum(1 for a in alerts if a["rule"].get("name") == "test_after") == 1
# In slices: one callback for all of them would put them within a millisecond or two.
# Three slices are two gaps of at least 5 ms when sent; Redis's ids are whole
# milliseconds of its clock when it runs them, and a first slice that waited in its
# queue while the suite loaded both cores reads closer to the last (seen: 8).
t = [ms for a, ms in zip(alerts, ids) if a["rule"].get("name") == "test_flood" and "aggregate" in a]
assert max(t) - min(t) >= 5, ("summaries not in slices", max(t) - min(t))
PY
it_log "$N windows ending together: $N summaries, each once, and the alert after them: ok"
it_stop agent
it_stop collector
it_log "PASS"
