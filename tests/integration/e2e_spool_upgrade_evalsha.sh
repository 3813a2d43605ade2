#!/usr/bin/env bash
# A collector upgraded over its spool (spool.dir/sink.journal) as a
# collector of 26 Nov 2026 (01:37-03:05, group commit before 743d2fe) left
# it while Redis was away: MSJ1 records whose batches are EVALSHA of that
# version's script, by its SHA alone. Redis restarted meanwhile (or any
# Redis the script was never loaded into) no longer knows that SHA, and
# the current collector loads its own, newer script: the records met
# NOSCRIPT at every try, the replay never ended, and nothing after them
# reached Redis. They must be replayed, every line once.
# tests/data/sink-journal-msj1-evalsha.bin was written by that collector
# (f37d261): 20 lines of run upg26 of agent web1, one batch each.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_spool_upgrade_evalsha.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

seq_setup "$IT_WORK/app/app.log"
mkdir -p "$IT_WORK/collector.spool"
cp "$IT_ROOT/tests/data/sink-journal-msj1-evalsha.bin" "$IT_WORK/collector.spool/sink.journal"
seq_start_collector
it_wait_for 30 "the old spool replayed" it_log_has collector "event=spool_replayed"
SEQ_RESULT=$(python3 "$SEQ_CHECK" "$IT_REDIS_PORT" upg26 20) || {
	echo "$SEQ_RESULT"
	it_fail "the old spool's lines missing or doubled"
}
echo "$SEQ_RESULT"
! it_log_has collector "NOSCRIPT" || it_fail "a record was sent by a SHA Redis does not know"
[[ $(it_redis_raw HGET minisoc:agents:seq web1) == 1795968636928052 ]] ||
	it_fail "web1's handled number is not the last record's: $(it_redis_raw HGET minisoc:agents:seq web1)"
it_stop collector
it_log "PASS"
