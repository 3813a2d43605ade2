#!/usr/bin/env bash
# Information systems with level and compliance status, end to end, with
# the real binaries, a real redis-server, certificates made now and
# Debian's headless Chromium:
#  1. minisocctl report --publish judges a register of three systems on
#     synthetic telemetry (as of 2026-11-20T12:00Z, new framework) and
#     writes minisoc:systems:compliance: SYS-001 partial (clock-sync and an
#     expired inspection fail, 10/12), SYS-002 pass (9/9), SYS-003 fail
#     (0/5, no agent, nothing attested) – each figure follows from the
#     telemetry below; the summary agrees with the report's own JSON.
#  2. a collector with that register publishes minisoc:systems (one JSON
#     record per system: name, level, dossier, plan, layers with expiry,
#     assets and agents);
#  3. with two real agents connected, minisoc-web shows each system's
#     level, compliance status (judged when, the failed requirements on
#     hover and in a detail), agents online/total, and a system name full
#     of HTML as text (systems_browser.py; screenshot in
#     BUILD_DIR/test-output/e2e_systems/);
#  4. SIGHUP with SYS-003 removed from the register: it leaves
#     minisoc:systems and /api/systems; the next report --publish drops it
#     from the compliance hash; a register without systems deletes the hash,
#     and /api/systems falls back to the compliance hash, then to agents.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_systems.sh BUILD_DIR}"
IT_WEB=$IT_BUILD/collector/web/minisoc-web
[[ -x $IT_WEB ]] || it_fail "minisoc-web not built"
if ! command -v chromium >/dev/null; then
	it_log "SKIP: chromium not installed (deploy/install-deps.sh installs it)"
	exit 77
fi
OUT=$IT_BUILD/test-output/e2e_systems
rm -rf "$OUT" && mkdir -p "$OUT"
PROF=$IT_ROOT/rules/compliance
PKI=$IT_WORK/pki
it_pki "$PKI" web1 app1
it_start_redis
REG=$IT_WORK/register.yml
ARCH=$IT_WORK/archive
EVIL='Cổng <img src=x onerror="window.__pwned=3"><b>BOLD</b> & "quotes"'

# write_register WITH_SYS003 (yes|no)
write_register() {
	{
		cat <<YML
province: "Tỉnh thử nghiệm"
sensors: [dc-sensor]
systems:
  - id: SYS-001
    name: '$EVIL'
    type: citizen-facing
    owner: "Văn phòng UBND tỉnh"
    operator: "Trung tâm dữ liệu"
    framework: new
    level: 3
    dossier: approved
    decision: {number: "1/QĐ-UBND", date: 2025-01-02}
    plan: {approved: true, implementation: partial, target: 2026-12-31}
    layers:
      # the dashboard counts layers expired by the browser's own date: a
      # date still ahead when the test runs (2027-06-30 failed it from July 2027)
      onsite:     {status: active, evidence: "QĐ 1", valid_until: 2099-06-30}
      monitoring: {status: active, evidence: "minisoc"}
      inspection: {status: active, evidence: "BB 2", valid_until: 2026-06-30}
      national:   {status: active, evidence: "NCSC"}
    attestations:
      mfa-admin: {ref: "BB MFA", valid_until: 2027-01-31}
      idle-accounts: {ref: "BB TK", valid_until: 2027-01-31}
    assets:
      - {host: web1, agent: web1}
      - {host: db1, agent: db1}
  - id: SYS-002
    name: "Một cửa điện tử"
    type: internal
    owner: "Sở Nội vụ"
    operator: "Trung tâm dữ liệu"
    framework: old
    level: 2
    dossier: submitted
    layers:
      onsite: {status: active, evidence: "QĐ 3", valid_until: 2099-06-30}
    attestations:
      mfa-admin: {ref: "BB MFA 2", valid_until: 2027-01-31}
      idle-accounts: {ref: "BB TK 2", valid_until: 2027-01-31}
    assets:
      - {host: app1, agent: app1}
YML
		if [[ $1 == yes ]]; then cat <<YML
  - id: SYS-003
    name: "Quản lý văn bản"
    type: internal
    owner: "Sở Tư pháp"
    operator: "Sở Tư pháp"
    framework: new
    level: 1
    dossier: drafting
    assets:
      - {host: legacy-box}
YML
		fi
	} >"$REG"
}
write_register yes

