#!/usr/bin/env bash
# The compliance report (minisocctl report) on the example register with
# synthetic telemetry written into a real redis-server and an event archive
# folder of day files, judged as of 2026-11-20T12:00Z under the new
# framework. Every expected figure below is counted by hand from the
# telemetry this script writes (see the comments):
#   plan approved 53/69 = 76.81 %, 14/43/12 by level, agent coverage,
#   per-level pass rates, expired attestations failing, retention from the
#   archive (too short, a missing day, no folder), incidents against their
#   deadlines, alert statistics of the period only.
# The HTML is rendered by headless Chromium to PDF and PNG (kept in
# BUILD/test-output/e2e_report/) and the PDF's text checked with pdftotext.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_report.sh BUILD_DIR}"
command -v chromium >/dev/null || { echo "chromium not installed (deploy/install-deps.sh)"; exit 77; }
command -v pdftotext >/dev/null || { echo "pdftotext not installed (poppler-utils)"; exit 77; }
OUT=$IT_BUILD/test-output/e2e_report
rm -rf "$OUT" && mkdir -p "$OUT"
REG=$IT_ROOT/deploy/examples/register.yml
PROF=$IT_ROOT/rules/compliance
it_start_redis
ARCH=$IT_WORK/archive

python3 - "$ARCH" >"$IT_WORK/telemetry.redis" <<'PY'
import sys, os, datetime as dt
arch = sys.argv[1]
AT = int(dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc).timestamp() * 1000)
H, D = 3600000, 86400000
out = []
def agent(a, seen=AT - H, seq=100, clock=1, am="running", health=True, cats=None):
    out.append(f"HSET minisoc:agents:last_seen {a} {seen}")
    if seq:
        out.append(f"HSET minisoc:agents:seq {a} {seq}")
    if health:
        h = f"HSET minisoc:agent:{a}:health received_ms {AT - 10 * 60000} clock.synced {clock}"
        if am:
            h += f" antimalware.clamd {am}"
        out.append(h)
    for c, t in (cats or {}).items():
        out.append(f"HSET minisoc:agent:{a}:seen {c} {t}")
fresh = {"login": AT - D, "config_change": AT - D, "error": AT - D}
def days(sid, first, last, skip=()):
    d = dt.date.fromisoformat(first)
    os.makedirs(f"{arch}/{sid}", exist_ok=True)
    while d <= dt.date.fromisoformat(last):
        if d.isoformat() not in skip:
            open(f"{arch}/{sid}/{d.isoformat()}.jsonl.gz", "wb").close()
        d += dt.timedelta(days=1)
# Level 3: SYS-001..014, agents sysNNN-web1 and sysNNN-db1.
for n in range(1, 15):
    b = "sys%03d" % n
    web = dict(cats=dict(fresh))
    db = {}
    if n == 9:            # error last seen 8 days ago: event-types fails
        web["cats"]["error"] = AT - 8 * D
    if n == 10:           # categories spread over both hosts: still passes
        web["cats"] = {"login": AT - D}
        db["cats"] = {"config_change": AT - 2 * D, "error": AT - 3 * D}
    if n == 3:            # db1 silent for 30 h: agent-reporting and logs-central fail
        db["seen"] = AT - 30 * H
    if n == 5:            # web1 never delivered an event: logs-central fails
        web["seq"] = 0
    if n == 6:            # clock not synchronised
        db["clock"] = 0
    if n == 7:            # anti-malware missing
        web["am"] = "missing"
    if n == 8:            # no anti-malware reported at all
        db["am"] = None
    agent(b + "-web1", **web)
    agent(b + "-db1", **db)
    sid = "SYS-%03d" % n
    if n <= 10:
        days(sid, "2026-08-01", "2026-11-19")          # 3 months hold (needs 2026-08-20)
    elif n == 11:
        days(sid, "2026-09-01", "2026-11-19")          # too short
    elif n == 12:
        days(sid, "2026-08-01", "2026-11-19", {"2026-10-05"})   # one missing day
    # 13, 14: no archive folder
# Level 2: SYS-015..057, one agent each; the last three send nothing.
for n in range(15, 58):
    if n <= 54:
        agent("sys%03d-app1" % n, cats=dict(fresh))
    if n <= 44:
        days("SYS-%03d" % n, "2026-10-01", "2026-11-20")  # 1 month holds (needs 2026-10-20)
