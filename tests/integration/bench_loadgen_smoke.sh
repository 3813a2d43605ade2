#!/usr/bin/env bash
# bench/loadgen, a few seconds: two simulated agents (certificates lg1, lg2)
# send 20,000 events of the builtin mix over mutual TLS to a real collector
# (the marker rule of rules-seq) and a real Redis. Checks: the summary line
# has its exact shape, sent == acked == the collector's events_in, no line
# left undecoded, every marker's alert arrived exactly once (seqcheck.py),
# and a second run against the same Redis numbers on above what the
# collector handled (no duplicates).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: bench_loadgen_smoke.sh BUILD_DIR}"

LOADGEN=$IT_BUILD/bench/loadgen
SEQ_CHECK=$IT_ROOT/tests/integration/seqcheck.py
[[ -x $LOADGEN ]] || it_fail "$LOADGEN not built"

# The builtin mix in read ticks (--tick, default 256): a tick's lines file by
# file, as the agent sends them; --tick 1 interleaves the files line by
# line. One pool (65,536 events) of each: the same lines per file, each
# audit EXECVE record right after its SYSCALL, and runs of one file as a
# tick makes them (at most one per file and tick).
"$LOADGEN" --dump --events 65536 --mark 0 --port 1 --pki "$IT_WORK" >"$IT_WORK/ticks.tsv" ||
	it_fail "loadgen --dump failed"
"$LOADGEN" --dump --events 65536 --mark 0 --port 1 --pki "$IT_WORK" --tick 1 >"$IT_WORK/lines.tsv" ||
	it_fail "loadgen --dump --tick 1 failed"
python3 - "$IT_WORK/ticks.tsv" "$IT_WORK/lines.tsv" <<'PY' || it_fail "read-tick order of the mix"
import collections, re, sys
def load(path):
    return [l.rstrip("\n").split("\t", 1) for l in open(path, encoding="utf-8", errors="replace")]
ticks, lines = load(sys.argv[1]), load(sys.argv[2])
assert len(ticks) == len(lines) == 65536, (len(ticks), len(lines))
norm = lambda rows: collections.Counter(s for s, _ in rows)
assert norm(ticks) == norm(lines), "different lines per file"
def runs(rows):
    return 1 + sum(1 for a, b in zip(rows, rows[1:]) if a[0] != b[0])
for name, rows in (("ticks", ticks), ("lines", lines)):
    for i, (src, line) in enumerate(rows):
        if "type=EXECVE" in line:
            prev = rows[i - 1][1]
            stamp = re.search(r"audit\(([0-9.:]+)\)", line).group(1)
            assert "type=SYSCALL" in prev and stamp in prev, (name, i)
nfiles = len(norm(ticks))
assert runs(ticks) <= (65536 // 256 + 1) * nfiles, runs(ticks)
assert runs(lines) > 10 * runs(ticks), (runs(lines), runs(ticks))
print(f"runs of one file: {runs(ticks)} in ticks of 256, {runs(lines)} line by line")
PY

it_pki "$IT_WORK/pki" lg1 lg2
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
sed -i 's/log_level: debug/log_level: info/' "$IT_WORK/collector.yml"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $IT_ROOT/tests/integration/rules-seq
alerts:
  aggregate_rules: seq_every_line=0
detect:
  ssh_bruteforce:
    enabled: false
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# collector_stat NAME: the counter NAME from a fresh SIGUSR1 stats line.
collector_stat() {
	local before
	before=$(grep -c 'why=sigusr1' "$IT_WORK/logs/collector.log" || true)
	kill -USR1 "$IT_PID_collector"
	stats_grew() { (($(grep -c 'why=sigusr1' "$IT_WORK/logs/collector.log") > before)); }
	it_wait_for 10 "collector counters" stats_grew
	grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | grep -o " $1=[0-9]*" | cut -d= -f2
}

# run_loadgen RUN EVENTS: one run of 2 agents; sets MARKED and checks the summary.
run_loadgen() {
	local run=$1 n=$2 out=$IT_WORK/logs/loadgen-$1.out last re
	"$LOADGEN" --port "$CPORT" --pki "$IT_WORK/pki" --agents 2 --events "$n" --run "$run" \
		--quiet >"$out" 2>"$IT_WORK/logs/loadgen-$run.log" ||
		it_fail "loadgen run $run failed: $(cat "$IT_WORK/logs/loadgen-$run.log")"
	last=$(tail -n1 "$out")
	it_log "$last"
	re='^loadgen: mode=minisoc agents=2 sent=([0-9]+) acked=([0-9]+) seconds=[0-9]+\.[0-9]{3} rate=[0-9]+$'
	[[ $last =~ $re ]] || it_fail "unexpected last line: $last"
	((BASH_REMATCH[1] == n && BASH_REMATCH[2] == n)) || it_fail "sent/acked not $n: $last"
	MARKED=$(grep -o ' marked=[0-9]*' "$out" | cut -d= -f2)
	((MARKED > 0)) || it_fail "no marked events: $(cat "$out")"
}

N=20000
run_loadgen smoke1 "$N"
in=$(collector_stat events_in)
((in == N)) || it_fail "collector events_in=$in, loadgen sent $N"
undecoded=$(collector_stat events_undecoded)
((undecoded == 0)) || it_fail "$undecoded of the mix's lines left undecoded"
python3 "$SEQ_CHECK" "$IT_REDIS_PORT" smoke1 "$MARKED" --wait 30 ||
	it_fail "the $MARKED marked events' alerts did not all arrive exactly once"

# Again, same identities, same Redis: numbering goes on above what was handled.
N2=2000
run_loadgen smoke2 "$N2"
grep -q '^loadgen: agent=lg1 handled_before=10000 seq=10001\.\.11000 ' \
	"$IT_WORK/logs/loadgen-smoke2.out" || it_fail "rerun did not continue above the handled number"
in=$(collector_stat events_in)
dup=$(collector_stat events_dup)
((in == N + N2 && dup == 0)) || it_fail "after the rerun: events_in=$in events_dup=$dup"
python3 "$SEQ_CHECK" "$IT_REDIS_PORT" smoke2 "$MARKED" --wait 30 ||
	it_fail "rerun: the marked events' alerts did not all arrive exactly once"

it_stop collector
it_log "PASS"
