#!/usr/bin/env bash
# A Redis that refuses SCRIPT LOAD (the command renamed away, as hardened
# setups do; an ACL without it answers the same way): the collector sends
# its batches by EVAL with the script's text instead of EVALSHA, says so
# once (event=redis_script_load_refused), and nothing is lost:
#  A) lines flow, every one once; Redis ran EVAL only;
#  B) Redis restarted (the same setup) while lines are written: the spool
#     (records with EVAL) is replayed, every line once, in order.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_redis_noscript.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=300
RUN=ns$$
IT_REDIS_EXTRA=(--rename-command SCRIPT "")

seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
cmdstat() {
	it_redis_raw INFO commandstats | tr -d '\r' |
		sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}

# A) SCRIPT LOAD refused: EVAL.
seq_writer -n "$N" -r 500 -R "${RUN}a"
seq_writer_wait
seq_verify "${RUN}a" "$N" 30
it_log_has collector "event=redis_script_load_refused" || it_fail "A: the refusal was not logged"
(($(cmdstat eval) > 0)) || it_fail "A: Redis ran no EVAL"
(($(cmdstat evalsha) == 0)) || it_fail "A: Redis ran EVALSHA"
it_log "A: $(cmdstat eval) EVAL calls for $N lines"

# B) Redis restarted while lines are written: the spool holds EVAL records.
it_redis SHUTDOWN NOSAVE >/dev/null 2>&1 || true
it_wait_for 10 "collector to notice Redis is gone" it_log_has collector "event=redis_disconnected"
seq_writer -n "$N" -r 500 -R "${RUN}b"
it_wait_for 20 "the spool started" it_log_has collector "event=spool_start .*reason=redis_unreachable"
seq_writer_wait
it_wait_for 30 "agent drained while Redis is down" seq_agent_drained
mv "$IT_WORK/logs/redis.log" "$IT_WORK/logs/redis-1.log"
it_start_redis
it_wait_for 60 "spool replayed" it_log_has collector "event=spool_replayed"
seq_verify "${RUN}b" "$N" 30
it_redis_raw XRANGE minisoc:alerts - + | grep -o "MSEQ ${RUN}b [0-9]*" | awk '
	{ if (NR > 1 && $3 <= prev) { print "out of order: " prev " then " $3; bad = 1 } prev = $3 }
	END { exit bad }' || it_fail "B: alerts not in the order raised"
(($(cmdstat evalsha) == 0)) || it_fail "B: Redis ran EVALSHA"
it_log "B: spool of EVAL records replayed, every line once"
it_stop agent
it_stop collector
it_log "PASS"