# Level 1: SYS-058..069; 058..065 have agents, 058..063 report.
for n in range(58, 64):
    agent("sys%03d-app1" % n, cats=dict(fresh))
# The shared network sensor, and an agent nobody registered.
out.append(f"HSET minisoc:agents:last_seen dc-sensor-01 {AT - 60000}")
out.append(f"HSET minisoc:agent:dc-sensor-01:health received_ms {AT - 5 * 60000} capture.eth0.state running")
out.append(f"HSET minisoc:agents:last_seen rogue-7 {AT - H}")
# Alerts: five in the period, one before it.
def alert(ms, rule, title, sys_id, agent_id, src):
    j = ('{"id":"a%d","rule":{"id":"%s","title":"%s"},"severity":"high","agent":{"id":"%s","host":"h"},'
         '"system":{"id":"%s","level":3},"src_ip":"%s","count":1}' % (ms, rule, title, agent_id, sys_id, src))
    out.append("XADD minisoc:alerts %d-0 alert '%s'" % (ms, j))
base = AT - 2 * D
alert(AT - 40 * D, "old", "Old alert", "SYS-001", "sys001-web1", "192.0.2.1")
for i in range(3):
    alert(base + i, "minisoc-ssh-bruteforce", "SSH brute force", "SYS-001", "sys001-web1", "203.0.113.5")
for i in range(2):
    alert(base + 10 + i, "web-sqli", "Web attack: SQL injection", "SYS-015", "sys015-app1", "198.51.100.7")
print("\n".join(out))
PY
it_redis_raw <"$IT_WORK/telemetry.redis" >/dev/null || it_fail "loading telemetry"
[[ $(it_redis_raw XLEN minisoc:alerts) == 6 ]] || it_fail "alerts not loaded"

# Incidents (deadlines of the new framework: serious 24 h notice, 72 h report; else 120 h).
CTL=("$IT_CLI" incident -r "127.0.0.1:$IT_REDIS_PORT" --profile-dir "$PROF" --who tester)
A=$("${CTL[@]}" new --title "Mã độc trên cổng thông tin" --severity critical --serious \
	--system SYS-001 --detected 2026-11-18T00:00:00Z --at 2026-11-18T00:05:00Z) || it_fail "incident A"
"${CTL[@]}" note "$A" "Đã thông báo cho cơ quan chủ quản" --status notified --at 2026-11-18T10:00:00Z >/dev/null
B=$("${CTL[@]}" new --title "Rò rỉ dữ liệu" --severity high --serious --system SYS-002 \
	--detected 2026-11-15T00:00:00Z --at 2026-11-15T01:00:00Z) || it_fail "incident B"
C=$("${CTL[@]}" new --title "Quét cổng" --severity low --system SYS-015 \
	--detected 2026-11-01T00:00:00Z --at 2026-11-01T02:00:00Z) || it_fail "incident C"
"${CTL[@]}" note "$C" "Đã gửi báo cáo" --status reported --at 2026-11-03T00:00:00Z >/dev/null

RPT=("$IT_CLI" report --register "$REG" --profile-dir "$PROF" --framework new
	--from 2026-10-21 --to 2026-11-20 --at 2026-11-20T12:00:00Z --archive "$ARCH"
	-r "127.0.0.1:$IT_REDIS_PORT")
"${RPT[@]}" --format json -o "$OUT/report.json" || it_fail "report json"
python3 - "$OUT/report.json" <<'PY' || it_fail "JSON figures differ (above)"
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
def eq(what, got, want):
    if got != want:
        bad.append(f"{what}: got {got!r}, want {want!r}")
s = d["summary"]
eq("systems", s["systems"], 69)
eq("by_level", s["by_level"], {"1": 12, "2": 43, "3": 14, "4": 0, "5": 0})
eq("plan", s["plan_approved"]["text"], "53/69 = 76.81 %")
eq("level approved", s["level_approved"]["text"], "69/69 = 100.00 %")
eq("with agent", s["coverage"]["systems_with_agent"]["text"], "65/69 = 94.20 %")
# 28 level-3 agents but SYS-003's db1, 40 at level 2, 6 at level 1.
eq("reporting", s["coverage"]["agents_reporting_24h"]["text"], "73/79 = 92.41 %")
eq("unassigned", s["coverage"]["unassigned_agents"], ["rogue-7"])
# All pass: SYS-001, 002, 010 at level 3; SYS-015..044 but SYS-020 at level 2; none at level 1.
eq("compliant", s["systems_compliant"]["text"], "32/69 = 46.38 %")
eq("incidents", {k: s["incidents"][k] for k in ("total", "serious", "overdue", "late", "reported_on_time")},
   {"total": 3, "serious": 2, "overdue": 1, "late": 0, "reported_on_time": 1})
