#!/usr/bin/env bash
# minisocctl report's sensor_alive check (siem-edr) on health reports of a
# minisoc capture agent from before 2026-11-29 (78b3cb5): such an agent
# reports `capture.running 1` and no `capture.state`, and the whole fleet's
# sensors run that version until they are upgraded – the current report
# judged every one of them "not alive" however well it captured, and every
# level-3 system failed siem-edr after the center was upgraded. Three
# systems, one sensor each, reports 5 min old (Redis as the collector
# stores them):
#   SYS-001 s-old-up:   capture.running 1, no capture.state   -> pass
#   SYS-002 s-old-down: capture.running 0, no capture.state   -> fail
#   SYS-003 s-new:      capture.running 1, capture.state stopped -> fail
#                       (a newer agent's state is what counts)
#   SYS-004 s-new-up:   capture.running 1, capture.state running -> pass
# The last two are what a current capture agent reports (78b3cb5): the
# report read capture.<interface>.state only, never capture.state (13
# bytes, under its 14-byte minimum), so a current sensor failed too.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_report_sensor_upgrade.sh BUILD_DIR}"
PROF=$IT_ROOT/rules/compliance
it_start_redis
REG=$IT_WORK/register.yml
mkdir -p "$IT_WORK/archive"

python3 - "$REG" "$IT_ROOT/tests/integration" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from regfix import HEAD, system
out = HEAD + 'systems:\n'
for i, sensor in enumerate(("s-old-up", "s-old-down", "s-new", "s-new-up"), 1):
    out += system("SYS-%03d" % i, "Hệ thống SYS-%03d" % i, [(sensor, True)])
open(sys.argv[1], "w").write(out)
PY
AT_MS=$(($(date +%s) * 1000))
H_MS=$((AT_MS - 5 * 60000))
for a in s-old-up:1: s-old-down:0: s-new:1:stopped s-new-up:1:running; do
	IFS=: read -r id run state <<<"$a"
	it_redis HSET minisoc:agents:last_seen "$id" "$AT_MS" >/dev/null
	it_redis HSET "minisoc:agent:$id:health" received_ms "$H_MS" clock.synced 1 \
		capture.source pcap:eth0 capture.running "$run" ${state:+capture.state "$state"} >/dev/null
done

"$IT_CLI" report --register "$REG" --profile-dir "$PROF" --framework new --archive "$IT_WORK/archive" \
	-r "127.0.0.1:$IT_REDIS_PORT" --lang en --format json -o "$IT_WORK/r.json" || it_fail "report failed"
python3 - "$IT_WORK/r.json" <<'PY' || it_fail "sensor_alive judged the sensors wrongly (above)"
import json, sys
d = json.load(open(sys.argv[1]))
got = {s["id"]: [(c["result"], c.get("detail", "")) for c in s["checks"] if c["requirement"] == "siem-edr"][0]
       for s in d["systems"]}
want = {"SYS-001": "pass", "SYS-002": "fail", "SYS-003": "fail", "SYS-004": "pass"}
bad = [f"{k}: {got[k]}, want {v}" for k, v in want.items() if got[k][0] != v]
print("\n".join(bad) or "siem-edr: " + ", ".join(f"{k} {v[0]}" for k, v in sorted(got.items())))
sys.exit(1 if bad else 0)
PY
it_log "PASS"
