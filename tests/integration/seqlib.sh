# seqlib.sh – what the fault tests share (source it after lib.sh and
# it_init): a collector whose only rule alerts on every line carrying the
# marker MSEQ (rules-seq/), one agent following one file, the paced writer
# (bench/seqwriter, from the build folder) and the checker (seqcheck.py),
# which reads every alert back from Redis and wants each number of a run
# exactly once.

SEQ_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SEQ_CHECK=$SEQ_DIR/seqcheck.py
SEQ_WRITER=$IT_BUILD/bench/seqwriter
[[ -x $SEQ_WRITER ]] || it_fail "$SEQ_WRITER not built"

# seq_setup LOGFILE [AGENT_YAML_EXTRA]: PKI, Redis, configs. The collector is
# not started (seq_start_collector); the agent follows LOGFILE from its start.
seq_setup() {
	SEQ_LOG=$1
	it_pki "$IT_WORK/pki" web1
	it_start_redis
	SEQ_CPORT=$(it_free_port)
	it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$SEQ_CPORT"
	# One alert per line is logged at info; debug adds nothing we need.
	sed -i 's/log_level: debug/log_level: info/' "$IT_WORK/collector.yml"
	cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $SEQ_DIR/rules-seq
# Every marker line must be its own alert: never folded.
alerts:
  aggregate_rules: seq_every_line=0
detect:
  ssh_bruteforce:
    enabled: false
YML
	mkdir -p "$(dirname -- "$SEQ_LOG")"
	: >"$SEQ_LOG"
	it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$SEQ_CPORT" "$IT_WORK/state" \
		beginning "$SEQ_LOG"
	sed -i 's/log_level: debug/log_level: info/' "$IT_WORK/agent.yml"
	[[ -z ${2:-} ]] || printf '%s\n' "$2" >>"$IT_WORK/agent.yml"
	SEQ_NSTART_collector=0
	SEQ_NSTART_agent=0
}

# Forgets a reaped pid, so the cleanup never signals a number reused since.
seq_forget_pid() {
	local keep=() p
	for p in "${IT_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	IT_PIDS=("${keep[@]}")
}

