#!/usr/bin/env bash
# The compliance report of a PAST period (minisocctl report --to in the
# past, or --at) on telemetry that Redis only keeps as its latest values
# (last frame, handled seq, health report, event categories last seen).
# The second quarter (--from 2026-04-01 --to 2026-06-30, T = its last ms),
# run "on 5 July", with a real redis-server:
#   SYS-001: every fact dated 5 July, after T: the six telemetry checks
#     (agent-reporting, logs-central, clock-sync, antimalware, event-types,
#     siem-edr via the shared sensor) are unknown – not pass, not fail – in
#     JSON, in the CSV annex and in the HTML (cell and legend); retention
#     (by archive date) and the attestations are judged as always; status
#     unknown, counted as not passed;
#   SYS-002: every fact dated before T within the window (last frame 30 min
#     after T: within the slack) – all pass;
#   SYS-003: one agent after T, the other failing before T: what fails
#     before T fails, what only the later agent could tell is unknown, a
#     category seen in the window on one agent and later on the other
#     passes;
#   SYS-004: 70 sensors of its own, the 70th not capturing: siem-edr fails
#     (the first 64 only were judged before);
# the same telemetry judged --at 5 July passes SYS-001; and a profile of
# 76 requirements (75 at level 3) lists all 75 in the per-level table
# (64 were shown before).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_report_past.sh BUILD_DIR}"
OUT=$IT_BUILD/test-output/e2e_report_past
rm -rf "$OUT" && mkdir -p "$OUT"
PROF=$IT_ROOT/rules/compliance
it_start_redis
REG=$IT_WORK/register.yml
ARCH=$IT_WORK/archive

python3 - "$REG" "$IT_ROOT/tests/integration" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from regfix import HEAD, system
out = HEAD + 'sensors: [dc-sensor]\nsystems:\n'
out += system("SYS-001", "Sau kỳ", [("a1", False), ("a2", False)], attest=True)
out += system("SYS-002", "Trong kỳ", [("c1", False), ("s2", True)], attest=True)
out += system("SYS-003", "Hỗn hợp", [("b1", False), ("b2", False)], attest=True)
out += system("SYS-004", "Bảy mươi cảm biến", [("s4-%02d" % i, True) for i in range(1, 71)], attest=True)
open(sys.argv[1], "w").write(out)
PY

python3 - "$ARCH" >"$IT_WORK/telemetry.redis" <<'PY'
import sys, os, datetime as dt
arch = sys.argv[1]
T = int(dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc).timestamp() * 1000) - 1
LATER = int(dt.datetime(2026, 7, 5, 9, tzinfo=dt.timezone.utc).timestamp() * 1000)
H, D = 3600000, 86400000
out = []
def agent(a, seen, health, clock=1, cats=None, capture=False):
    out.append(f"HSET minisoc:agents:last_seen {a} {seen}")
    out.append(f"HSET minisoc:agents:seq {a} 100")
    h = f"HSET minisoc:agent:{a}:health received_ms {health} clock.synced {clock} antimalware.clamd running"
    if capture:
        h += f" capture.eth0.state {capture}"
    out.append(h)
    for c, t in (cats or {}).items():
        out.append(f"HSET minisoc:agent:{a}:seen {c} {t}")
allcats = lambda t: {"login": t, "config_change": t, "error": t}
for a in ("a1", "a2", "b1"):
    agent(a, LATER, LATER, cats=allcats(LATER))
agent("c1", T + 30 * 60000, T - 10 * 60000, cats=allcats(T - D))
agent("s2", T - 60000, T - 5 * 60000, capture="running")
agent("b2", T - 30 * H, T - 10 * 60000, clock=0, cats={"login": T - D})
for i in range(1, 71):
    agent("s4-%02d" % i, T - 60000, T - 5 * 60000, cats=allcats(T - D),
          capture="stopped" if i == 70 else "running")
out.append(f"HSET minisoc:agents:last_seen dc-sensor {LATER}")
out.append(f"HSET minisoc:agent:dc-sensor:health received_ms {LATER} capture.eth0.state running")
for sid in ("SYS-001", "SYS-002", "SYS-003", "SYS-004"):
    os.makedirs(f"{arch}/{sid}")
    d = dt.date(2026, 3, 1)
    while d <= dt.date(2026, 7, 5):
        open(f"{arch}/{sid}/{d.isoformat()}.0.zst", "wb").close()
        d += dt.timedelta(days=1)
print("\n".join(out))
PY
it_redis_raw <"$IT_WORK/telemetry.redis" >/dev/null || it_fail "loading telemetry"

# No --at: T is the end of --to, as a quarterly report run later has it.
RPT=("$IT_CLI" report --register "$REG" --profile-dir "$PROF" --framework new
	--from 2026-04-01 --to 2026-06-30 --archive "$ARCH" -r "127.0.0.1:$IT_REDIS_PORT")
