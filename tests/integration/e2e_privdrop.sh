#!/usr/bin/env bash
# Least privilege: started as root with collector.user / agent.user, both
# daemons run as that user once their port, keys and files are open, and
# still do their work (an alert reaches Redis, the agent's state is written).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_privdrop.sh BUILD_DIR}"
if (($(id -u) != 0)); then
	echo "not root: nothing to drop, skipped"
	exit 77
fi
USER_NAME=nobody
UID_WANT=$(id -u "$USER_NAME")
# The unprivileged user must be able to reach the work folder.
chmod 755 "$IT_WORK"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
sed -i "s/^collector:\$/collector:\n  user: $USER_NAME/" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector dropped root" it_log_has collector "event=privileges_dropped user=$USER_NAME"

AUTH=$IT_WORK/auth.log
: >"$AUTH"
chmod 644 "$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
sed -i "s/^agent:\$/agent:\n  user: $USER_NAME/" "$IT_WORK/agent.yml"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent dropped root" it_log_has agent "event=privileges_dropped user=$USER_NAME"
it_wait_for 10 "agent connected" it_log_has agent "event=connected"

uid_of() { awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"; }
[[ $(uid_of "$IT_PID_collector") == "$UID_WANT $UID_WANT $UID_WANT $UID_WANT" ]] ||
	it_fail "collector runs as $(uid_of "$IT_PID_collector")"
[[ $(uid_of "$IT_PID_agent") == "$UID_WANT $UID_WANT $UID_WANT $UID_WANT" ]] ||
	it_fail "agent runs as $(uid_of "$IT_PID_agent")"

for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[8$i]: Failed password for root from 192.0.2.88 port 1$i ssh2"
done >>"$AUTH"
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"192.0.2.88"}'; }
it_wait_for 5 "alert with both daemons unprivileged" has_alert
it_stop agent
it_stop collector
[[ $(stat -c %u "$IT_WORK/state/state") == "$UID_WANT" ]] || it_fail "state file not written by $USER_NAME"
saved=$("$IT_AGENT" state -c "$IT_WORK/agent.yml") || it_fail "minisoc-agent state failed"
awk '$1 == "pos" && $4 > 0 { found = 1 } END { exit !found }' <<<"$saved" ||
	it_fail "acknowledged position not saved: $saved"
# Started as root with no user to drop to: said, not silent.
it_collector_conf "$IT_WORK/root.yml" "$IT_WORK/pki" "$(it_free_port)"
it_start root "$IT_COLLECTOR" -c "$IT_WORK/root.yml"
it_wait_for 10 "the root collector listening" it_log_has root "event=listening"
it_log_has root "event=running_as_root note=\"collector.user is not set" ||
	it_fail "a collector kept root without a word"
! it_log_has collector "event=running_as_root" || it_fail "running_as_root said with a user"
it_stop root
it_log "PASS"
