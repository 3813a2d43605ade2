#!/usr/bin/env bash
# Sigma rules in the real collector: a detection rule and a correlation
# raise alerts from lines an agent ships; SIGHUP swaps in a new rule folder;
# a folder with a broken rule is refused on reload and the old rules keep
# running; a Sigma filter added on reload silences a source for the rule it
# names. Real TLS, real Redis, real binaries.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_rules.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
RULES=$IT_WORK/rules
mkdir -p "$RULES"
canary_rule() { # canary_rule NAME KEYWORD
	cat <<YML
title: Canary $2
id: 00000000-0000-4000-8000-$(printf '%012d' $RANDOM)
name: $1
status: test
logsource:
  product: linux
detection:
  keywords:
    - '$2'
  condition: keywords
level: medium
YML
}
canary_rule canary_one CANARY-ONE >"$RULES/one.yml"
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $RULES
# Every canary hit is counted as its own alert: no aggregation.
alerts:
  aggregate_window_s: 0
detect:
  ssh_bruteforce:
    enabled: false
YML
"$IT_COLLECTOR" --check -c "$IT_WORK/collector.yml" >/dev/null || it_fail "--check refused a good config"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_log_has collector "event=rules_loaded .*rules=1 .*rejected=0" || it_fail "rules not loaded"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

alerts_of() { it_redis_raw XRANGE minisoc:alerts - + | grep -c "\"name\":\"$1\"" || true; }
has_alerts() { (($(alerts_of "$1") >= $2)); }
line() { echo "$(it_syslog_now) web1 app[7]: $*" >>"$AUTH"; }

line "hello CANARY-ONE"
it_wait_for 5 "alert from canary_one" has_alerts canary_one 1
it_log "detection rule: alert"

# Reload: canary_one goes, canary_two and a brute-force correlation come.
rm "$RULES/one.yml"
canary_rule canary_two CANARY-TWO >"$RULES/two.yml"
cat >"$RULES/bf.yml" <<'YML'
title: test failure
id: 00000000-0000-4000-8000-0000000000b1
name: test_ssh_failure
status: test
logsource:
  product: linux
  service: sshd
detection:
  sel:
    outcome: failure
  condition: sel
level: low
---
title: test brute force
id: 00000000-0000-4000-8000-0000000000b2
name: test_ssh_bruteforce
status: test
correlation:
  type: event_count
  rules: [test_ssh_failure]
  group-by: [src_ip]
  timespan: 2m
  condition:
    gte: 8
level: high
YML
kill -HUP "$IT_PID_collector"
it_wait_for 5 "reload" it_log_has collector "event=reload result=ok"
line "again CANARY-ONE"
line "now CANARY-TWO"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[5$i]: Failed password for root from 192.0.2.7 port 3$i ssh2" >>"$AUTH"
done
it_wait_for 5 "alert from canary_two" has_alerts canary_two 1
it_wait_for 5 "alert from the correlation" has_alerts test_ssh_bruteforce 1
it_redis_raw XRANGE minisoc:alerts - + | grep '"name":"test_ssh_bruteforce"' | it_has '"source":{"ip":"192.0.2.7"}' ||
	it_fail "correlation alert lacks its source"
((($(alerts_of test_ssh_failure)) == 0)) || it_fail "the quiet base rule raised alerts"

# A Sigma filter (a document of its own, beside the rules) added on reload:
# failures from the scanner 192.0.2.7 are no longer counted by the rule it
# names, so no brute force from it; another source still raises one.
cat >"$RULES/mf_scanner.yml" <<'YML'
title: Our vulnerability scanner
logsource:
  product: linux
  service: sshd
filter:
  rules: [test_ssh_failure]
  scanner:
    src_ip: 192.0.2.7
  condition: not scanner
YML
kill -HUP "$IT_PID_collector"
it_wait_for 5 "reload with the filter" it_log_has collector "event=rules_loaded .*rejected=0 filters=1"
for ip in 192.0.2.7 192.0.2.8; do
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[6$i]: Failed password for root from $ip port 4$i ssh2" >>"$AUTH"
	done
done
bf_from() { it_redis_raw XRANGE minisoc:alerts - + | grep '"name":"test_ssh_bruteforce"' |
	grep -c "\"source\":{\"ip\":\"$1\"}" || true; }
has_bf_from() { (($(bf_from "$1") >= 1)); }
it_wait_for 5 "brute force from the other source" has_bf_from 192.0.2.8
(($(bf_from 192.0.2.7) == 1)) || it_fail "the filtered scanner raised a brute force again"

# A broken folder is refused; the rules running stay.
printf 'title: broken\nlogsource: {product: linux}\ndetection:\n  sel: {a|nosuchmodifier: x}\n  condition: sel\n' >"$RULES/broken.yml"
kill -HUP "$IT_PID_collector"
it_wait_for 5 "refused reload" it_log_has collector "event=reload_failed"
it_log_has collector 'event=rule_rejected reason=".*broken.yml:4' || it_fail "reject not explained"
line "still CANARY-TWO"
it_wait_for 5 "old rules still running" has_alerts canary_two 2
"$IT_COLLECTOR" --check -c "$IT_WORK/collector.yml" >/dev/null 2>&1 && it_fail "--check accepted a broken rule folder"

# Everything the agent sent was handled; only the expected alerts exist.
((($(alerts_of canary_one)) == 1)) || it_fail "canary_one fired after it was removed"
it_stop agent
it_stop collector
it_log "PASS"
