#!/usr/bin/env bash
# bench/chaos/soak.sh – a randomized soak of the delivery promise: every
# line an agent accepts reaches Redis, across the faults of operations.md's
# "What happens when …" combined, and none arrives twice.
#
# One real redis-server (appendonly), the test PKI, one collector behind a
# TCP relay (tests/integration/relay.py: what "the collector is
# unreachable" is made of), AGENTS agents each following FILES log files.
# bench/chaos/writer.py appends numbered marker lines to every file at RATE
# lines/s each; the collector's only rule (tests/integration/rules-seq)
# raises one alert per line, never folded. Meanwhile a chaos loop, driven
# by bash's RANDOM seeded with SEED (printed: a failing run is replayed
# with -s SEED, the same choices and delays, not the same timing), picks
# every 0.3–3 s one of:
#
#   agent_kill9 / agent_term      SIGKILL or SIGTERM an agent, start it again 0–3 s later
#   collector_kill9 / _term       the same for the collector
#   collector_stall               SIGSTOP the collector for 1–6 s
#   redis_kill9 / redis_term      Redis killed or stopped for 1–8 s (appendonly: nothing it
#                                 answered is lost; the collector spools meanwhile)
#   redis_stall                   SIGSTOP Redis for 1–5 s (the collector falls behind)
#   relay_down                    the relay killed for 1–6 s: the collector refuses connections
#   relay_hold                    the relay holds the collector's answers 1–8 s (no ACK comes back)
#   rotate_rename                 rename + create with a 0–500 ms postrotate reload
#   rotate_copytruncate           copy + truncate, once the agent has read the file whole
#
# Faults overlap: a component down is started again at its own time while
# the loop goes on hitting the others. A daemon that exits on its own, or
# with a status other than 0 after SIGTERM (a sanitizer's report), is a
# finding. After DURATION seconds every component is brought back, the
# writer stops, and the soak waits for the last line of every file to be
# in Redis; then tests/integration/seqcheck.py reads the whole stream for
# each file: every number must be there once. Nothing of this setup is
# documented as losing or doubling a line (see the comment on rotations in
# writer.py for the two rotations any follower loses and the soak avoids).
#
#   bench/chaos/soak.sh [-b BUILD_DIR] [-d SECONDS] [-s SEED] [-a AGENTS]
#                       [-f FILES_PER_AGENT] [-r RATE] [-c 1|2] [-T]
#
# Defaults: build-test (the sanitizer build), 600 s, a random seed, 2 agents,
# 2 files each, 40 lines/s per file, one collector.
#   -c 2  a second collector, listed after the relayed one in every agent's
#         collectors: (failover, fail-back every 2 s); the collector faults
#         hit either. Lines may then arrive twice where alerts.md and
#         architecture.md say so (an agent failing over while Redis is
#         away, or leaving a collector that is alive but unreachable with a
#         checkpoint on its way): counted and printed, not a failure.
#   -T    tight limits, so that outages fill what waits: the agents'
#         queue.max_events 64, spool.max_bytes 256 KiB in 16 KiB segments
#         (reading pauses, the lines wait in the files), the collector's
#         spool.max_bytes 64 KiB (a Redis outage slows the agents).
# The work folder is kept when the soak fails (its path is printed): logs/
# has every daemon's logs, one per start, chaos.log the faults with their
# times, writer.log the rotations.
# Exit status: 0 when every line arrived (once, with one collector) and no
# daemon failed.
set -uo pipefail

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
build=$top/build-test
duration=600
seed=$(((RANDOM << 15 | RANDOM) % 1000000))
nagents=2
nfiles=2
rate=40
ncoll=1
tight=0
while getopts 'b:d:s:a:f:r:c:Th' o; do
	case $o in
	b) build=$OPTARG ;;
	d) duration=$OPTARG ;;
	s) seed=$OPTARG ;;
	a) nagents=$OPTARG ;;
	f) nfiles=$OPTARG ;;
	r) rate=$OPTARG ;;
	c) ncoll=$OPTARG ;;
	T) tight=1 ;;
	*) sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 1 ;;
	esac
