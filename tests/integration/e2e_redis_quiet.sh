#!/usr/bin/env bash
# Quiet replies (redis.reply_wait_us), with a real redis-server: while
# calls are in flight the collector does not watch its Redis connection;
# the replies are read when agent data wakes it, or when the wait ends.
# Here the wait is the longest allowed (100 ms), so each path is the one
# taken:
#  A) a lone line and then silence: its alert is written to Redis at once,
#     and the agent is acknowledged all the same (the wait ends, the reply
#     is read) – and only once the alert is stored;
#  B) a steady stream: every line once, the agent acknowledged, the
#     connection never dropped (the replies read on the agents' wake-ups);
#  C) the connection dropped while replies wait: noticed, everything in
#     flight sent again: every line once;
#  D) a stop while a reply waits: the collector reads it and exits cleanly,
#     with nothing pending.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_quiet.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

RUN=rq$$
seq_setup "$IT_WORK/app/app.log"
sed -i 's/^redis:$/redis:\n  reply_wait_us: 100000/' "$IT_WORK/collector.yml"
grep -q 'reply_wait_us: 100000' "$IT_WORK/collector.yml" || it_fail "no redis: section to set reply_wait_us in"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

# A) one line, then nothing: only the end of the wait reads the reply.
seq_writer -n 1 -r 10 -R "${RUN}a"
seq_writer_wait
# (well before the agent's first heartbeat, 15 s, which would wake the collector)
it_wait_for 8 "the agent to be acknowledged with no further traffic" seq_agent_drained
# Acknowledged means stored: the alert is there now, without waiting.
python3 "$SEQ_CHECK" "$IT_REDIS_PORT" "${RUN}a" 1 >/dev/null ||
	it_fail "A: the agent was acknowledged before its alert was in Redis"
it_log "A: a lone line stored and acknowledged"

# B) a steady stream: replies read when the agent's data wakes the collector.
seq_writer -n 2000 -r 1000 -R "${RUN}b"
seq_writer_wait
seq_verify "${RUN}b" 2000 30
! it_log_has collector "event=redis_disconnected" || it_fail "B: the Redis connection was dropped"
it_log "B: 2000 lines at 1000/s, every line once"

# C) the connection dropped (CLIENT KILL) while replies wait, three times:
#    the next read (a wake-up or the end of the wait) finds it closed, the
#    calls in flight are sent again on the new connection: every line once.
seq_writer -n 1500 -r 500 -R "${RUN}c"
for k in 1 2 3; do
	it_wait_for 20 "more of C stored ($k)" seq_alerts_grew $((2001 + 300 * k))
	it_redis CLIENT KILL TYPE normal >/dev/null
	it_wait_for 10 "collector to notice the drop ($k)" bash -c \
		"(( \$(grep -c 'event=redis_connected' '$IT_WORK/logs/collector.log') > $k ))"
done
seq_writer_wait
seq_verify "${RUN}c" 1500 30
it_log "C: the connection dropped three times under quiet replies: every line once"

# D) a stop while a reply waits: read at the end of the wait, a clean exit.
seq_writer -n 1 -r 10 -R "${RUN}d"
seq_writer_wait
it_wait_for 20 "D's alert stored" bash -c \
	"redis-cli --raw -p $IT_REDIS_PORT XRANGE minisoc:alerts - + | grep -q 'MSEQ ${RUN}d 0 '"
it_stop collector
it_log_has collector "event=shutdown .*redis_pending=" || it_fail "D: no shutdown line"
! it_log_has collector "event=shutdown_timeout" || it_fail "D: the stop timed out waiting for Redis"
it_log_has collector "event=stop" || it_fail "D: the collector did not finish stopping"
it_stop agent
it_log "PASS"
