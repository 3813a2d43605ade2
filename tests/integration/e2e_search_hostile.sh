#!/usr/bin/env bash
# minisocctl search on archives made here with zstd (the archive's format,
# docs/archive.md), no collector needed:
#  A) hostile event content in the text output: a line an agent sent with a
#     newline, an escape sequence or a NUL in it stays one output line per
#     event, with no control byte reaching the terminal and nothing after a
#     NUL hidden (--json keeps the exact bytes);
#  B) more system folders than the search held at once (128): every one is
#     searched, not an arbitrary 128 of them;
#  C) a relative time too far back to count in ms is a bad time (exit 2),
#     not a signed overflow searching some other range;
#  D) --json prints every event it counts: a web log line whose URI is 64 KB
#     of control bytes (each \u00XX in JSON, and the URI is in three
#     decoded fields) was counted as matched and silently left out;
#  E) a day file that cannot be read (not zstd: damaged) makes the search
#     exit 2 ("the archive cannot be read"), not 1 ("nothing matched") or
#     0, whatever else was found.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_search_hostile.sh BUILD_DIR}"
command -v zstd >/dev/null || { it_log "SKIP: zstd not installed"; exit 77; }
# UBSan reports go to stderr and the run goes on: make them fail it.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

NOW=$(date +%s%3N)
DAY=$(date -u +%F)

# A) one system, three events: a forged second line, escapes, a NUL.
A=$IT_WORK/a
mkdir -p "$A/SYS-1"
python3 - "$NOW" <<'PY' | zstd -q >"$A/SYS-1/$DAY.0.zst"
import sys
now = sys.argv[1].encode()
def rec(seq, line):
    # In the archive a newline and a backslash of the line are escaped.
    line = line.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
    return now + b"\tweb1\t" + str(seq).encode() + b"\t/var/log/auth.log\t" + line + b"\n"
out = rec(1, b"first\n2026-11-25T08:00:00.000Z SYS-1 web1 /var/log/auth.log | FORGED Accepted password for root")
out += rec(2, b"esc \x1b[2J\x1b]0;title\x07 \r\x7f \xc2\x9b31m end")
out += rec(3, b"shown\x00HIDDEN after a nul")
sys.stdout.buffer.write(out)
PY
"$IT_CLI" search -A "$A" >"$IT_WORK/a.out" 2>"$IT_WORK/a.err" || it_fail "search A: $(cat "$IT_WORK/a.err")"
python3 - "$IT_WORK/a.out" <<'PY' || it_fail "A) hostile bytes reach the search's text output"
import sys
data = open(sys.argv[1], "rb").read()
lines = data.split(b"\n")[:-1]
print("output:", lines)
if len(lines) != 3:
    sys.exit("3 events, %d output lines" % len(lines))
if any(b < 0x20 and b != 0x09 or b == 0x7f for b in data.replace(b"\n", b"")):
    sys.exit("a control byte in the output")
if b"\xc2\x9b" in data:
    sys.exit("a C1 control (CSI) in the output")
if b"HIDDEN after a nul" not in lines[2]:
    sys.exit("the text after a NUL is not shown")
if not lines[0].endswith(b"| first\\x0a2026-11-25T08:00:00.000Z SYS-1 web1 /var/log/auth.log | FORGED Accepted password for root"):
    sys.exit("the newline is not shown as \\x0a")
PY
"$IT_CLI" search -A "$A" --json >"$IT_WORK/a.json" 2>/dev/null || it_fail "search A --json"
python3 - "$IT_WORK/a.json" <<'PY' || it_fail "A) --json does not keep the exact line"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(got) == 3, got
assert got[0]["line"].startswith("first\n2026-11-25"), got[0]
assert got[2]["line"] == "shown\x00HIDDEN after a nul", got[2]
PY
it_log "A) hostile lines: one output line each, no control bytes"

# B) 140 systems, one event each.
B=$IT_WORK/b
for i in $(seq -w 1 140); do
	mkdir -p "$B/S$i"
	printf '%s\tagent\t1\t/x\tevent of S%s\n' "$NOW" "$i" | zstd -q >"$B/S$i/$DAY.0.zst"