# Telemetry as of AT: every agent heard an hour before, delivered events,
# reported health 10 min before with the clock synchronised (but db1's)
# and anti-malware running, saw each event category a day before; the
# shared sensor captures. Archive: SYS-001 3 months and more, SYS-002 1.
python3 - "$ARCH" >"$IT_WORK/telemetry.redis" <<'PY'
import sys, os, datetime as dt
arch = sys.argv[1]
AT = int(dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc).timestamp() * 1000)
H, D = 3600000, 86400000
out = []
for a in ("web1", "db1", "app1"):
    out.append(f"HSET minisoc:agents:last_seen {a} {AT - H}")
    out.append(f"HSET minisoc:agents:seq {a} 100")
    out.append(f"HSET minisoc:agent:{a}:health received_ms {AT - 10 * 60000} "
               f"clock.synced {0 if a == 'db1' else 1} antimalware.clamd running")
    for c in ("login", "config_change", "error"):
        out.append(f"HSET minisoc:agent:{a}:seen {c} {AT - D}")
out.append(f"HSET minisoc:agents:last_seen dc-sensor {AT - 60000}")
out.append(f"HSET minisoc:agent:dc-sensor:health received_ms {AT - 5 * 60000} capture.eth0.state running")
def days(sid, first, last):
    d = dt.date.fromisoformat(first)
    os.makedirs(f"{arch}/{sid}", exist_ok=True)
    while d <= dt.date.fromisoformat(last):
        open(f"{arch}/{sid}/{d.isoformat()}.jsonl.gz", "wb").close()
        d += dt.timedelta(days=1)
days("SYS-001", "2026-08-01", "2026-11-19")
days("SYS-002", "2026-10-01", "2026-11-20")
print("\n".join(out))
PY
it_redis_raw <"$IT_WORK/telemetry.redis" >/dev/null || it_fail "loading telemetry"

RPT=("$IT_CLI" report --register "$REG" --profile-dir "$PROF" --framework new --lang en
	--from 2026-10-21 --to 2026-11-20 --at 2026-11-20T12:00:00Z --archive "$ARCH"
	-r "127.0.0.1:$IT_REDIS_PORT")

# --- 1. report --publish ------------------------------------------------
rc=0
"${RPT[@]}" --format none >/dev/null 2>"$IT_WORK/err" || rc=$?
((rc == 1)) || it_fail "--format none without --publish: exit $rc"
# The report is still written when publishing; stderr says what was published.
"${RPT[@]}" --publish --format json -o "$OUT/report.json" 2>"$IT_WORK/publish.err" ||
	it_fail "report --publish: $(cat "$IT_WORK/publish.err")"
grep -q "published 3 systems to minisoc:systems:compliance (framework new)" "$IT_WORK/publish.err" ||
	it_fail "publish message: $(cat "$IT_WORK/publish.err")"
it_redis_raw HGETALL minisoc:systems:compliance >"$IT_WORK/compliance.txt"
python3 - "$IT_WORK/compliance.txt" "$OUT/report.json" <<'PY' || it_fail "compliance summaries differ (above)"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
h = {lines[i]: json.loads(lines[i + 1]) for i in range(0, len(lines) - 1, 2) if lines[i]}
rep = {s["id"]: s for s in json.load(open(sys.argv[2]))["systems"]}
bad = []
def eq(what, got, want):
    if got != want:
        bad.append(f"{what}: got {got!r}, want {want!r}")
