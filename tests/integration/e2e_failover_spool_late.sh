#!/usr/bin/env bash
# A collector's spool replayed after another collector moved the agent's
# handled number past it stores its alerts all the same (found by
# bench/chaos/soak.sh -c 2, seed 4: 5,939 of 91,666 lines lost).
#
# Collector A loses Redis (its relay to Redis killed), spools the agent's
# lines 100..199, acknowledges them from its spool and dies (SIGKILL). The
# agent fails over to collector B, which reads the handled number from
# Redis – 99's, A's newer one is in A's spool – and stores lines 200..299,
# moving minisoc:agents:seq past A's batch. A starts again and replays its
# spool: the script skipped a batch whose number Redis already held
# ("stored before"), so lines 100..199, acknowledged to the agent and
# deleted from its spool, were in Redis never. The batch's range of
# numbers tells a batch stored before (another batch covered it) from one
# nobody stored: every line once.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_failover_spool_late.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

RUN=fl$$
seq_setup "$IT_WORK/app/app.log"
seq_relay_port
# Collector B: the agent's second collector, straight to Redis.
it_pki_second "$IT_WORK/pki" "$IT_WORK/pki2"
SPORT=$(it_free_port)
it_collector_conf "$IT_WORK/b.yml" "$IT_WORK/pki2" "$SPORT"
sed -n '/^rules:/,$p' "$IT_WORK/collector.yml" >>"$IT_WORK/b.yml"
sed -i 's/log_level: debug/log_level: info/' "$IT_WORK/b.yml"
printf 'collectors:\n  - 127.0.0.1:%s\n' "$SPORT" >>"$IT_WORK/agent.yml"
# No fail-back while the test runs: A's return is seen by its replay only.
sed -i 's/^uplink:/uplink:\n  failback_ms: 600000/' "$IT_WORK/agent.yml"
"$IT_AGENT" -t -c "$IT_WORK/agent.yml" >/dev/null || it_fail "agent config refused"

# write FROM TO: marker lines FROM..TO of RUN.
write() {
	local n
	for ((n = $1; n <= $2; n++)); do
		printf '%s seqhost seqw: MSEQ %s %d t=0 x\n' "$(it_syslog_now)" "$RUN" "$n"
	done >>"$SEQ_LOG"
}
seen() { python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" --seen "$1" --all >/dev/null; }

seq_start_behind_relay
it_start b "$IT_COLLECTOR" -c "$IT_WORK/b.yml"
it_wait_for 20 "collector B listening" it_log_has b "event=listening"
write 0 99
it_wait_for 30 "lines 0..99 through A" seen 99

# A loses Redis: lines 100..199 go to its spool, acknowledged from there.
seq_kill9 relay
it_wait_for 20 "A without Redis" it_log_has collector "event=redis_disconnected"
write 100 199
it_wait_for 20 "A spooling" it_log_has collector "event=spool_start"
it_wait_for 30 "lines 100..199 acknowledged by A from its spool" seq_agent_drained
! seen 100 || it_fail "line 100 reached Redis while A had no Redis"
seq_kill9 collector

# The agent goes to B, which stores lines 200..299.
it_wait_for 30 "the agent at B" it_log_has b "event=hello .*agent=web1"
write 200 299
it_wait_for 30 "lines 200..299 through B" seen 299

# A comes back with its spool and replays it.
seq_relay_start
seq_start_collector
it_wait_for 30 "A's spool replayed" it_log_has collector "event=spool_replayed"
it_wait_for 30 "the agent to hold nothing unacknowledged" seq_agent_drained
SEQ_RESULT=$(python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "$RUN" 300) || {
	echo "$SEQ_RESULT"
	it_fail "lines acknowledged from A's spool are missing or doubled after its replay"
}
echo "$SEQ_RESULT"
it_stop agent
it_stop collector
it_stop b
it_log "PASS"