eq("layer inspection expired", s["layers"]["inspection"]["expired"], 2)
want = {
    3: {"agent-reporting": "13/14", "logs-central": "12/14", "clock-sync": "13/14", "antimalware": "12/14",
        "mfa-admin": "13/14", "idle-accounts": "14/14", "log-retention": "10/14", "event-types": "13/14",
        "onsite-force": "14/14", "siem-edr": "14/14", "independent-inspection": "12/14",
        "national-connection": "14/14"},
    2: {"agent-reporting": "40/43", "clock-sync": "40/43", "antimalware": "40/43", "mfa-admin": "42/43",
        "idle-accounts": "43/43", "logs-central": "40/43", "log-retention": "30/43", "event-types": "40/43",
        "onsite-force": "43/43"},
    1: {"agent-reporting": "6/12", "clock-sync": "6/12", "antimalware": "6/12", "mfa-admin": "0/12",
        "idle-accounts": "0/12"},
}
for lv in d["levels"]:
    got = {k: "%d/%d" % (v["num"], v["den"]) for k, v in lv["requirements"].items()}
    eq("level %d" % lv["level"], got, want[lv["level"]])
eq("level 3 retention pct", [l for l in d["levels"] if l["level"] == 3][0]["requirements"]["log-retention"]["text"],
   "10/14 = 71.43 %")
sy = {x["id"]: x for x in d["systems"]}
chk = lambda sid, req: [c for c in sy[sid]["checks"] if c["requirement"] == req][0]
eq("SYS-004 mfa expired", (chk("SYS-004", "mfa-admin")["result"], "2026-05-31" in chk("SYS-004", "mfa-admin")["detail"]), ("fail", True))
eq("SYS-013 inspection expired", chk("SYS-013", "independent-inspection")["result"], "fail")
eq("SYS-001 retention", sy["SYS-001"]["retention"], {"oldest": "2026-08-01", "newest": "2026-11-19",
   "required": "2026-08-20", "days": 111, "missing": 0, "first_missing": None})
eq("SYS-012 gap", (sy["SYS-012"]["retention"]["missing"], sy["SYS-012"]["retention"]["first_missing"]), (1, "2026-10-05"))
eq("SYS-011 short", (chk("SYS-011", "log-retention")["result"], sy["SYS-011"]["retention"]["oldest"]), ("fail", "2026-09-01"))
eq("SYS-013 no archive", chk("SYS-013", "log-retention")["result"], "fail")
eq("SYS-001 evidence", chk("SYS-001", "agent-reporting")["evidence_time"], "2026-11-20T11:00:00.000Z")
eq("SYS-003 gaps", sy["SYS-003"]["gaps"], ["agent-reporting", "logs-central"])
m = d["monitoring"]
eq("alerts", m["alerts"], 5)
eq("by type", [(x["name"], x["count"]) for x in m["by_type"]], [("SSH brute force", 3), ("Web attack: SQL injection", 2)])
eq("by system", [(x["name"], x["count"]) for x in m["by_system"]], [("SYS-001", 3), ("SYS-015", 2)])
eq("by source", m["by_source"][0], {"name": "203.0.113.5", "count": 3})
inc = {i["title"]: i for i in d["incidents"]}
eq("B overdue", (inc["Rò rỉ dữ liệu"]["overdue"], inc["Rò rỉ dữ liệu"]["overdue_notice"]), (True, True))
eq("A in time", (inc["Mã độc trên cổng thông tin"]["overdue"], inc["Mã độc trên cổng thông tin"]["deadline_report"]),
   (False, "2026-11-21T00:00:00.000Z"))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
it_log "JSON figures as counted by hand"

# The old framework's profile judges the same data with its own thresholds.
"${RPT[@]}" --framework old --format json -o "$OUT/report-old.json" || it_fail "report old"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
l3=[l for l in d["levels"] if l["level"]==3][0]["requirements"]
assert d["scope"]["framework"]=="old", d["scope"]
assert l3["log-retention"]["text"]=="10/14 = 71.43 %", l3["log-retention"]
assert "mfa-admin" not in l3, l3
assert [l for l in d["levels"] if l["level"]==1][0]["requirements"]=={}, "old framework: nothing at level 1"
' "$OUT/report-old.json" || it_fail "old framework report"

