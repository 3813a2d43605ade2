#!/usr/bin/env bash
# The agent dies by SIGKILL at random moments (seeded: the seed is printed,
# CRASH_AGENT_SEED=<seed> repeats the same kill points) while a writer
# appends a numbered stream, and is started again each time. After the last
# restart every line must arrive.
#
# Copies: none. Every line read is in the agent's spool before its file
# position may move, a restart resends the spool and resumes each file after
# its last spooled line, and the collector skips numbers it has handled.
# CRASH_AGENT_MAX_DUPS=<n> tolerates n copies (default 0).
#
# CI length: 60,000 lines at 3,000 lines/s (20 s), 5 kills. Full length:
# CRASH_AGENT_LINES=300000 CRASH_AGENT_RATE=5000 CRASH_AGENT_KILLS=20.
#
# Spool segments of 64 KiB (the default is 16 MiB): a segment every ~100
# lines, so the kills land among segment changes, and in segments written
# into the file of a delivered one (the spare), whose old records a scan
# after the crash must tell from the new ones.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crash_agent.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

LINES=${CRASH_AGENT_LINES:-60000}
RATE=${CRASH_AGENT_RATE:-3000}
KILLS=${CRASH_AGENT_KILLS:-5}
SEED=${CRASH_AGENT_SEED:-$(($(date +%s%N) / 1000 % 1000000))}
MAX_DUPS=${CRASH_AGENT_MAX_DUPS:-0}
RUN=ca$$

it_log "seed $SEED (CRASH_AGENT_SEED=$SEED repeats these kill points)"
RANDOM=$SEED
points=()
for ((k = 0; k < KILLS; k++)); do
	# Anywhere between 5 % and 95 % of the stream.
	points+=($((LINES / 20 + (RANDOM * 32768 + RANDOM) % (LINES * 9 / 10))))
done
mapfile -t points < <(printf '%s\n' "${points[@]}" | sort -n)
it_log "kill points (lines written): ${points[*]}"

seq_setup "$IT_WORK/app/app.log" "spool:
  segment_bytes: 64KiB"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
seq_writer -n "$LINES" -r "$RATE" -R "$RUN"
for ((k = 0; k < KILLS; k++)); do
	it_wait_for 120 "writer at line ${points[k]}" seq_written_ge "${points[k]}"
	seq_kill9 agent
	it_log "kill $((k + 1)): writer at line $(seq_written), $(seq_alerts) alerts stored"
	seq_start_agent
done
seq_writer_wait
seq_verify "$RUN" "$LINES" 120 --allow-dups
dups=$(grep -o 'dups=[0-9]*' <<<"$SEQ_RESULT" | cut -d= -f2)
it_log "copies after $KILLS agent crashes: $dups (seed $SEED)"
if ((dups > MAX_DUPS)); then
	it_fail "$dups lines arrived twice (CRASH_AGENT_MAX_DUPS=$MAX_DUPS)"
fi
it_stop agent
grep -q -E 'spool_reused=[1-9]' "$IT_WORK/logs/agent.log" ||
	it_fail "the last agent never wrote into a reused segment: $(grep -o 'spool_reused=[0-9]*' "$IT_WORK/logs/agent.log")"
it_stop collector
it_log "PASS"
