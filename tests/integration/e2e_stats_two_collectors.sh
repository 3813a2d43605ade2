#!/usr/bin/env bash
# Two collectors share one Redis (failover, docs/architecture.md): each
# publishes its counters every 10 s. The primary handles 40 lines of web1,
# the standby nothing. minisocctl status must show the primary's
# events_in 40 at every moment – before, both wrote the one hash
# minisoc:collector:stats and the standby's zeros replaced the primary's
# numbers for most of each 10 s.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_stats_two_collectors.sh BUILD_DIR}"

W=$IT_WORK
it_pki "$W/pki" web1
it_pki_second "$W/pki" "$W/pki2"
it_start_redis
PPORT=$(it_free_port)
SPORT=$(it_free_port)
it_collector_conf "$W/collector-p.yml" "$W/pki" "$PPORT"
it_collector_conf "$W/collector-s.yml" "$W/pki2" "$SPORT"
it_start primary "$IT_COLLECTOR" -c "$W/collector-p.yml"
it_wait_for 10 "primary listening" it_log_has primary "event=listening"
AUTH=$W/auth.log
: >"$AUTH"
it_agent_conf "$W/agent.yml" "$W/pki" web1 "$PPORT" "$W/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$W/agent.yml"
it_wait_for 10 "agent hello" it_log_has primary "event=hello .*agent=web1"
for i in $(seq 1 40); do echo "$(it_syslog_now) web1 app[1]: line $i"; done >>"$AUTH"
it_wait_for 15 "the primary publishes events_in 40" bash -c "[[ \$(redis-cli -p $IT_REDIS_PORT HGET minisoc:collector:stats events_in) == 40 ]]"
it_start standby "$IT_COLLECTOR" -c "$W/collector-s.yml"
it_wait_for 10 "standby listening" it_log_has standby "event=listening"

# Samples over more than one 10-s period of both.
seen=0 bad=0
for i in $(seq 1 26); do
	out=$("$IT_CLI" status -r "127.0.0.1:$IT_REDIS_PORT")
	if grep -qE '^  events_in +40$' <<<"$out"; then
		seen=$((seen + 1))
	elif ((seen > 0)); then
		bad=$((bad + 1))
		((bad == 1)) && { it_log "a sample without the primary's events_in 40:"; sed -n '1,12p' <<<"$out"; }
	fi
	sleep 0.5
done
it_log "samples with the primary's events_in 40: $seen, without it after: $bad"
((seen > 0)) || it_fail "minisocctl status never showed the primary's events_in 40"
((bad == 0)) || it_fail "minisocctl status lost the primary's counters in $bad samples (the standby's replaced them)"
# Each collector is named in its section.
out=$("$IT_CLI" status -r "127.0.0.1:$IT_REDIS_PORT")
grep -q "^collector .*:$PPORT\$" <<<"$out" || it_fail "no section for the primary: $out"
grep -q "^collector .*:$SPORT\$" <<<"$out" || it_fail "no section for the standby: $out"
it_stop agent
it_stop standby
it_stop primary
it_log "PASS"
