#!/usr/bin/env bash
# minisocctl report on a register written to break it (strings meant as
# spreadsheet formulas, markup, quotes, line breaks, control bytes) and on
# alerts with long Vietnamese rule titles, in every format it offers: each
# file must parse as what it says it is and carry the strings as data.
#   CSV: RFC 4180 with one row per system, and no cell a spreadsheet takes
#        for a formula (=, +, -, @, tab, CR first: prefixed with ').
#   JSON: valid, the strings unchanged.
#   HTML: valid UTF-8 (a title cut for the statistics is cut between
#        characters), tags balanced, no markup of the register's.
# The Vietnamese report says in Vietnamese what the register holds as enum
# names (system type, a layer's status); the exit codes and --help are the
# documented ones (docs/compliance.md), and the default archive folder is
# where the collector's archive is documented to be (docs/archive.md).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_report_hostile.sh BUILD_DIR}"
PROF=$IT_ROOT/rules/compliance
REG=$IT_WORK/register.yml
it_start_redis

cat >"$REG" <<'EOF'
province: "<script>alert(1)</script> Tỉnh Phú Hải"
organisation: "=HYPERLINK(\"http://evil.example/\",\"Bấm\")"
systems:
  - id: SYS-A
    name: "=cmd|' /C calc'!A0"
    type: citizen-facing
    owner: "+SUM(1+1)"
    operator: "-2+3"
    framework: new
    level: 3
    dossier: approved
    decision: {number: "@SUM(A1)", date: 2025-01-02}
    plan: {approved: true, implementation: full}
    assessment: {last: 2026-01-01, assessor: "\tTAB=1+1"}
    contact: "a\u0001b"
    layers:
      onsite: {status: partial, evidence: "QĐ 1", valid_until: 2027-01-01}
    attestations:
      mfa-admn: {ref: "BB 1 (a typo of mfa-admin)", valid_until: 2027-01-01}
      idle-accounts: {ref: "BB 2", valid_until: 2027-01-01}
    assets:
      - {host: "</td><img src=x onerror=alert(1)>", agent: a1}
  - id: SYS-B
    name: "dòng 1\ndòng 2 \"trích\", phẩy; \r=1+1"
    type: industrial-control
    owner: "Sở <marquee>Công</marquee> Thương"
    operator: "\r=2+2"
    framework: new
    level: 1
    dossier: drafting
EOF

# Two alerts of the period whose titles are longer than the statistics keep.
NOW=$(($(date +%s) * 1000))
TITLE=$(python3 -c "print('Phát hiện tấn công dò mật khẩu ' * 8)")
for i in 1 2; do
	it_redis_raw XADD minisoc:alerts "$((NOW - 1000 + i))-0" alert \
		"{\"rule\":{\"title\":\"$TITLE\"},\"system\":{\"id\":\"SYS-A\"},\"src_ip\":\"1.2.3.$i\"}" >/dev/null
done

RPT=("$IT_CLI" report --register "$REG" --profile-dir "$PROF" --archive "$IT_WORK/archive"
	-r "127.0.0.1:$IT_REDIS_PORT")
for lang in vi en; do
	for f in csv json html; do
		"${RPT[@]}" --lang $lang --format $f -o "$IT_WORK/r.$lang.$f" 2>"$IT_WORK/r.$lang.$f.err" ||
			it_fail "report --lang $lang --format $f: $(cat "$IT_WORK/r.$lang.$f.err")"
		# An attestation of a requirement the framework does not have attests nothing: said.
		grep -q "system SYS-A attests 'mfa-admn', which is no manual requirement of framework 'new'" \
			"$IT_WORK/r.$lang.$f.err" || it_fail "no warning of the attestation typo ($lang $f)"
		! grep -q "idle-accounts" "$IT_WORK/r.$lang.$f.err" || it_fail "a valid attestation warned of"
	done
done

