#!/usr/bin/env bash
# The retention check of a PAST period on the archive as the collector's
# own retention leaves it. The collector keeps a level-3 system's day files
# for 3 calendar months plus archive.keep_margin_days (31) before today, so
# a report for a period that ended 60 days ago (a quarterly report run in
# the second month after the quarter) finds none of the 3 months before its
# end T: they may have been there at T and been deleted since. That is
# "unknown" (không xác định), not a failure of every system. Dates are
# relative to today, so the test holds on any day:
#  SYS-A: files from today − (3 months + 31 days) to today, no gap (what the
#    collector keeps): past period unknown, current period pass;
#  SYS-B: files only from today − 3 months + 5 days (short even for what is
#    kept now): fail in both;
#  SYS-C: SYS-A's files with one day missing after its oldest: a gap the
#    archive's retention does not make, within the past period's 3 months:
#    fail; before the current period's 3 months: not judged, pass.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_report_retention_past.sh BUILD_DIR}"
it_start_redis

REG=$IT_WORK/register.yml
python3 - "$REG" "$IT_ROOT/tests/integration" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from regfix import HEAD, system
out = HEAD + 'systems:\n'
for sid in ("SYS-A", "SYS-B", "SYS-C"):
    out += system(sid, "Hệ thống " + sid, [("h-" + sid, False)], plan=False)
open(sys.argv[1], "w").write(out)
PY
ARCH=$IT_WORK/archive
read -r FROM TO < <(python3 - "$ARCH" <<'PY'
import calendar, datetime as dt, os, sys
arch = sys.argv[1]
def add_months(d, n):
    i = d.year * 12 + d.month - 1 + n
    y, m = divmod(i, 12)
    return dt.date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))
today = dt.datetime.now(dt.timezone.utc).date()
kept = add_months(today, -3) - dt.timedelta(days=31)   # the collector's horizon today
def files(sid, start, skip=None):
    os.makedirs(f"{arch}/{sid}", exist_ok=True)
    d = start
    while d <= today:
        if d != skip:
            open(f"{arch}/{sid}/{d}.0.zst", "w").close()
        d += dt.timedelta(days=1)
files("SYS-A", kept)
files("SYS-B", add_months(today, -3) + dt.timedelta(days=5))
files("SYS-C", kept, skip=kept + dt.timedelta(days=2))
to = today - dt.timedelta(days=60)
print(to - dt.timedelta(days=89), to)
PY
)
it_log "past period $FROM – $TO"
RPT=("$IT_CLI" report --register "$REG" --profile-dir "$IT_ROOT/rules/compliance" --framework new
	--archive "$ARCH" -r "127.0.0.1:$IT_REDIS_PORT" --lang en --format json)
"${RPT[@]}" --from "$FROM" --to "$TO" -o "$IT_WORK/past.json" 2>"$IT_WORK/err" || it_fail "report past: $(cat "$IT_WORK/err")"
"${RPT[@]}" -o "$IT_WORK/now.json" 2>"$IT_WORK/err" || it_fail "report now: $(cat "$IT_WORK/err")"
python3 - "$IT_WORK/past.json" "$IT_WORK/now.json" <<'PY' || it_fail "retention judged wrongly (above)"
import json, sys
bad = []
for path, want in ((sys.argv[1], {"SYS-A": "unknown", "SYS-B": "fail", "SYS-C": "fail"}),
                   (sys.argv[2], {"SYS-A": "pass", "SYS-B": "fail", "SYS-C": "pass"})):
    d = json.load(open(path))
    for s in d["systems"]:
        c = [c for c in s["checks"] if c["requirement"] == "log-retention"][0]
        print(path.rsplit("/", 1)[1], s["id"], c["result"], c.get("detail"))
        if c["result"] != want[s["id"]]:
            bad.append(f'{path.rsplit("/", 1)[1]} {s["id"]}: {c["result"]}, want {want[s["id"]]}')
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
it_log "PASS"