eq("systems", sorted(h), ["SYS-001", "SYS-002", "SYS-003"])
want = {
    "SYS-001": ("partial", 10, 2, 12, ["clock-sync", "independent-inspection"]),
    "SYS-002": ("pass", 9, 0, 9, []),
    "SYS-003": ("fail", 0, 5, 5, ["agent-reporting", "clock-sync", "antimalware", "mfa-admin", "idle-accounts"]),
}
for sid, (st, p, f, t, ids) in want.items():
    x = h.get(sid, {})
    eq(sid, (x.get("status"), x.get("passed"), x.get("failed"), x.get("total"),
             [r["id"] for r in x.get("failed_requirements", [])]), (st, p, f, t, ids))
    eq(sid + " judged", (x.get("framework"), x.get("as_of"), x.get("as_of_ms")),
       ("new", "2026-11-20T12:00:00.000Z", 1795176000000))
    # The same evaluation as the report's own JSON.
    eq(sid + " vs report", (x.get("passed"), x.get("total"), [r["id"] for r in x.get("failed_requirements", [])]),
       (rep[sid]["passed"]["num"], rep[sid]["passed"]["den"], rep[sid]["gaps"]))
f = {r["id"]: r for r in h["SYS-001"]["failed_requirements"]}
eq("clock-sync detail", "db1" in (f.get("clock-sync", {}).get("detail") or ""), True)
eq("inspection detail", "expired on 2026-06-30" in (f.get("independent-inspection", {}).get("detail") or ""), True)
eq("title", f.get("clock-sync", {}).get("title"), "Clock synchronised with a time server (NTP)")
eq("agents SYS-001", (h["SYS-001"]["agents"], h["SYS-001"]["agents_reporting_24h"]), (2, 2))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
it_log "report --publish: SYS-001 partial 10/12, SYS-002 pass 9/9, SYS-003 fail 0/5"

# --- 2. the collector publishes the register ----------------------------
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
printf 'register:\n  path: %s\n' "$REG" >>"$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_log_has collector "event=register_published key=minisoc:systems systems=3" || it_fail "not published"
hlen_is() { [[ $(it_redis_raw HLEN minisoc:systems) == "$1" ]]; }
it_wait_for 10 "minisoc:systems with 3 records" hlen_is 3
it_redis_raw HGETALL minisoc:systems >"$IT_WORK/systems.txt"
python3 - "$IT_WORK/systems.txt" "$EVIL" <<'PY' || it_fail "minisoc:systems records differ (above)"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
h = {lines[i]: json.loads(lines[i + 1]) for i in range(0, len(lines) - 1, 2) if lines[i]}
bad = []
def eq(what, got, want):
    if got != want:
        bad.append(f"{what}: got {got!r}, want {want!r}")
a, b, c = h["SYS-001"], h["SYS-002"], h["SYS-003"]
eq("name", a["name"], sys.argv[2])
eq("SYS-001", {k: a[k] for k in ("id", "type", "owner", "operator", "framework", "level", "dossier", "decision",
                                 "plan", "assets", "agents", "agent_ids")},
   {"id": "SYS-001", "type": "citizen-facing", "owner": "Văn phòng UBND tỉnh", "operator": "Trung tâm dữ liệu",
    "framework": "new", "level": 3, "dossier": "approved", "decision": {"number": "1/QĐ-UBND", "date": "2025-01-02"},
    "plan": {"approved": True, "implementation": "partial", "target": "2026-12-31"},
    "assets": 2, "agents": 2, "agent_ids": ["web1", "db1"]})
eq("layers", a["layers"], {
    "onsite": {"status": "active", "evidence": "QĐ 1", "valid_until": "2099-06-30"},
    "monitoring": {"status": "active", "evidence": "minisoc", "valid_until": None},
    "inspection": {"status": "active", "evidence": "BB 2", "valid_until": "2026-06-30"},
    "national": {"status": "active", "evidence": "NCSC", "valid_until": None}})
eq("SYS-002", (b["level"], b["framework"], b["dossier"], b["decision"], b["plan"]["approved"],
               b["layers"]["inspection"]["status"], b["agents"]), (2, "old", "submitted", None, False, "missing", 1))
