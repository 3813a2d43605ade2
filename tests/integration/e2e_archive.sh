#!/usr/bin/env bash
# The event archive with the real binaries: every line an agent sends is in
# the collector's archive (zstd day files that zstdcat reads), byte for
# byte, once the collector acknowledged it – also after the collector is
# killed with SIGKILL – and minisocctl search finds lines by time, text and
# decoded field.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_archive.sh BUILD_DIR}"
command -v zstdcat >/dev/null || { it_log "SKIP: zstdcat not installed"; exit 77; }

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
ARCH=$IT_WORK/archive
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
archive:
  path: $ARCH
  sync_ms: 100
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

LOG=$IT_WORK/app.log
: >"$LOG"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" beginning "$LOG"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello at the collector" it_log_has collector "event=hello .*agent=web1"
FIRST=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | sed -n 1p | cut -d= -f2)
[[ -n $FIRST ]] || it_fail "agent did not log first_seq"

# 300 lines: ssh failures for several users, plain lines, and hostile bytes.
lines=()
for i in $(seq 1 100); do
	lines+=("$(it_syslog_now) web1 sshd[$((1000 + i))]: Failed password for user$((i % 5)) from 203.0.113.$((i % 7)) port $((40000 + i)) ssh2")
	lines+=("$(it_syslog_now) web1 app[7]: order $i stored")
	lines+=("$(it_syslog_now) web1 app[7]: tab	inside, backslash \\n not a newline, <b>$i</b>")
done
printf '%s\n' "${lines[@]}" >>"$LOG"
N=${#lines[@]}
LAST=$((FIRST + N - 1))
handled() { local s; s=$(it_redis_raw HGET minisoc:agents:seq web1); [[ -n $s && $s -ge $1 ]]; }
it_wait_for 20 "collector to handle seq $LAST" handled "$LAST"

# Acknowledged means archived: SIGKILL, no chance to finish the frame.
kill -KILL "$IT_PID_collector"
wait "$IT_PID_collector" 2>/dev/null || true
FILES=("$ARCH"/unassigned/*.zst)
((${#FILES[@]} == 1)) || it_fail "expected one day file, found ${#FILES[@]}"
it_log "archive file: ${FILES[0]} ($(stat -c %s "${FILES[0]}") bytes)"

# Byte for byte: the search's raw lines are the file's lines, in order.
"$IT_CLI" search -A "$ARCH" --json >"$IT_WORK/all.json" 2>"$IT_WORK/search.err" ||
	it_fail "search failed: $(cat "$IT_WORK/search.err")"
python3 - "$LOG" "$IT_WORK/all.json" <<'PY' || it_fail "archive differs from the log"
import json, sys
want = open(sys.argv[1], encoding="utf-8").read().splitlines()
got = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
lines = [g["line"] for g in got]
if lines != want:
    print("want", len(want), "got", len(lines))
    for a, b in zip(want, lines):
        if a != b:
            print("first difference:\n ", repr(a), "\n ", repr(b)); break
    sys.exit(1)
seqs = [g["seq"] for g in got]
if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
    sys.exit("sequence numbers out of order or repeated")
if any(g["agent"] != "web1" or g["system"] != "unassigned" for g in got):
    sys.exit("wrong agent or system")
print("archive == log:", len(lines), "lines")
PY

# The collector restarts (a new file for the same day), then stops cleanly:
# zstdcat reads the cleanly closed file whole.
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening again" it_log_has collector "event=listening"
more=()
for i in $(seq 1 20); do
	more+=("$(it_syslog_now) web1 sshd[$((2000 + i))]: Accepted publickey for deploy from 198.51.100.20 port $((50000 + i)) ssh2")
done
printf '%s\n' "${more[@]}" >>"$LOG"
LAST=$((LAST + ${#more[@]}))
it_wait_for 20 "collector to handle seq $LAST" handled "$LAST"
it_stop agent
it_stop collector
FILES=("$ARCH"/unassigned/*.zst)
((${#FILES[@]} == 2)) || it_fail "expected two day files after a restart, found ${#FILES[@]}"
SECOND=$(ls "$ARCH"/unassigned/*.1.zst)
zstdcat "$SECOND" >"$IT_WORK/second.txt" || it_fail "zstdcat cannot read the cleanly closed file"
[[ $(wc -l <"$IT_WORK/second.txt") == 20 ]] || it_fail "second file does not hold the 20 new lines"
grep -q $'\tweb1\t' "$IT_WORK/second.txt" || it_fail "record format: agent field"

# Search: totals, text, decoded fields, time range, limit, exit codes.
S=("$IT_CLI" search -A "$ARCH")
[[ $("${S[@]}" --count 2>/dev/null) == $((N + 20)) ]] || it_fail "search --count is not $((N + 20))"
[[ $("${S[@]}" --count --text 'order 42 stored' 2>/dev/null) == 1 ]] || it_fail "search --text"
"${S[@]}" --json --limit 1 --text 'Failed password for user3' >"$IT_WORK/one.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("decoded fields:", sorted(d.get("fields", {})))' "$IT_WORK/one.json"
FIELD=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d.get("fields", {}).items():
    if v == "user3": print(k); break' "$IT_WORK/one.json")
[[ -n $FIELD ]] || it_fail "no decoded field holds the user name"
[[ $("${S[@]}" --count --where "$FIELD=user3" 2>/dev/null) == 20 ]] || it_fail "search --where $FIELD=user3"
[[ $("${S[@]}" --count --where "$FIELD=USER*" --where "program=sshd" 2>/dev/null) == 100 ]] ||
	it_fail "search --where with a wildcard, any case, and two filters"
[[ $("${S[@]}" --count --where "program=sshd" 2>/dev/null) == 120 ]] || it_fail "search program=sshd"
[[ $("${S[@]}" --count --limit 7 2>/dev/null) == 7 ]] || it_fail "search --limit"
[[ $("${S[@]}" --count --from -1h --to now 2>/dev/null) == $((N + 20)) ]] || it_fail "search --from -1h"
[[ $("${S[@]}" --count --from 2000-01-01 --to 2000-01-02 2>/dev/null) == 0 ]] || it_fail "search old range"
rc=0
"${S[@]}" --text 'no such text anywhere' >/dev/null 2>&1 || rc=$?
((rc == 1)) || it_fail "search without a match should exit 1, got $rc"
rc=0
"${S[@]}" --from yesterdayish >/dev/null 2>&1 || rc=$?
((rc == 2)) || it_fail "a bad time should exit 2, got $rc"
"${S[@]}" --limit 2 --text 'backslash' | tee "$IT_WORK/plain.txt"
grep -q 'unassigned web1 .*app.log | .*backslash \\n not a newline' "$IT_WORK/plain.txt" || it_fail "plain output"

grep -q 'event=archive_stats events=20 ' "$IT_WORK/logs/collector.log" || it_fail "archive counters not logged"
it_log "PASS"
