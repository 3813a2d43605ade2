#!/usr/bin/env bash
# The collector is down while a writer appends a numbered stream; once it
# is back, every line arrives, each exactly once. The agent holds what it
# could not send and keeps trying to reconnect the whole time.
#
# CI length: 50,000 lines written over 5 s of downtime. Full length (the
# issue's figures): COLLECTOR_DOWN_S=60 (50,000 lines over 60 s);
# COLLECTOR_DOWN_LINES changes the line count.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_collector_down.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

LINES=${COLLECTOR_DOWN_LINES:-50000}
DOWN_S=${COLLECTOR_DOWN_S:-5}
RUN=cd$$

seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
# The collector logs the hello before its reply reaches the agent: stopping
# it now could leave the agent mid-handshake, never connected.
it_wait_for 10 "agent connected" it_log_has agent "event=connected"
it_stop collector
it_wait_for 10 "agent to notice the collector is gone" it_log_has agent "event=disconnected"
it_log "collector down; writing $LINES lines over ${DOWN_S}s"
seq_writer -n "$LINES" -r "$((LINES / DOWN_S))" -R "$RUN"
seq_writer_wait
down_for=$(($(date +%s) - $(stat -c %Y "$IT_WORK/logs/collector.log")))
[[ $(seq_alerts) == 0 ]] || it_fail "alerts arrived while the collector was down"
it_log_has agent "event=connect_failed" || it_fail "the agent did not keep trying to reconnect"
seq_start_collector
it_log "collector back after about ${down_for}s"
seq_verify "$RUN" "$LINES" 120
it_stop agent
it_stop collector
it_log "PASS"