# seq_start NAME ARGS...: starts the daemon; earlier logs are kept as NAME-<k>.log.
seq_start() {
	local name=$1 var="SEQ_NSTART_$1"
	shift
	if [[ -f $IT_WORK/logs/$name.log ]]; then
		mv "$IT_WORK/logs/$name.log" "$IT_WORK/logs/$name-${!var}.log"
	fi
	printf -v "$var" '%d' $((${!var} + 1))
	it_start "$name" "$@"
}
seq_start_collector() {
	seq_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
	it_wait_for 20 "collector listening" it_log_has collector "event=listening"
}
seq_start_agent() { seq_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"; }

# seq_relay_port: the collector reaches Redis through tests/integration/relay.py
# on port RPORT (set here) instead of Redis' own port.
seq_relay_port() {
	RPORT=$(it_free_port)
	sed -i "s/^  port: $IT_REDIS_PORT\$/  port: $RPORT/" "$IT_WORK/collector.yml"
	grep -q "port: $RPORT" "$IT_WORK/collector.yml" || it_fail "redis port not set"
}
# seq_relay_start [PASS_FIRST]: starts the relay (its log logs/relay.log).
seq_relay_start() {
	it_start relay python3 "$IT_ROOT/tests/integration/relay.py" "$RPORT" "$IT_REDIS_PORT" "$@"
	it_wait_for 10 "relay listening" it_log_has relay "relay listening"
}
# seq_start_behind_relay: relay, collector (connected to Redis through it) and agent (hello done).
seq_start_behind_relay() {
	seq_relay_start
	seq_start_collector
	it_wait_for 10 "collector connected to Redis" it_log_has collector "event=redis_connected"
	seq_start_agent
	it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
}

# seq_kill9 NAME: SIGKILL, reaped; its status must be the signal's (137).
seq_kill9() {
	local var="IT_PID_$1" rc=0
	local pid=${!var}
	kill -KILL "$pid"
	# (the braces keep bash's "Killed" job notice out of the output)
	{ wait "$pid"; } 2>/dev/null || rc=$?
	seq_forget_pid "$pid"
	((rc == 137)) || it_fail "$1 had exited (status $rc) before it was killed"
}

# seq_writer ARGS...: starts bench/seqwriter in the background (SEQ_WRITER_PID),
# writing its progress to $IT_WORK/progress; its summary goes to logs/writer.log.
seq_writer() {
	rm -f "$IT_WORK/progress"
	"$SEQ_WRITER" -o "$SEQ_LOG" -p "$IT_WORK/progress" "$@" >>"$IT_WORK/logs/writer.log" 2>&1 &
	SEQ_WRITER_PID=$!
	IT_PIDS+=("$SEQ_WRITER_PID")
}
seq_written() { cat "$IT_WORK/progress" 2>/dev/null || echo 0; }
seq_written_ge() { (($(seq_written) >= $1)); }
seq_writer_alive() { kill -0 "$SEQ_WRITER_PID" 2>/dev/null; }
# seq_writer_wait: the writer's exit status must be 0.
seq_writer_wait() {
	local rc=0
	wait "$SEQ_WRITER_PID" || rc=$?
	seq_forget_pid "$SEQ_WRITER_PID"
	((rc == 0)) || it_fail "seqwriter failed (status $rc)"
	it_log "writer: $(tail -n1 "$IT_WORK/logs/writer.log")"
}

seq_alerts() { it_redis_raw XLEN minisoc:alerts; }
seq_alerts_grew() { (($(seq_alerts) > $1)); }

seq_counters() {
	local n
	n=$(grep -c 'why=sigusr1' "$IT_WORK/logs/agent.log" 2>/dev/null) || true
	echo "${n:-0}"
}
# seq_agent_stats: asks the agent for its counters (SIGUSR1) and prints the
# fresh event=stats line. The one place the tests read the agent's counters.
seq_agent_stats() {
	local before
	before=$(seq_counters)
	kill -USR1 "$IT_PID_agent"
	seq_more_counters() { (($(seq_counters) > before)); }
	it_wait_for 10 "agent counters" seq_more_counters
	grep 'why=sigusr1' "$IT_WORK/logs/agent.log" | tail -n1
}
# The agent holds nothing unacknowledged: its SIGUSR1 counters say queued=0
# and, for an agent with a disk spool, spool_backlog=0 (records on disk not
# loaded into memory yet).
seq_agent_drained() {
	local stats
	stats=$(seq_agent_stats)
	grep -q ' queued=0 ' <<<"$stats" || return 1
	! grep -q ' spool_backlog=' <<<"$stats" || grep -q ' spool_backlog=0 ' <<<"$stats"
}

# seq_wait_last RUN N TIMEOUT: waits until the last line (N-1) of RUN arrived
# and the agent holds nothing unacknowledged. It reads files in order, so
# nothing more can come after that (the writer is done).
seq_wait_last() {
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$1" --seen $(($2 - 1)) --all --wait "$3" >/dev/null || {
		python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$1" "$2" || true
		it_fail "run $1: the last line never arrived (${3}s)"
	}
	it_wait_for 30 "the agent to hold nothing unacknowledged" seq_agent_drained
}

# seq_verify RUN N TIMEOUT [seqcheck options]: once everything has come
# (seq_wait_last), checks the exact set 0..N-1 of RUN. Prints the
# checker's summary (also in SEQ_RESULT); fails the test with the missing
# and doubled numbers.
seq_verify() {
	local run=$1 n=$2 timeout=$3
	shift 3
	seq_wait_last "$run" "$n" "$timeout"
	SEQ_RESULT=$(python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$run" "$n" "$@") || {
		echo "$SEQ_RESULT"
		it_fail "run $run: lines missing or doubled"
	}
	echo "$SEQ_RESULT"
}

# seq_lost_one_run RUN N MAX WHAT: after a bad block, what came of RUN's
# 0..N-1: between 1 and MAX numbers missing, all in one run (the records of
# one block), none doubled. WHAT names them in messages ("lines", "alerts").
seq_lost_one_run() {
	local run=$1 n=$2 max=$3 what=$4 lost lo hi
	python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$run" "$n" --missing-out "$IT_WORK/missing" \
		>"$IT_WORK/check" || true
	cat "$IT_WORK/check"
	lost=$(wc -l <"$IT_WORK/missing")
	((lost >= 1 && lost <= max)) ||
		it_fail "$lost $what missing, expected those of one 4 KiB block (1..$max)"
	lo=$(head -n1 "$IT_WORK/missing")
	hi=$(tail -n1 "$IT_WORK/missing")
	((hi - lo + 1 == lost)) ||
		it_fail "the missing $what are not one run: $(tr '\n' ' ' <"$IT_WORK/missing")"
	grep -q 'dups=0' "$IT_WORK/check" || it_fail "$what arrived twice"
	it_log "lost with the bad block: $what $lo..$hi ($lost); the other $((n - lost)) arrived once"
}
