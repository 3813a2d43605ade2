#!/usr/bin/env bash
# A spool replay that Redis carried out but never confirmed (the collector
# SIGKILLed while the replies were on their way) is replayed again after the
# restart; docs/alerts.md: "a replay of the spool after a crash ... stores
# nothing twice". Agents' batches are skipped by their handled number; this
# checks an alert that is not part of an agent batch – an aggregation
# summary, spooled while Redis was unreachable – is stored once too.
#
# A relay (relay.py) stands between the collector and Redis: killed, Redis
# is unreachable for the collector (Redis itself keeps its data); started
# again holding Redis' replies from the collector's first command that
# carries a summary (RELAY_HOLD_AFTER), the replay reaches Redis but no
# reply to it reaches the collector. The replies to what the collector
# sends before it pass: SCRIPT LOAD, and any informational write that
# waited in memory for Redis (one did when the reconnection came a retry
# later, on a busy host: the replay waits for its reply, and holding that
# reply too held the replay back for good).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_spool_replay_once.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

RUN=ro$$
JOURNAL=$IT_WORK/collector.spool/sink.journal

seq_setup "$IT_WORK/app/app.log"
# The collector reaches Redis through the relay; the marker rule is folded (5 s windows).
seq_relay_port
sed -i "s/seq_every_line=0/seq_every_line=5/" "$IT_WORK/collector.yml"
grep -q "seq_every_line=5" "$IT_WORK/collector.yml" || it_fail "the marker rule is not folded"
seq_start_behind_relay

summaries() { it_redis_raw XRANGE minisoc:alerts - + | grep -c '"aggregate":{' || true; }

# Three marker lines: the first alert is stored at once, the other two are folded.
seq_writer -n 3 -r 100 -R "$RUN"
seq_writer_wait
it_wait_for 10 "the first alert stored" seq_alerts_grew 0
it_wait_for 10 "agent drained" seq_agent_drained
it_log_has collector "aggregate=1" && it_fail "the window ended too early for this test"
# Redis unreachable before the window ends: its summary goes to the spool.
kill -TERM "$IT_PID_relay"
wait "$IT_PID_relay" 2>/dev/null || true
seq_forget_pid "$IT_PID_relay"
it_wait_for 10 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
it_wait_for 15 "the summary raised" it_log_has collector "event=alert .*aggregate=1"
it_wait_for 10 "the spool started" it_log_has collector "event=spool_start"
[[ -s $JOURNAL ]] || it_fail "nothing in the spool"
(($(summaries) == 0)) || it_fail "the summary reached Redis without the relay"

# Reachable again, but Redis' replies to the replay are held: it is stored, never confirmed.
mv "$IT_WORK/logs/relay.log" "$IT_WORK/logs/relay-1.log"
RELAY_HOLD_AFTER='"aggregate":{' seq_relay_start
it_wait_for 20 "relay holding Redis' replies" it_log_has relay "relay hold"
one() { (($(summaries) >= 1)); }
it_wait_for 15 "the replayed summary in Redis" one
it_log_has collector "event=spool_replayed" && it_fail "the replay was confirmed through a holding relay"
seq_kill9 collector
it_log "collector killed after Redis stored the replay (spool $(stat -c %s "$JOURNAL") bytes)"
kill -USR2 "$IT_PID_relay"
it_wait_for 10 "relay forwarding" it_log_has relay "relay forward"

seq_start_collector
it_wait_for 10 "spool recovered" it_log_has collector "event=spool_recovered"
it_wait_for 30 "spool replayed" it_log_has collector "event=spool_replayed"
n=$(summaries)
it_log "summaries stored: $n"
((n == 1)) || it_fail "the summary was stored $n times"
# The marker alert itself once (its batch was confirmed before the outage).
(($(it_redis_raw XRANGE minisoc:alerts - + | grep -c "MSEQ $RUN 0 ") == 1)) ||
	it_fail "the first alert is not stored exactly once"
it_stop agent
it_stop collector
it_log "PASS"