for f in json csv html; do
	"${RPT[@]}" --format $f -o "$OUT/q2.$f" || it_fail "report --format $f"
done
"${RPT[@]}" --lang en --format json -o "$OUT/q2.en.json" || it_fail "report --lang en"
"${RPT[@]}" --lang en -o "$OUT/q2.en.html" || it_fail "report --lang en html"
"${RPT[@]}" --at 2026-07-05T12:00:00Z --format json -o "$OUT/later.json" || it_fail "report --at later"
"${RPT[@]}" --publish --format none 2>"$IT_WORK/publish.err" || it_fail "publish: $(cat "$IT_WORK/publish.err")"
it_redis_raw HGET minisoc:systems:compliance SYS-001 >"$OUT/sys001.summary.json"
it_redis_raw HGET minisoc:systems:compliance SYS-003 >"$OUT/sys003.summary.json"

python3 - "$OUT" <<'PY' || it_fail "the past report claims what it cannot know (above)"
import csv, json, re, sys
out = sys.argv[1]
bad = []
def eq(what, got, want):
    if got != want:
        bad.append(f"{what}: got {got!r}, want {want!r}")
# In profile order.
TEL = ["agent-reporting", "clock-sync", "antimalware", "logs-central", "event-types", "siem-edr"]
OTHER = ["mfa-admin", "idle-accounts", "log-retention", "onsite-force", "independent-inspection",
         "national-connection"]
d = json.load(open(f"{out}/q2.json"))
eq("evaluated_at", d["scope"]["evaluated_at"], "2026-06-30T23:59:59.999Z")
sy = {s["id"]: {c["requirement"]: c for c in s["checks"]} for s in d["systems"]}
res = lambda sid: {k: v["result"] for k, v in sy[sid].items() if v["result"] != "n/a"}
eq("SYS-001", res("SYS-001"), {**{k: "unknown" for k in TEL}, **{k: "pass" for k in OTHER}})
eq("SYS-002", res("SYS-002"), {k: "pass" for k in TEL + OTHER})
eq("SYS-003", res("SYS-003"), {"agent-reporting": "fail", "logs-central": "fail", "clock-sync": "fail",
   "antimalware": "unknown", "event-types": "unknown", "siem-edr": "unknown", **{k: "pass" for k in OTHER}})
eq("SYS-004 siem-edr", (sy["SYS-004"]["siem-edr"]["result"], "s4-70" in sy["SYS-004"]["siem-edr"]["detail"]),
   ("fail", True))
det = sy["SYS-001"]["agent-reporting"]["detail"]
if "không xác định" not in det or "sau thời điểm đánh giá" not in det:
    bad.append(f"SYS-001 agent-reporting detail (vi): {det!r}")
eq("SYS-001 evidence after T", sy["SYS-001"]["agent-reporting"]["evidence_time"], "2026-07-05T09:00:00.000Z")
eq("SYS-003 event-types detail", all(c in sy["SYS-003"]["event-types"]["detail"] for c in ("config_change", "error"))
   and "login" not in sy["SYS-003"]["event-types"]["detail"], True)
s = {x["id"]: x for x in d["systems"]}
eq("SYS-001 passed", s["SYS-001"]["passed"]["text"], "6/12 = 50.00 %")
eq("SYS-001 gaps", s["SYS-001"]["gaps"], [])
eq("SYS-001 unknown", s["SYS-001"].get("unknown"), TEL)
eq("SYS-003 gaps", s["SYS-003"]["gaps"], ["agent-reporting", "clock-sync", "logs-central"])
eq("compliant", d["summary"]["systems_compliant"]["text"], "1/4 = 25.00 %")
eq("systems unknown", d["summary"].get("systems_unknown"), 1)
cov = d["summary"]["coverage"]
# a1, a2, b1 heard only after T: neither reporting nor silent; b2 silent for 30 h.
eq("agents reporting", (cov["agents_reporting_24h"]["text"], cov.get("agents_unknown_24h")), ("72/76 = 94.74 %", 3))
l3 = d["levels"][0]["requirements"]
eq("level 3 agent-reporting", (l3["agent-reporting"]["text"], l3["agent-reporting"].get("unknown")), ("2/4 = 50.00 %", 1))
eq("level 3 antimalware", (l3["antimalware"]["text"], l3["antimalware"].get("unknown")), ("2/4 = 50.00 %", 2))
eq("level 3 mfa", (l3["mfa-admin"]["text"], l3["mfa-admin"].get("unknown")), ("4/4 = 100.00 %", 0))

en = json.load(open(f"{out}/q2.en.json"))
det = [c for c in en["systems"][0]["checks"] if c["requirement"] == "clock-sync"][0]["detail"]
if not det.startswith("not known as of 2026-06-30T23:59:59.999Z: only the latest telemetry"):
    bad.append(f"SYS-001 clock-sync detail (en): {det!r}")