python3 - "$IT_WORK" "$REG" <<'PY' || it_fail "the reports are not what they say they are (above)"
import csv, io, json, sys
from html.parser import HTMLParser
work, reg = sys.argv[1], sys.argv[2]
bad = []
FORMULA = ("=", "+", "-", "@", "\t", "\r")
for lang in ("vi", "en"):
    raw = open(f"{work}/r.{lang}.csv", "rb").read()
    if not raw.startswith(b"\xef\xbb\xbf"):
        bad.append(f"{lang} csv: no BOM")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    # The 13 annex columns, then one verdict per requirement of the profile.
    nreq = len(json.load(open(f"{work}/r.{lang}.json", encoding="utf-8"))["requirements"])
    if len(rows) != 3 or any(len(r) != 13 + nreq for r in rows):
        bad.append(f"{lang} csv: {len(rows)} rows of {[len(r) for r in rows]} cells, want 3 of {13 + nreq}")
    for r in rows[1:]:
        for c in r:
            if c.startswith(FORMULA):
                bad.append(f"{lang} csv: cell {c!r} is a formula in a spreadsheet")
    if len(rows) > 1 and rows[1][1] != "'=cmd|' /C calc'!A0":
        bad.append(f"{lang} csv: name cell {rows[1][1]!r}, want the text with a ' first")
    if len(rows) > 2 and "dòng 1\ndòng 2 \"trích\", phẩy;" not in rows[2][1]:
        bad.append(f"{lang} csv: multi-line name cell {rows[2][1]!r}")

    d = json.load(open(f"{work}/r.{lang}.json", encoding="utf-8"))
    names = [s["name"] for s in d["systems"]]
    if names[0] != "=cmd|' /C calc'!A0" or not names[1].startswith("dòng 1\ndòng 2"):
        bad.append(f"{lang} json: names changed: {names!r}")
    if "\ufffd" in json.dumps(d, ensure_ascii=False):
        bad.append(f"{lang} json: a replacement character (a string cut inside a character)")
    if d["monitoring"]["alerts"] != 2:
        bad.append(f"{lang} json: {d['monitoring']['alerts']} alerts, want 2")

    raw = open(f"{work}/r.{lang}.html", "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad.append(f"{lang} html: not UTF-8: {e}")
        text = raw.decode("utf-8", "replace")
    VOID = {"meta", "br", "rect", "img"}
    class P(HTMLParser):
        def __init__(s):
            super().__init__()
            s.stack, s.err, s.tags = [], [], set()
        def handle_starttag(s, t, a):
            s.tags.add(t)
            if t not in VOID:
                s.stack.append(t)
        def handle_endtag(s, t):
            if t in VOID:
                return
            if not s.stack or s.stack[-1] != t:
                s.err.append((t, s.getpos()))
            else:
                s.stack.pop()
    p = P()
    p.feed(text)
    p.close()
    if p.err or p.stack:
        bad.append(f"{lang} html: tags not balanced: {p.err[:3]} open {p.stack[:3]}")
    tags = sorted({"script", "img", "marquee"} & p.tags)
    if tags:
        bad.append(f"{lang} html: markup of the register became tags: {tags}")
    for s in ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;/td&gt;&lt;img src=x onerror=alert(1)&gt;"):
        if s not in text:
            bad.append(f"{lang} html: {s} not shown as text")

vi = open(f"{work}/r.vi.html", encoding="utf-8", errors="replace").read()
en = open(f"{work}/r.en.html", encoding="utf-8", errors="replace").read()
# What the register holds as enum names is said in the report's language.
for s in ("citizen-facing", "industrial-control", "lớp 1: partial", "lớp 1: missing"):
    if s in vi:
        bad.append(f"vi html: {s!r} is English in the Vietnamese report")
for s in ("Phục vụ người dân, doanh nghiệp", "Điều khiển công nghiệp", "lớp 1: một phần"):
    if s not in vi:
        bad.append(f"vi html: {s!r} missing")
# The attestation table names each requirement, and marks one the framework lacks.
for s in ('mfa-admn – <span class="fail">không có trong khung: không xác nhận gì',
          "idle-accounts – Vô hiệu hóa tài khoản không sử dụng quá 45 ngày"):
    if s not in vi:
        bad.append(f"vi html: {s!r} missing")
if 'mfa-admn – <span class="fail">not in the framework: attests nothing' not in en:
    bad.append("en html: the attestation typo not marked")
for s in ("Serving citizens and businesses", "Industrial control", "layer 1: partial"):
    if s not in en:
        bad.append(f"en html: {s!r} missing")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

# Exit codes and help as documented: 0 written, 1 usage / register / profile,
# 2 Redis or output. --help on stdout with 0.
code() { set +e; "$@" >/dev/null 2>&1; echo $?; set -e; }
[[ $(code "$IT_CLI" report --help) == 0 ]] || it_fail "--help does not exit 0"
"$IT_CLI" report --help | it_has '^usage: minisocctl report' || it_fail "--help not on stdout"
[[ $(code "$IT_CLI" report --no-such-option) == 1 ]] || it_fail "a bad option does not exit 1"
[[ $(code "$IT_CLI" report) == 1 ]] || it_fail "no --register does not exit 1"
printf 'systems:\n  - id: X\n    level: 9\n' >"$IT_WORK/bad.yml"
[[ $(code "${RPT[@]/$REG/$IT_WORK/bad.yml}") == 1 ]] || it_fail "a broken register does not exit 1"
msg=$("${RPT[@]/$REG/$IT_WORK/bad.yml}" 2>&1) && it_fail "a broken register was taken"
grep -q "bad.yml:3: system X: \"level\" must be 1 to 5" <<<"$msg" ||
	it_fail "a broken register's problem is not file:line: reason: $msg"
[[ $(code "${RPT[@]}" --profile-dir "$IT_WORK") == 1 ]] || it_fail "a missing profile does not exit 1"
[[ $(code "$IT_CLI" report --register "$REG" --profile-dir "$PROF" -r 127.0.0.1:1) == 2 ]] ||
	it_fail "no Redis does not exit 2"
[[ $(code "${RPT[@]}" -o "$IT_WORK/no/such/dir/r.html") == 2 ]] || it_fail "an unwritable output does not exit 2"

# The archive the report reads by default is the collector's (docs/archive.md).
want=$(sed -n 's/^ *path: \(\/[^ ]*\/archive\).*/\1/p' "$IT_ROOT/docs/archive.md" | sed -n 1p)
[[ -n $want ]] || it_fail "docs/archive.md names no archive path"
"$IT_CLI" report --help | tr -s ' \n' ' ' | it_has -E -- "\(default $want[,)]" ||
	it_fail "report's default --archive is not the collector's archive $want"
it_log "PASS: every format parses, strings stay data, Vietnamese labels, exit codes"
