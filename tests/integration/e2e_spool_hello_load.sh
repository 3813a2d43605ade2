#!/usr/bin/env bash
# An agent's hello read back its handled number from Redis (HGET) ahead of
# spool records not yet replayed, after Redis had stored a batch whose reply
# was lost (the connection dropped) and before the spool's sync: Redis' number
# is above the collector's confirmed one but below what it had handled, and
# the collector lowered its handled number to it. The agent then sent again
# what the spool holds, detection ran on it twice, and a batch ending above
# the spool's stored its alerts a second time (docs/alerts.md: a resend never
# produces a second alert).
#
# Without the fix (sink_redis.c, OP_LOAD) it fails every time. Every step
# waits for a condition: the relay holds from its start (RELAY_HOLD=1), so
# the collector's reconnection cannot slip an answer through before the
# hold, and the agent's hello is seen in Redis (the HSET sent with its HGET)
# before the answers are let through.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_spool_hello_load.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

RUN=hl$$

seq_setup "$IT_WORK/app/app.log"
seq_relay_port
# A long group commit: the spool's records stay unsynced (unacknowledged) for the test's steps.
sed -i 's/^spool:$/spool:\n  sync_ms: 10000/' "$IT_WORK/collector.yml"
grep -q "sync_ms: 10000" "$IT_WORK/collector.yml" || it_fail "spool.sync_ms not set"
seq_start_behind_relay

marker() { it_redis_raw XRANGE minisoc:alerts - + | grep -c "MSEQ $RUN $1 " || true; }

# The agent's first health report (sent at its hello) stored, its answer
# through: held, the batches would wait behind it.
health() { (($(it_redis_raw EXISTS minisoc:agent:web1:health) == 1)); }
it_wait_for 10 "the agent's health report" health

# Redis' replies held: the first batch is stored, its reply never comes; the
# batches after it wait behind it (a checkpoint waits for what is in flight).
kill -USR1 "$IT_PID_relay"
it_wait_for 10 "relay holding" it_log_has relay "relay hold"
seq_writer -n 4 -r 4 -R "$RUN"
seq_writer_wait
it_wait_for 10 "the first batch stored" seq_alerts_grew 0
# The collector holds all four lines (handled above what Redis confirmed).
sent4() { [[ $(seq_agent_stats) =~ \ events_sent=([0-9]+)\  ]] && ((BASH_REMATCH[1] >= 4)); }
it_wait_for 10 "the agent to send the four lines" sent4
n1=$(seq_alerts)
it_log "alerts stored with replies held: $n1"
seq_kill9 agent
# The connection drops: what waited goes to the spool (synced only after 10 s).
kill -TERM "$IT_PID_relay"
wait "$IT_PID_relay" 2>/dev/null || true
seq_forget_pid "$IT_PID_relay"
it_wait_for 5 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
it_wait_for 5 "the spool started" it_log_has collector "event=spool_start"
# One more line while the agent is away: its resend ends above the spool's last batch.
seq_writer -n 1 -R "${RUN}x"
seq_writer_wait
mv "$IT_WORK/logs/relay.log" "$IT_WORK/logs/relay-1.log"
RELAY_HOLD=1 seq_relay_start
it_wait_for 10 "relay holding" it_log_has relay "relay hold"
# (the collector's reconnection backoff reaches 5 s)
it_wait_for 20 "collector reconnected" eval '(($(grep -c "event=redis_connected" "$IT_WORK/logs/collector.log") >= 2))'
peer0=$(it_redis_raw HGET minisoc:agent:web1 peer)
seq_start_agent
# Its hello's HSET reached Redis: the HGET sent with it did too, its answer held.
new_hello() { local p; p=$(it_redis_raw HGET minisoc:agent:web1 peer); [[ -n $p && $p != "$peer0" ]]; }
it_wait_for 10 "the agent's hello at Redis" new_hello
kill -USR2 "$IT_PID_relay"
it_wait_for 10 "agent hello again" eval '(($(grep -c "event=hello .*agent=web1" "$IT_WORK/logs/collector.log") >= 2))'
it_wait_for 30 "spool replayed" it_log_has collector "event=spool_replayed"
# Drained: every line acknowledged, so every batch (and its alerts) stored.
it_wait_for 15 "agent drained" seq_agent_drained
it_log "$(grep "event=hello" "$IT_WORK/logs/collector.log")"
bad=0
for i in 0 1 2 3 x; do
	if [[ $i == x ]]; then n=$(it_redis_raw XRANGE minisoc:alerts - + | grep -c "MSEQ ${RUN}x 0 " || true)
	else n=$(marker "$i"); fi
	it_log "line $i: $n alert(s)"
	((n == 1)) || bad=1
done
((bad == 0)) || it_fail "a line's alert is not stored exactly once"
it_stop agent
it_stop collector
it_log "PASS"