done
n=$("$IT_CLI" search -A "$B" --count 2>"$IT_WORK/b.err") || it_fail "search B: $(cat "$IT_WORK/b.err")"
[[ $n == 140 ]] || it_fail "B) 140 systems with one event each, search counted $n: $(cat "$IT_WORK/b.err")"
it_log "B) 140 system folders: every one searched"

# C) relative times that do not fit in ms since 1970.
for t in -99999999999999999d -9999999999999d -99999999999999999999s; do
	rc=0
	"$IT_CLI" search -A "$B" --from "$t" --count >/dev/null 2>"$IT_WORK/c.err" || rc=$?
	[[ $rc == 2 ]] && grep -q "bad time" "$IT_WORK/c.err" ||
		it_fail "C) --from $t: exit $rc, want 2 (bad time): $(cat "$IT_WORK/c.err")"
done
# A long but countable range still works: everything since 1970.
n=$("$IT_CLI" search -A "$B" --from -20000d --count 2>/dev/null) || true
[[ $n == 140 ]] || it_fail "C) --from -20000d counted $n"
it_log "C) relative times too far back: bad time"

# D) the largest line an agent can send (64 KiB), made of bytes JSON
#    escapes six-fold, in a field the web decoder copies three times.
D=$IT_WORK/d
mkdir -p "$D/WEB"
python3 - "$NOW" <<'PY' | zstd -q >"$D/WEB/$DAY.0.zst"
import sys
now = sys.argv[1].encode()
out = b""
for i, x in enumerate([b"\x01" * 65000, b"ok"]):
    line = b'203.0.113.9 - - [29/Nov/2026:10:00:00 +0000] "GET /' + x + b' HTTP/1.1" 200 1 "-" "ua"'
    out += now + b"\tweb1\t" + str(i + 1).encode() + b"\t/var/log/nginx/access.log\t" + line + b"\n"
sys.stdout.buffer.write(out)
PY
"$IT_CLI" search -A "$D" --json >"$IT_WORK/d.json" 2>"$IT_WORK/d.err" || it_fail "search D: $(cat "$IT_WORK/d.err")"
python3 - "$IT_WORK/d.json" <<'PY' || it_fail "D) an event counted but not printed by --json: $(cat "$IT_WORK/d.err")"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
print("printed seqs:", [g["seq"] for g in got])
assert [g["seq"] for g in got] == [1, 2], "want both events"
assert got[0]["line"].count("\x01") == 65000
PY
it_log "D) --json prints the largest event"

# E) a damaged day file beside a good one.
E=$IT_WORK/e
mkdir -p "$E/SYS-1"
printf '%s\tweb1\t1\t/x\tgood event\n' "$NOW" | zstd -q >"$E/SYS-1/$DAY.0.zst"
printf 'bytes that are no zstd frame' >"$E/SYS-1/$DAY.1.zst"
for q in "good event" "absent text"; do
	rc=0
	"$IT_CLI" search -A "$E" --text "$q" --count >/dev/null 2>"$IT_WORK/e.err" || rc=$?
	[[ $rc == 2 ]] && grep -q "$DAY.1.zst" "$IT_WORK/e.err" ||
		it_fail "E) --text '$q' with a damaged file: exit $rc, want 2: $(cat "$IT_WORK/e.err")"
done
it_log "E) a damaged file: exit 2"

# F) --system for a system with no folder: nothing archived for it, said
# (exit 1, not an error without a reason); an archive folder that is not
# there is an error (2) with the reason.
rc=0
"$IT_CLI" search -A "$E" --system SYS-NONE --count >"$IT_WORK/f.out" 2>"$IT_WORK/f.err" || rc=$?
[[ $rc == 1 && $(cat "$IT_WORK/f.out") == 0 ]] && grep -q "no events archived for system SYS-NONE" "$IT_WORK/f.err" ||
	it_fail "F) --system with no folder: exit $rc: $(cat "$IT_WORK/f.err")"
rc=0
"$IT_CLI" search -A "$IT_WORK/no-such-archive" --system SYS-1 --count >/dev/null 2>"$IT_WORK/f.err" || rc=$?
[[ $rc == 2 ]] && grep -q "No such file" "$IT_WORK/f.err" ||
	it_fail "F) a missing archive folder: exit $rc: $(cat "$IT_WORK/f.err")"
it_log "F) --system with no folder: nothing archived, said; a missing archive: exit 2"
it_log "PASS"
