#!/usr/bin/env bash
# The register of information systems in the collector (register.path),
# with the real binaries, a real redis-server and certificates made now:
# an agent that is an asset of SYS-001 (level 3) raises an alert carrying
# "system":{"id":"SYS-001","level":3}; an agent not in the register is
# logged and counted as unassigned, its alerts say so and its hash in
# Redis has system=unassigned; the categories the compliance checks read
# (login, config_change, error) land in minisoc:agent:<id>:seen; SIGHUP
# with a broken register keeps the old one (each problem logged as
# file:line), with a fixed one moves the agent to its new system.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_register.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1 stray
it_start_redis
REG=$IT_WORK/register.yml
write_register() { # SYSTEM_ID LEVEL
	cat >"$REG" <<YML
province: "Tỉnh thử nghiệm"
systems:
  - id: $1
    name: "Cổng thông tin điện tử tỉnh"
    type: citizen-facing
    owner: "Văn phòng UBND tỉnh"
    operator: "Trung tâm dữ liệu"
    framework: new
    level: $2
    dossier: approved
    decision: {number: "1/QĐ-UBND", date: 2025-01-02}
    assets:
      - {host: web1, agent: web1}
YML
}
write_register SYS-001 3
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
printf 'register:\n  path: %s\ndetect:\n  ssh_bruteforce:\n    threshold: 3\n' "$REG" >>"$IT_WORK/collector.yml"
"$IT_COLLECTOR" -c "$IT_WORK/collector.yml" -t >"$IT_WORK/logs/check.log" 2>&1 ||
	it_fail "collector -t refused the register: $(cat "$IT_WORK/logs/check.log")"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_log_has collector "event=register_loaded .*systems=1" || it_fail "register not loaded"

for a in web1 stray; do
	: >"$IT_WORK/$a.log"
	it_agent_conf "$IT_WORK/$a.yml" "$IT_WORK/pki" "$a" "$CPORT" "$IT_WORK/state-$a" end "$IT_WORK/$a.log"
	it_start "agent_$a" "$IT_AGENT" -c "$IT_WORK/$a.yml"
	it_wait_for 10 "hello of $a" it_log_has collector "event=hello .*agent=$a"
done
it_log_has collector "event=agent_unassigned agent=stray" || it_fail "stray not logged as unassigned"
it_log_has collector "event=agent_unassigned agent=web1" && it_fail "web1 called unassigned"
hash_is() { [[ $(it_redis_raw HGET "minisoc:agent:$1" "$2") == "$3" ]]; }
it_wait_for 10 "stray marked unassigned" hash_is stray system unassigned
it_wait_for 10 "web1 marked SYS-001" hash_is web1 system SYS-001
hash_is web1 level 3 || it_fail "web1 level $(it_redis_raw HGET minisoc:agent:web1 level)"

# Three failed logins on each (brute force at threshold 3), a sudo line and an error.
burst() { # AGENT IP
	local lines=() i
	for i in 1 2 3; do
		lines+=("$(it_syslog_now) $1 sshd[10$i]: Failed password for root from $2 port 4000$i ssh2")
	done
	lines+=("$(it_syslog_now) $1 sudo:    admin : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx")
	lines+=("$(it_syslog_now) $1 nginx[7]: 2026/11/25 10:00:00 [error] 7#7: upstream timed out")
	printf '%s\n' "${lines[@]}" >>"$IT_WORK/$1.log"
}
burst web1 203.0.113.5
burst stray 198.51.100.9
alerts_of() { it_redis_raw XRANGE minisoc:alerts - + | grep '^{' | grep "\"agent\":{\"id\":\"$1\"" || true; }
has_alert() { [[ -n $(alerts_of "$1") ]]; }
it_wait_for 10 "an alert from web1" has_alert web1
it_wait_for 10 "an alert from stray" has_alert stray
A=$(alerts_of web1 | sed -n 1p)
grep -q '"system":{"id":"SYS-001","level":3}' <<<"$A" || it_fail "web1's alert lacks its system: $A"
A=$(alerts_of stray | sed -n 1p)
grep -q '"system":{"id":"unassigned"}' <<<"$A" || it_fail "stray's alert is not unassigned: $A"

# What the events_seen check reads.
for cat in login config_change error; do
	it_wait_for 10 "web1 $cat seen" bash -c "[[ -n \$(redis-cli -p $IT_REDIS_PORT HGET minisoc:agent:web1:seen $cat) ]]"
done

# A broken register is refused with file:line, the old one stays.
cp "$REG" "$REG.good"
printf '  - id: SYS-001\n    level: 9\n' >>"$REG"
kill -HUP "$IT_PID_collector"
it_wait_for 10 "register error logged" it_log_has collector "event=register_error reason=\"$REG:[0-9]+: "
it_log_has collector "event=reload_failed what=register" || it_fail "no reload_failed"
# A fixed one moves web1 to SYS-002 at level 2.
write_register SYS-002 2
kill -HUP "$IT_PID_collector"
it_wait_for 10 "web1 moved to SYS-002" hash_is web1 system SYS-002
: >"$IT_WORK/marker"
burst web1 203.0.113.77
has_new() { alerts_of web1 | it_has '"source":{"ip":"203.0.113.77"}' ; }
it_wait_for 10 "the second alert from web1" has_new
A=$(alerts_of web1 | grep '203.0.113.77' | sed -n 1p)
grep -q '"system":{"id":"SYS-002","level":2}' <<<"$A" || it_fail "after reload: $A"
it_wait_for 15 "agents_unassigned metric" bash -c "[[ \$(redis-cli -p $IT_REDIS_PORT HGET minisoc:collector:stats agents_unassigned) -ge 1 ]]"

it_stop agent_web1
it_stop agent_stray
it_stop collector
it_log "PASS"
