#!/usr/bin/env bash
# Redis stopped for 30 s while 1,000 alerts are raised: the collector keeps
# them in its spool on disk (fsynced) and acknowledges the agent from there,
# survives a SIGKILL and restart in the middle of the outage (the handled
# numbers come back from the spool, so the agent's resend raises nothing
# twice, and its hello is answered without Redis), and when Redis is back
# every alert arrives, in the order raised, none twice; the spool is then
# emptied.
# Then Redis is frozen (SIGSTOP: connected, answering nothing): once
# redis.max_pending operations wait, the collector spools from there on
# (the operation already sent included), acknowledges the agent from the
# spool, and replays after SIGCONT: again every alert once, in order.
#
# Length: ALERT_SPOOL_LINES (1000) lines, one alert each, written at
# ALERT_SPOOL_RATE (400) lines/s; the outage lasts ALERT_SPOOL_OUTAGE_S (30)
# seconds from the moment Redis stops. The replay's duration is logged.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_alert_spool.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=${ALERT_SPOOL_LINES:-1000}
OUTAGE_S=${ALERT_SPOOL_OUTAGE_S:-30}
RATE=${ALERT_SPOOL_RATE:-400}
RUN=as$$
JOURNAL=$IT_WORK/collector.spool/sink.journal

seq_setup "$IT_WORK/app/app.log"
sed -i "s/^  port: $IT_REDIS_PORT\$/&\n  max_pending: 16/" "$IT_WORK/collector.yml"
grep -q 'max_pending: 16' "$IT_WORK/collector.yml" || it_fail "max_pending not set"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

it_redis SHUTDOWN NOSAVE >/dev/null 2>&1 || true
STOPPED=$(date +%s%N)
it_wait_for 10 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
it_log "Redis stopped; writing $N lines"
seq_writer -n "$N" -r "$RATE" -R "$RUN"
it_wait_for 30 "half of the lines written" seq_written_ge $((N / 2))
it_wait_for 10 "the spool started" it_log_has collector "event=spool_start .*reason=redis_unreachable"
# A crash in the middle of the outage, and a restart while Redis is still down.
seq_kill9 collector
it_log "collector killed at line $(seq_written), spool $(stat -c %s "$JOURNAL") bytes"
seq_start_collector
it_wait_for 10 "spool recovered" it_log_has collector "event=spool_recovered"
it_wait_for 10 "hello answered without Redis" it_log_has collector "event=hello .*agent=web1"
seq_writer_wait
# Everything is acknowledged while Redis is still down: it is on the collector's disk.
it_wait_for 30 "agent drained while Redis is down" seq_agent_drained
redis-cli -p "$IT_REDIS_PORT" PING >/dev/null 2>&1 && it_fail "Redis came back by itself"
[[ -s $JOURNAL ]] || it_fail "the spool is empty while Redis is down"
it_log "all acknowledged from the spool ($(stat -c %s "$JOURNAL") bytes)"

# The rest of the outage: its length is the scenario, not a wait for something.
while (($(date +%s%N) - STOPPED < OUTAGE_S * 1000000000)); do
	sleep 0.2
done
mv "$IT_WORK/logs/redis.log" "$IT_WORK/logs/redis-1.log"
it_start_redis
BACK=$(date +%s%N)
it_log "Redis back after $(((BACK - STOPPED) / 1000000)) ms"
it_wait_for 120 "spool replayed" it_log_has collector "event=spool_replayed"
it_log "spool replayed in $((($(date +%s%N) - BACK) / 1000000)) ms"
seq_verify "$RUN" "$N" 60
[[ $(stat -c %s "$JOURNAL") == 0 ]] || it_fail "spool not emptied after the replay"
# In the order raised: the marker numbers rise along the stream.
in_order() {
	it_redis_raw XRANGE minisoc:alerts - + | grep -o "MSEQ $1 [0-9]*" | awk '
		{ if (NR > 1 && $3 <= prev) { print "out of order: " prev " then " $3; bad = 1 } prev = $3 }
		END { exit bad }'
}
in_order "$RUN" || it_fail "alerts not in the order raised"
[[ $(it_redis_raw XLEN minisoc:alerts) == "$N" ]] || it_fail "stream holds $(it_redis_raw XLEN minisoc:alerts), not $N"

# Redis frozen: connected, but nothing comes back.
RUN2=${RUN}b
N2=300
REDIS_PID=$(it_redis_raw INFO server | tr -d '\r' | sed -n 's/^process_id://p')
kill -STOP "$REDIS_PID"
# A failure meanwhile must not leave the cleanup waiting on a frozen Redis.
trap 'kill -CONT "$REDIS_PID" 2>/dev/null; it_cleanup' EXIT
seq_writer -n "$N2" -r 1000 -R "$RUN2"
it_wait_for 20 "the spool to start behind a frozen Redis" \
	it_log_has collector "event=spool_start .*reason=redis_behind"
seq_writer_wait
it_wait_for 30 "agent drained while Redis is frozen" seq_agent_drained
kill -CONT "$REDIS_PID"
trap it_cleanup EXIT
seq_verify "$RUN2" "$N2" 60
replays() { (($(grep -c 'event=spool_replayed' "$IT_WORK/logs/collector.log") >= 2)); }
it_wait_for 10 "second spool replayed" replays
in_order "$RUN2" || it_fail "alerts not in the order raised after the freeze"
[[ $(stat -c %s "$JOURNAL") == 0 ]] || it_fail "spool not emptied after the second replay"
it_stop agent
it_stop collector
it_log "PASS"
