#!/usr/bin/env bash
# The collector stops reading (SIGSTOP) while the agent streams: once the
# socket buffers are full, the agent's direct TLS writes are refused and the
# rest of each frame waits in its bufferevent (counter send_blocked). When
# the collector runs again, every line arrives exactly once and in order of
# its number: nothing of a half-written frame is lost, doubled or
# reordered.
#
# The agent's in-memory window is raised so that far more than the socket
# buffers (a few MiB on loopback) is in flight. STALLED_LINES changes the
# line count (default 150,000, about 20 MB of frames).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_collector_stalled.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

LINES=${STALLED_LINES:-150000}
RUN=st$$

seq_setup "$IT_WORK/app/app.log" "queue:
  max_events: 1000000
  max_bytes: 512MiB"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
# The collector logs the hello before its reply reaches the agent: stopping
# it now could leave the agent mid-handshake, never connected.
it_wait_for 10 "agent connected" it_log_has agent "event=connected"
kill -STOP "$IT_PID_collector"
it_log "collector stopped (SIGSTOP); writing $LINES lines"
seq_writer -n "$LINES" -r 100000 -R "$RUN"
seq_writer_wait
# The agent read everything and sent what the socket took: it is blocked.
blocked() {
	local l
	l=$(seq_agent_stats)
	[[ $l =~ \ send_blocked=([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) &&
		[[ $l =~ \ lines_read=([0-9]+) ]] && ((BASH_REMATCH[1] >= LINES))
}
it_wait_for 60 "the agent to have read every line and be blocked on the socket" blocked
[[ $(seq_alerts) == 0 ]] || it_fail "alerts arrived while the collector was stopped"
kill -CONT "$IT_PID_collector"
it_log "collector running again"
seq_verify "$RUN" "$LINES" 150
it_log_has agent "event=disconnected" && it_fail "the agent dropped its connection"
it_stop agent
it_stop collector
it_log "PASS"
