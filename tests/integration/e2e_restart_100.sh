#!/usr/bin/env bash
# The collector restarted under load with 100 connected agents (real agent
# processes, one certificate each): every agent reconnects, and every line
# written before, during and after the restart is handled exactly once
# (per agent, the handled number reaches its last line; the collector
# counts exactly the lines written, duplicates skipped).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_restart_100.sh BUILD_DIR}"

NAGENTS=${RESTART_AGENTS:-100}
LINES=${RESTART_LINES:-60}	# per agent, in three rounds
names=()
for i in $(seq 1 "$NAGENTS"); do names+=("a$i"); done
it_pki "$IT_WORK/pki" "${names[@]}"
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
sed -i 's/^  log_level: debug$/  log_level: info/' "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
for n in "${names[@]}"; do
	: >"$IT_WORK/$n.log"
	it_agent_conf "$IT_WORK/$n.yml" "$IT_WORK/pki" "$n" "$CPORT" "$IT_WORK/state-$n" end "$IT_WORK/$n.log"
	sed -i 's/^  log_level: debug$/  log_level: info/' "$IT_WORK/$n.yml"
	it_start "agent-$n" "$IT_AGENT" -c "$IT_WORK/$n.yml"
done
connected() { # connected COUNT: every agent log shows COUNT connections
	local n
	for n in "${names[@]}"; do
		(($(grep -c 'event=connected' "$IT_WORK/logs/agent-$n.log") >= $1)) || return 1
	done
}
it_wait_for 60 "all $NAGENTS agents connected" connected 1

round() { # round FROM TO: lines FROM..TO to every agent
	local n i
	for n in "${names[@]}"; do
		for ((i = $1; i <= $2; i++)); do
			echo "$(it_syslog_now) $n CRON[$i]: pam_unix(cron:session): session opened for user root(uid=0) line $i"
		done >>"$IT_WORK/$n.log"
	done
}
third=$((LINES / 3))
round 1 "$third"
# Restart while the second round is being written.
round $((third + 1)) $((2 * third)) &
writer=$!
kill -KILL "$IT_PID_collector"
wait "$IT_PID_collector" 2>/dev/null || true
mv "$IT_WORK/logs/collector.log" "$IT_WORK/logs/collector-1.log"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
wait "$writer"
round $((2 * third + 1)) "$LINES"
it_wait_for 90 "all $NAGENTS agents reconnected" connected 2

all_handled() {
	local n first s
	for n in "${names[@]}"; do
		first=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent-$n.log" | sed -n 1p | cut -d= -f2)
		s=$(it_redis_raw HGET minisoc:agents:seq "$n")
		[[ -n $s ]] && ((s >= first + LINES - 1)) || return 1
	done
}
it_wait_for 90 "every line of every agent handled" all_handled
# Exactly once: the restarted collector counts what it had not handled yet
# plus resends it skipped; together with what the first one handled
# (read back per agent at each hello), nothing is missing and no agent
# went past its last line.
for n in "${names[@]}"; do
	first=$(grep -o 'first_seq=[0-9]*' "$IT_WORK/logs/agent-$n.log" | sed -n 1p | cut -d= -f2)
	s=$(it_redis_raw HGET minisoc:agents:seq "$n")
	((s == first + LINES - 1)) || it_fail "agent $n: handled $s, expected $((first + LINES - 1))"
done
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
it_log "$(grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | grep -o -E ' (sessions|events_in|events_dup)=[0-9]*' | tr -d '\n')"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has " sessions=$NAGENTS " ||
	it_fail "not all $NAGENTS agents have a session"
for n in "${names[@]}"; do it_stop "agent-$n" >/dev/null; done
it_stop collector
it_log "PASS ($NAGENTS agents, $LINES lines each)"