later = json.load(open(f"{out}/later.json"))
c1 = {c["requirement"]: c["result"] for c in later["systems"][0]["checks"] if c["result"] != "n/a"}
eq("SYS-001 judged on 5 July", c1, {k: "pass" for k in TEL + OTHER})

for sid, want in (("SYS-001", ("unknown", 6, 0, 6, 12)), ("SYS-003", ("partial", 6, 3, 3, 12))):
    x = json.load(open(f"{out}/{sid.lower().replace('-', '')}.summary.json"))
    eq(f"{sid} summary", (x["status"], x["passed"], x["failed"], x.get("unknown"), x["total"]), want)
    eq(f"{sid} unknown requirements", [u["id"] for u in x.get("unknown_requirements", [])],
       TEL if sid == "SYS-001" else ["antimalware", "event-types", "siem-edr"])

rows = list(csv.reader(open(f"{out}/q2.csv", encoding="utf-8-sig")))
hdr = rows[0]
reqs = {r["id"]: r["title"] for r in d["requirements"]}
row = {r[0]: dict(zip(hdr, r)) for r in rows[1:]}
for k in TEL:
    eq(f"CSV SYS-001 {k}", row["SYS-001"].get(reqs[k]), "Không xác định")
    eq(f"CSV SYS-002 {k}", row["SYS-002"].get(reqs[k]), "Đạt")
eq("CSV SYS-003 clock", row["SYS-003"].get(reqs["clock-sync"]), "Không đạt")
eq("CSV SYS-001 retention", row["SYS-001"].get(reqs["log-retention"]), "Đạt")

def html_results(path, sid):
    h = open(path, encoding="utf-8").read()
    m = re.search(r'<div class="system" id="%s">(.*?)</div>' % sid, h, re.S)
    if not m:
        bad.append(f"{path}: no section for {sid}")
        return h, {}
    cells = re.findall(r'<tr><td>([^<]*)</td><td>[^<]*</td><td class="([a-z]+)">([^<]*)</td>', m.group(1))
    return h, {t: (c, l) for t, c, l in cells}
h, got = html_results(f"{out}/q2.html", "SYS-001")
for k in TEL:
    eq(f"HTML SYS-001 {k}", got.get(reqs[k]), ("unknown", "Không xác định"))
eq("HTML SYS-001 retention", got.get(reqs["log-retention"]), ("pass", "Đạt"))
if '<span class="unknown">Không xác định</span> –' not in h:
    bad.append("HTML: no legend for Không xác định")
_, got = html_results(f"{out}/q2.html", "SYS-002")
eq("HTML SYS-002", set(got.values()), {("pass", "Đạt")})
# Per-level table: the unknown column.
m = re.search(r'<tr><td>%s</td>.*?</tr>' % re.escape(reqs["antimalware"]), h)
if not m or "2/4 = 50.00 %" not in m.group(0) or '<td class="n unknown">2</td>' not in m.group(0):
    bad.append(f"HTML per-level antimalware row: {m.group(0) if m else None!r}")
he, got = html_results(f"{out}/q2.en.html", "SYS-001")
eq("HTML en SYS-001 clock", got.get([r["title"] for r in json.load(open(f"{out}/q2.en.json"))["requirements"]
   if r["id"] == "clock-sync"][0]), ("unknown", "Not known"))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
it_log "past period: unknown where only later telemetry speaks, pass and fail where known"

# A profile of 76 requirements, 75 at level 3: the per-level table lists every one.
mkdir -p "$IT_WORK/prof"
{
	sed 's/^id: new$/id: big/' "$PROF/new.yml"
	for i in $(seq 1 63); do
		printf '  - id: extra-%02d\n    title: {vi: "Yêu cầu thêm %02d", en: "Extra %02d"}\n    from_level: 1\n    kind: manual\n' "$i" "$i" "$i"
	done
} >"$IT_WORK/prof/big.yml"
"$IT_CLI" report --register "$REG" --profile-dir "$IT_WORK/prof" --framework big --lang en \
	--from 2026-04-01 --to 2026-06-30 --archive "$ARCH" -r "127.0.0.1:$IT_REDIS_PORT" \
	-o "$OUT/big.html" || it_fail "report with 76 requirements"
python3 - "$OUT/big.html" <<'PY' || it_fail "per-level table cut"
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
sec = re.search(r'<section id="levels">(.*?)</section>', h, re.S).group(1)
tbody = re.search(r'<tbody>(.*?)</tbody>', sec, re.S).group(1)
n = tbody.count("<tr>")
if n != 75 or "Extra 63" not in tbody:
    print(f"level 3 table: {n} rows, want 75")
    sys.exit(1)
PY
it_log "PASS (outputs in $OUT)"
