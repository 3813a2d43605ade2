#!/usr/bin/env bash
# The batch script is sent by EVALSHA (SCRIPT LOAD once per connection),
# and Redis losing its script cache loses nothing, with a real redis-server:
#  A) lines flow; Redis ran EVALSHA, never the script's text (EVAL);
#  B) SCRIPT FLUSH on the live connection: the next call gets NOSCRIPT, the
#     collector connects again, loads the script and sends it again: every
#     line once;
#  C) Redis restarted (an empty script cache) while lines are written: the
#     collector spools them (records with the script's text), loads the
#     script on the new connection and replays them grouped: every line
#     once, in order, and the restarted Redis, too, ran EVALSHA only;
#  D) Redis refusing writes (maxmemory 1): retried on a growing backoff,
#     every line once afterwards.
# One alert per line (rules-seq), several agent batches per Redis call
# (group commit) at ALERT_SCRIPT_RATE (500) lines/s.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_script.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=${ALERT_SCRIPT_LINES:-300}
RATE=${ALERT_SCRIPT_RATE:-500}
RUN=rs$$

seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

# cmdstat NAME: calls of one Redis command since Redis started (0 if none).
cmdstat() {
	it_redis_raw INFO commandstats | tr -d '\r' |
		sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}
# Only the collector talks to this Redis besides redis-cli.
evalsha_only() {
	(($(cmdstat evalsha) > 0)) || it_fail "$1: Redis ran no EVALSHA"
	(($(cmdstat eval) == 0)) || it_fail "$1: Redis ran EVAL $(cmdstat eval) times (the script's text)"
}

# A) the normal path.
seq_writer -n "$N" -r "$RATE" -R "${RUN}a"
seq_writer_wait
seq_verify "${RUN}a" "$N" 30
evalsha_only A
[[ $(it_redis_raw SCRIPT EXISTS "$(grep -o 'sha=[0-9a-f]*' "$IT_WORK/logs/collector.log" | sed -n 1p | cut -d= -f2)") == 1 ]] ||
	it_fail "A: the collector's script is not in Redis' cache (or its sha not logged)"
it_log "A: $(cmdstat evalsha) EVALSHA calls for $N lines"

# B) the script cache flushed under a live connection.
[[ $(it_redis_raw SCRIPT FLUSH) == OK ]] || it_fail "SCRIPT FLUSH failed"
seq_writer -n "$N" -r "$RATE" -R "${RUN}b"
it_wait_for 20 "the collector to meet NOSCRIPT" it_log_has collector "event=redis_error .*NOSCRIPT"
seq_writer_wait
seq_verify "${RUN}b" "$N" 30
it_log "B: NOSCRIPT met, every line once"

# C) Redis restarted: its script cache is empty, the spool is replayed into it.
it_redis SHUTDOWN NOSAVE >/dev/null 2>&1 || true
it_wait_for 10 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
seq_writer -n "$N" -r "$RATE" -R "${RUN}c"
it_wait_for 20 "the spool started" it_log_has collector "event=spool_start .*reason=redis_unreachable"
seq_writer_wait
it_wait_for 30 "agent drained while Redis is down" seq_agent_drained
# Spool records carry the script's text: any collector version replays them.
grep -q -a 'local r = {}' "$IT_WORK/collector.spool/sink.journal" ||
	it_fail "C: the spool's records do not carry the script's text"
mv "$IT_WORK/logs/redis.log" "$IT_WORK/logs/redis-1.log"
it_start_redis
it_wait_for 60 "spool replayed" it_log_has collector "event=spool_replayed"
seq_verify "${RUN}c" "$N" 30
it_redis_raw XRANGE minisoc:alerts - + | grep -o "MSEQ ${RUN}c [0-9]*" | awk '
	{ if (NR > 1 && $3 <= prev) { print "out of order: " prev " then " $3; bad = 1 } prev = $3 }
	END { exit bad }' || it_fail "C: alerts not in the order raised"
evalsha_only C

# D) Redis takes connections and SCRIPT LOAD but refuses writes (OOM): the
#    collector retries on its growing backoff (100 ms doubling to 5 s), not
#    every 100 ms, and nothing is lost once Redis takes writes again.
it_redis CONFIG SET maxmemory-policy noeviction >/dev/null
it_redis CONFIG SET maxmemory 1 >/dev/null
conns_before=$(grep -c 'event=redis_connected' "$IT_WORK/logs/collector.log")
seq_writer -n 20 -r 100 -R "${RUN}d"
seq_writer_wait
it_wait_for 20 "the collector to meet the refusal" it_log_has collector "event=redis_error .*OOM"
sleep_until=$(($(date +%s) + 8))
# (a fixed span on purpose: what is counted is how often it retries in it)
while (($(date +%s) < sleep_until)); do sleep 0.5; done
conns=$(($(grep -c 'event=redis_connected' "$IT_WORK/logs/collector.log") - conns_before))
((conns <= 12)) || it_fail "D: $conns connections in 8 s to a Redis refusing writes (no backoff)"
it_redis CONFIG SET maxmemory 0 >/dev/null
seq_verify "${RUN}d" 20 30
it_log "D: $conns connections in 8 s while Redis refused writes, then every line once"
it_stop agent
it_stop collector
it_log "PASS"