done

IT_KEEP=1
source "$top/tests/integration/lib.sh"
set +e
it_init "$build"
W=$IT_WORK
RANDOM=$seed
RUN=ch$seed
it_log "chaos soak: seed $seed, ${duration}s, $nagents agents x $nfiles files at $rate lines/s, work $W"

findings=()
finding() {
	findings+=("$*")
	it_log "FINDING: $*"
}
# Each fault in chaos.log, counted by kind.
declare -A FAULTS=()
chaos() {
	FAULTS[$1]=$((${FAULTS[$1]:-0} + 1))
	printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >>"$W/chaos.log"
}
# rnd LO HI: a random integer in [LO, HI].
rnd() { echo $((RANDOM % ($2 - $1 + 1) + $1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- daemons: start (earlier logs kept as NAME-<k>.log), stop, watch
declare -A PID=() NSTART=() STATE=() UNTIL=()
forget_pid() {
	local keep=() p
	for p in "${IT_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	IT_PIDS=("${keep[@]}")
}
cmd_of() {
	case $1 in
	redis) CMD=(redis-server --port "$IT_REDIS_PORT" --bind 127.0.0.1 --dir "$W/redis" --save ''
		--appendonly yes --appendfsync everysec --daemonize no) ;;
	collector*) CMD=("$IT_COLLECTOR" -c "$W/$1.yml") ;;
	relay) CMD=(python3 "$top/tests/integration/relay.py" "$RPORT" "$CPORT") ;;
	agent*) CMD=("$IT_AGENT" -c "$W/$1.yml") ;;
	esac
}
start() {
	local name=$1 n=${NSTART[$1]:-0}
	[[ -f $W/logs/$name.log ]] && mv "$W/logs/$name.log" "$W/logs/$name-$n.log"
	NSTART[$name]=$((n + 1))
	: >"$W/logs/$name.log"
	cmd_of "$name"
	"${CMD[@]}" >>"$W/logs/$name.log" 2>&1 &
	PID[$name]=$!
	IT_PIDS+=($!)
	STATE[$name]=up
}
# reap NAME WANT: waits for the daemon's exit; its status must be WANT.
reap() {
	local rc=0
	{ wait "${PID[$1]}"; } 2>/dev/null || rc=$?
	forget_pid "${PID[$1]}"
	[[ $rc == "$2" ]] || finding "$1 (start ${NSTART[$1]}) exited with status $rc, expected $2 (logs/$1.log)"
}
kill9() { kill -KILL "${PID[$1]}" 2>/dev/null; reap "$1" 137; }
term() { kill -TERM "${PID[$1]}" 2>/dev/null; reap "$1" "$2"; }
# down NAME MS: to be started again MS from now.
down() {
	STATE[$1]=down
	UNTIL[$1]=$(($(now_ms) + $2))
}
# A daemon that died by itself is a finding; it is started again.
watch() {
	local name
	for name in "${!STATE[@]}"; do
		[[ ${STATE[$name]} == up || ${STATE[$name]} == stopped || ${STATE[$name]} == held ]] || continue
		if ! kill -0 "${PID[$name]}" 2>/dev/null || [[ $(ps -o stat= -p "${PID[$name]}") == Z* ]]; then
			reap "$name" "(none: it was not stopped)"
			chaos died "$name"
			start "$name"
		fi
	done
}
# Brings back what is due (or everything with "all").
revive() {
	local name t
	t=$(now_ms)
	for name in "${!STATE[@]}"; do
		[[ $1 == all || ${UNTIL[$name]:-0} -le $t ]] || continue
		case ${STATE[$name]} in
		down) start "$name" ;;
		stopped) kill -CONT "${PID[$name]}"; STATE[$name]=up ;;
		held) kill -USR2 "${PID[$name]}"; STATE[$name]=up ;;
		esac
	done
}

