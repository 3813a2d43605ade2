#!/usr/bin/env bash
# An agent at rest is not woken by its group commit (issue 4, idle cost):
#  1) a stream of lines is committed – every line durable, the position in
#     the state file at the end of the file – and then the commit's timer
#     stops: over 3 s of silence the agent wakes up about once per poll
#     (agent.poll_ms, 1 s here), not every spool.sync_ms (100 ms);
#  2) a line after the rest starts the commit again: its alert arrives and
#     its position is saved, within a few seconds (the file is longer than
#     the head fingerprint, so only the accepted line can start it);
#  3) a truncation at rest (no line) starts it too: the position of the
#     emptied file is saved.
# Wake-ups are the agent's voluntary context switches (/proc/PID/status).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_rest.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

LOG=$IT_WORK/auth.log
# Past the agent's head fingerprint (1 KiB): a later line does not change
# the fingerprint, which would start the commit on its own.
printf '%s web1 filler: %01100d\n' "$(it_syslog_now)" 0 >"$LOG"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" beginning "$LOG"
# The shipped poll period (the harness default of 100 ms would hide the commit's).
sed -i 's/^  poll_ms: 100$/  poll_ms: 1000/' "$IT_WORK/agent.yml"
grep -q '^  poll_ms: 1000$' "$IT_WORK/agent.yml" || it_fail "poll_ms not set"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent connected" it_log_has agent "event=connected"

burst() { # burst IP: eight failed passwords, one brute-force alert
	local i
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[7$i]: Failed password for root from $1 port 4$i$i ssh2"
	done >>"$LOG"
}
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has "\"source\":{\"ip\":\"$1\"}"; }
# The saved offset of the followed file equals its size: every line read is
# durable and its position is on disk.
saved_at_end() {
	local size off
	size=$(stat -c %s "$LOG")
	off=$("$IT_AGENT" state -c "$IT_WORK/agent.yml" 2>/dev/null |
		awk -v p="$LOG" '$1 == "pos" && $NF == p { print $4 }')
	[[ -n $off && $off == "$size" ]]
}
wakeups() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$IT_PID_agent/status"; }

# 1) a stream, then rest
burst 203.0.113.41
it_wait_for 10 "alert for the first burst" has_alert 203.0.113.41
it_wait_for 10 "position saved at the end of the file" saved_at_end
# Saved means the last commit ran (the collector's acknowledgement, 100 ms
# after the alert, came before it or falls in the window below).
w0=$(wakeups)
sleep 3 # the measurement window: wake-ups per second at rest
w1=$(wakeups)
rest=$((w1 - w0))
it_log "1: $rest wake-ups in 3 s at rest (commit every 100 ms while busy, poll every 1 s)"
# One per poll (and the uplink's own 1 s tick), plus a heartbeat or a late
# acknowledgement: well under the 30 a commit timer left running adds.
((rest <= 12)) || it_fail "the agent woke $rest times in 3 s at rest"

# 2) a line after the rest: committed again
burst 203.0.113.42
it_wait_for 10 "alert for the burst after the rest" has_alert 203.0.113.42
it_wait_for 10 "position saved after the rest" saved_at_end
it_log "2: lines after the rest are committed and their position saved"

# 3) truncated at rest: a position changes without any line
it_wait_for 10 "at rest again" saved_at_end
: >"$LOG"
it_wait_for 10 "truncation seen" it_log_has agent "event=file_truncated path=$LOG"
it_wait_for 10 "position of the emptied file saved" saved_at_end
it_log "3: a truncation at rest is committed"

it_stop agent
it_stop collector
it_log "PASS"
