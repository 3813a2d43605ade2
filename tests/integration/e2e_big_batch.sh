#!/usr/bin/env bash
# One agent batch whose alerts do not fit in one Redis script (the sink
# caps a batch's script at 32 MiB): 1,024 lines of 480 bytes, each matched
# by 64 rules, are 65,536 alerts of about 1.3 KiB in a single batch. The
# alerts past the cap go to Redis as operations of their own, queued before
# the batch's checkpoint (counter alerts_unbatched): every alert arrives,
# none is dropped while its batch is acknowledged.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_big_batch.sh BUILD_DIR}"

RULES=64
LINES=1024
it_pki "$IT_WORK/pki" web1
it_start_redis
mkdir -p "$IT_WORK/rules"
for i in $(seq 1 "$RULES"); do
	cat >"$IT_WORK/rules/big_$i.yml" <<YML
title: Big batch marker $i
id: 5f1c2a7e-0000-4000-8000-$(printf '%012d' "$i")
name: big_batch_$i
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'BIGBATCH'
  condition: keywords
level: low
YML
done
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
sed -i 's/log_level: debug/log_level: info/' "$IT_WORK/collector.yml"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $IT_WORK/rules
alerts:
  aggregate_window_s: 0
detect:
  ssh_bruteforce:
    enabled: false
YML
# The lines are there before the agent starts: its first batch takes all of them.
pad=$(head -c 400 /dev/zero | tr '\0' 'x')
for i in $(seq 0 $((LINES - 1))); do
	echo "$(it_syslog_now) web1 app[1]: BIGBATCH $i $pad"
done >"$IT_WORK/app.log"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" beginning \
	"$IT_WORK/app.log"
sed -i 's/log_level: debug/log_level: info/' "$IT_WORK/agent.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
want=$((LINES * RULES))
all_in() { (($(it_redis_raw XLEN minisoc:alerts) >= want)); }
it_wait_for 120 "all $want alerts in Redis" all_in
kill -USR1 "$IT_PID_collector"
it_wait_for 10 "collector counters" it_log_has collector "event=stats why=sigusr1"
stats=$(grep 'event=stats why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1)
unbatched=0
[[ $stats =~ \ alerts_unbatched=([0-9]+) ]] && unbatched=${BASH_REMATCH[1]}
((unbatched > 0)) || it_fail "no alert went apart from its batch: the test did not reach the cap ($stats)"
[[ $stats =~ \ batches_in=1\  ]] || it_fail "the lines came in more than one batch ($stats)"
[[ $stats =~ \ alerts_failed=0\  ]] || it_fail "alerts failed ($stats)"
n=$(it_redis_raw XLEN minisoc:alerts)
((n == want)) || it_fail "$n alerts in Redis, want $want"
it_log "$want alerts of one batch, $unbatched of them apart from its script"
it_stop agent
it_stop collector
it_log "PASS"