# ---- setup
it_pki "$W/pki" $(for ((a = 1; a <= nagents; a++)); do echo "web$a"; done)
IT_REDIS_PORT=$(it_free_port)
CPORT=$(it_free_port)
RPORT=$(it_free_port)
mkdir -p "$W/redis" "$W/app" "$W/ctl" "$W/seen"
it_collector_conf "$W/collector.yml" "$W/pki" "$CPORT"
COLLECTORS=(collector)
if ((ncoll == 2)); then
	it_pki_second "$W/pki" "$W/pki2"
	SPORT=$(it_free_port)
	it_collector_conf "$W/collector2.yml" "$W/pki2" "$SPORT"
	COLLECTORS+=(collector2)
fi
for c in "${COLLECTORS[@]}"; do
	sed -i 's/log_level: debug/log_level: info/' "$W/$c.yml"
	((tight == 0)) || sed -i 's/^spool:/spool:\n  max_bytes: 64KiB/' "$W/$c.yml"
	cat >>"$W/$c.yml" <<YML
rules:
  path: $top/tests/integration/rules-seq
alerts:
  aggregate_rules: seq_every_line=0
detect:
  ssh_bruteforce:
    enabled: false
agents:
  heartbeat_ms: 1000
YML
done
AGENTS=()
for ((a = 1; a <= nagents; a++)); do
	files=()
	for ((i = 0; i < nfiles; i++)); do
		f=$(((a - 1) * nfiles + i))
		files+=("$W/app/app$f.log")
		: >"$W/app/app$f.log"
	done
	it_agent_conf "$W/agent$a.yml" "$W/pki" "web$a" "$RPORT" "$W/state$a" beginning "${files[@]}"
	sed -i 's/log_level: debug/log_level: info/' "$W/agent$a.yml"
	sed -i "s/^uplink:/uplink:\n  heartbeat_ms: 1000\n  dead_after_ms: 3000\n  failback_ms: 2000/" "$W/agent$a.yml"
	((tight == 0)) || printf 'queue:\n  max_events: 64\nspool:\n  max_bytes: 256KiB\n  segment_bytes: 16KiB\n' \
		>>"$W/agent$a.yml"
	((ncoll == 1)) || printf 'collectors:\n  - 127.0.0.1:%s\n' "$SPORT" >>"$W/agent$a.yml"
	AGENTS+=("agent$a")
done
start redis
it_wait_for 10 "redis-server to answer" it_redis_ping
for c in "${COLLECTORS[@]}"; do
	start "$c"
	it_wait_for 20 "$c listening" it_log_has "$c" "event=listening"
done
start relay
it_wait_for 10 "relay listening" it_log_has relay "relay listening"
for a in "${AGENTS[@]}"; do start "$a"; done
python3 "$top/bench/chaos/observer.py" "$IT_REDIS_PORT" "$W/seen" >"$W/logs/observer.log" 2>&1 &
OBS=$!
IT_PIDS+=($OBS)
python3 "$top/bench/chaos/writer.py" "$W/app" $((nagents * nfiles)) "$rate" "$RUN" "$W/ctl" "$W/seen" \
	>"$W/writer.log" 2>&1 &
WRITER=$!
IT_PIDS+=($WRITER)

# ---- chaos
ACTIONS=(agent_kill9 agent_term collector_kill9 collector_term collector_stall redis_kill9 redis_term
	redis_stall relay_down relay_hold rotate_rename rotate_copytruncate)