# CSV: the annex, 69 rows.
"${RPT[@]}" --format csv -o "$OUT/annex.csv" || it_fail "report csv"
python3 -c '
import csv,sys; rows=list(csv.reader(open(sys.argv[1],encoding="utf-8-sig")))
assert rows[0][:5]==["Mã","Tên hệ thống","Chủ quản","Đơn vị vận hành","Cấp độ"], rows[0]
assert len(rows)==70, len(rows)
assert sum(1 for r in rows[1:] if r[8]=="Có")==53
assert rows[1][1]=="Cổng thông tin điện tử tỉnh" and rows[1][4]=="3", rows[1]
' "$OUT/annex.csv" || it_fail "CSV annex"

# HTML, Vietnamese: headings and figures, then a real browser renders it.
"${RPT[@]}" -o "$OUT/report.html" || it_fail "report html"
H=$(cat "$OUT/report.html")
for s in "Báo cáo tình hình bảo đảm an toàn hệ thống thông tin theo cấp độ" "1. Phạm vi báo cáo" \
	"2. Tổng hợp toàn tỉnh" "3. Tỷ lệ đáp ứng yêu cầu theo cấp độ" "4. Chi tiết từng hệ thống thông tin" \
	"5. Sự cố và thời hạn báo cáo" "6. Thống kê giám sát" "7. Phụ lục: danh mục hệ thống thông tin" \
	"cấp độ 3: 14, cấp độ 2: 43, cấp độ 1: 12" "53/69 = 76.81 %" "10/14 = 71.43 %" \
	"Cổng thông tin điện tử tỉnh" "hết hiệu lực" "@media print" "<svg class=\"chart\"" " (UTC)</p>"; do
	grep -qF -- "$s" <<<"$H" || it_fail "HTML lacks: $s"
done
grep -qE '<script|src="http|href="http' <<<"$H" && it_fail "HTML is not self-contained"
CHR=(chromium --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions
	--user-data-dir="$IT_WORK/chromium")
timeout 90 "${CHR[@]}" --no-pdf-header-footer --print-to-pdf="$OUT/report.pdf" "file://$OUT/report.html" \
	>"$IT_WORK/logs/chromium.log" 2>&1 || it_fail "chromium --print-to-pdf failed"
timeout 90 "${CHR[@]}" --screenshot="$OUT/report.png" --window-size=1200,1600 "file://$OUT/report.html" \
	>>"$IT_WORK/logs/chromium.log" 2>&1 || it_fail "chromium --screenshot failed"
[[ -s $OUT/report.pdf && -s $OUT/report.png ]] || it_fail "no PDF or PNG"
pdftotext -layout "$OUT/report.pdf" "$OUT/report.txt"
PAGES=$(pdfinfo "$OUT/report.pdf" 2>/dev/null | awk '/^Pages:/{print $2}')
it_log "PDF: ${PAGES:-?} pages, $(stat -c %s "$OUT/report.pdf") bytes"
T=$(tr -s ' \n' ' ' <"$OUT/report.txt")
for s in "Tổng hợp toàn tỉnh" "53/69 = 76.81 %" "Phương án bảo đảm ATTT theo cấp độ được phê duyệt" \
	"Thống kê giám sát" "Phụ lục"; do
	grep -qF -- "$s" <<<"$T" || it_fail "rendered PDF lacks: $s"
done

# English.
"${RPT[@]}" --lang en -o "$OUT/report-en.html" || it_fail "report en"
for s in "2. Province summary" "Protection plan approved" "53/69 = 76.81 %" "lang=\"en\""; do
	grep -qF -- "$s" "$OUT/report-en.html" || it_fail "English HTML lacks: $s"
done

# Errors: a broken register is refused with file:line, exit 1.
printf 'systems:\n  - id: X\n    level: 0\n' >"$IT_WORK/bad.yml"
rc=0
"$IT_CLI" report --register "$IT_WORK/bad.yml" --profile-dir "$PROF" 2>"$IT_WORK/err" || rc=$?
((rc == 1)) || it_fail "bad register: exit $rc"
grep -q "^$IT_WORK/bad.yml:3: system X: \"level\" must be 1 to 5" "$IT_WORK/err" || it_fail "$(cat "$IT_WORK/err")"
it_log "PASS (outputs in $OUT)"