eq("SYS-003", (c["level"], c["assets"], c["agents"], c["agent_ids"]), (1, 1, 0, []))
for x in bad:
    print(x)
sys.exit(1 if bad else 0)
PY
it_log "minisoc:systems: 3 records as in the register"

# --- 3. the dashboard ---------------------------------------------------
for a in web1 app1; do
	: >"$IT_WORK/$a.log"
	it_agent_conf "$IT_WORK/$a.yml" "$PKI" "$a" "$CPORT" "$IT_WORK/state-$a" end "$IT_WORK/$a.log"
	it_start "agent_$a" "$IT_AGENT" -c "$IT_WORK/$a.yml"
done
online() { [[ $(it_redis_raw HGET "minisoc:agent:$1" status) == online ]]; }
it_wait_for 15 "web1 online" online web1
it_wait_for 15 "app1 online" online app1
WPORT=$(it_free_port)
openssl rand -hex 24 >"$IT_WORK/web.token"
printf 'web:\n  port: %s\n  token_file: %s\nredis:\n  port: %s\n' "$WPORT" "$IT_WORK/web.token" \
	"$IT_REDIS_PORT" >"$IT_WORK/web.yml"
it_start web "$IT_WEB" -c "$IT_WORK/web.yml"
it_wait_for 10 "web listening" it_log_has web "event=listening"
python3 "$IT_ROOT/tests/integration/systems_browser.py" "http://127.0.0.1:$WPORT" \
	"$IT_WORK/web.token" "$OUT" "$EVIL" || it_fail "browser checks failed (see $OUT)"

# --- 4. a system removed from the register --------------------------------
api_systems() {
	python3 - "$WPORT" "$(cat "$IT_WORK/web.token")" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/systems",
                             headers={"Authorization": "Bearer " + sys.argv[2]})
d = json.load(urllib.request.urlopen(req, timeout=5))
print(d["source"], " ".join(sorted(s["id"] for s in d["systems"])))
PY
}
[[ $(api_systems) == "register SYS-001 SYS-002 SYS-003" ]] || it_fail "/api/systems: $(api_systems)"
write_register no
kill -HUP "$IT_PID_collector"
it_wait_for 10 "SYS-003 gone from minisoc:systems" hlen_is 2
[[ $(it_redis_raw HEXISTS minisoc:systems SYS-003) == 0 ]] || it_fail "SYS-003 still in minisoc:systems"
[[ $(it_redis_raw HEXISTS minisoc:systems:compliance SYS-003) == 1 ]] ||
	it_fail "the collector's reload touched the compliance hash"
[[ $(api_systems) == "register SYS-001 SYS-002" ]] || it_fail "/api/systems after reload: $(api_systems)"
"${RPT[@]}" --publish --format none 2>"$IT_WORK/publish.err" || it_fail "second publish"
[[ $(it_redis_raw HKEYS minisoc:systems:compliance | sort | tr '\n' ' ') == "SYS-001 SYS-002 " ]] ||
	it_fail "compliance hash after the second publish: $(it_redis_raw HKEYS minisoc:systems:compliance)"
# A register without systems leaves no record behind.
printf 'systems: []\n' >"$REG"
kill -HUP "$IT_PID_collector"
gone() { [[ $(it_redis_raw EXISTS minisoc:systems) == 0 ]]; }
it_wait_for 10 "minisoc:systems deleted" gone
# The page's fallbacks: the systems of the compliance hash, then those agents carry.
[[ $(api_systems) == "compliance SYS-001 SYS-002" ]] || it_fail "/api/systems without a register: $(api_systems)"
it_redis DEL minisoc:systems:compliance >/dev/null
[[ $(api_systems) == "agents unassigned" ]] || it_fail "/api/systems from the agents: $(api_systems)"
it_log "removed systems leave both hashes"

it_stop web
it_stop agent_web1
it_stop agent_app1
it_stop collector
it_log "PASS (screenshot in $OUT/systems.png)"