t0=$(date +%s)
end=$((t0 + duration))
while (($(date +%s) < end)); do
	revive due
	watch
	sleep "$(printf '0.%03d' "$(rnd 300 999)")"
	(($(rnd 0 2) == 0)) && sleep 1
	act=${ACTIONS[$(rnd 0 $((${#ACTIONS[@]} - 1)))]}
	case $act in
	agent_*) name=${AGENTS[$(rnd 0 $((nagents - 1)))]} ;;
	collector_*) name=${COLLECTORS[$(rnd 0 $((ncoll - 1)))]} ;;
	redis_*) name=redis ;;
	relay_*) name=relay ;;
	rotate_*) name=writer ;;
	esac
	[[ $name == writer || ${STATE[$name]} == up ]] || continue
	case $act in
	*_kill9) kill9 "$name"; down "$name" "$(rnd 0 3000)" ;;
	agent_term | collector_term) term "$name" 0; down "$name" "$(rnd 0 2000)" ;;
	redis_term) term redis 0; down redis "$(rnd 1000 8000)" ;;
	redis_kill9) kill9 redis; down redis "$(rnd 1000 8000)" ;;
	*_stall) kill -STOP "${PID[$name]}"; STATE[$name]=stopped; UNTIL[$name]=$(($(now_ms) + $(rnd 1000 6000))) ;;
	relay_down) kill9 relay; down relay "$(rnd 1000 6000)" ;;
	relay_hold) kill -USR1 "${PID[relay]}"; STATE[relay]=held; UNTIL[relay]=$(($(now_ms) + $(rnd 1000 8000))) ;;
	rotate_rename) : >"$W/ctl/rename-$(rnd 0 99)-$(rnd 0 500)" ;;
	rotate_copytruncate) : >"$W/ctl/copytrunc-$(rnd 0 99)" ;;
	esac
	# (redis_kill9 with appendonly: its torn AOF tail, if any, is fixed at start)
	chaos "$act" "$name"
done

# ---- drain and check
it_log "chaos over: $(wc -l <"$W/chaos.log") faults in $(($(date +%s) - t0))s; bringing everything back"
revive all
watch
kill -TERM "$WRITER"
wait "$WRITER"
forget_pid "$WRITER"
it_log "writer: $(tail -n1 "$W/writer.log")"
all_in() {
	local run n s
	while read -r run n; do
		s=$(cat "$W/seen/$run" 2>/dev/null || echo -1)
		((s >= n - 1)) || return 1
	done <"$W/app/written"
}
t=0
until all_in; do
	watch
	sleep 1
	t=$((t + 1))
	((t < 300)) || { finding "the last lines did not all reach Redis in 300 s"; break; }
done
total=0
missing=0
dups=0
while read -r run n; do
	total=$((total + n))
	out=$(python3 "$top/tests/integration/seqcheck.py" "$IT_REDIS_PORT" "$run" "$n" --allow-dups)
	echo "$out"
	m=$(sed -n 's/.* missing=\([0-9]*\) .*/\1/p' <<<"$out")
	d=$(sed -n 's/.* dups=\([0-9]*\)$/\1/p' <<<"$out")
	missing=$((missing + ${m:-1}))
	dups=$((dups + ${d:-0}))
done <"$W/app/written"
((missing == 0)) || finding "$missing lines missing"
# With two collectors operations.md and alerts.md say lines may be handled
# twice: an agent failing over while Redis is away (the other collector
# answers its hello from what it knew), or leaving a collector that is
# alive but unreachable (relay_hold) with a checkpoint still on its way.
if ((ncoll == 1)); then
	((dups == 0)) || finding "$dups lines arrived twice"
elif ((dups > 0)); then
	it_log "$dups lines arrived twice: documented with two collectors (failover while Redis is away," \
		"or off a collector still alive): agents' failovers $(cat "$W"/logs/agent*.log | grep -c 'event=failover')"
fi
for name in "${AGENTS[@]}" "${COLLECTORS[@]}"; do term "$name" 0; done
kill9 relay
kill -TERM "$OBS" 2>/dev/null
if grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$W"/logs/*.log >/dev/null 2>&1; then
	finding "sanitizer reports in $(grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$W"/logs/*.log | tr '\n' ' ')"
fi
summary=$(for k in "${!FAULTS[@]}"; do printf '%s=%s ' "$k" "${FAULTS[$k]}"; done)
it_log "seed=$seed duration=${duration}s lines=$total missing=$missing dups=$dups faults=$(wc -l <"$W/chaos.log"): $summary"
it_log "rotations: $(grep -c '^rename' "$W/writer.log") rename, $(grep -c '^copytruncate' "$W/writer.log") copytruncate, $(grep -c '^skip' "$W/writer.log") skipped"
if ((${#findings[@]} == 0)); then
	it_log "PASS"
	IT_KEEP=0
	exit 0
fi
printf 'FINDING: %s\n' "${findings[@]}"
it_log "FAIL (seed $seed): work folder kept: $W"
exit 1
