#!/usr/bin/env bash
# Files change under the agent the way real systems change them, and no
# line is lost:
#  1) logrotate's rename-and-create while the old file ends in an unfinished
#     line (shipped after a grace period; the new file is followed);
#  2) copytruncate;
#  3) rotation while the agent is stopped: the rest of the old file is read
#     from the rotated copy, then the new file from its start;
#  4) the agent's state folder wiped (reinstall): numbering continues above
#     what the collector handled instead of being taken for duplicates;
#  5) a config with relative paths, started from its own folder, restarts;
#  6) rotated, the new file created only later;
#  7) the agent killed while the rotated file is still read.
# Each step appends a brute force from its own IP: exactly one alert each.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_rotation.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# The agent runs from its own folder with relative paths (step 5).
mkdir -p "$IT_WORK/agent"
AUTH=$IT_WORK/agent/auth.log
: >"$AUTH"
cat >"$IT_WORK/agent/agent.yml" <<YML
agent:
  state_dir: state
  poll_ms: 100
  # rotated files are read on for a minute (step 7 needs one still read)
  rotate_wait_ms: 60000
collector:
  host: 127.0.0.1
  port: $CPORT
  server_name: collector.minisoc.local
tls:
  ca: ../pki/ca.crt
  cert: ../pki/agent-web1.crt
  key: ../pki/agent-web1.key
uplink:
  backoff_min_ms: 50
  backoff_max_ms: 500
files:
  - auth.log
YML
start_agent() {
	(cd "$IT_WORK/agent" && exec "$IT_AGENT" -c agent.yml) >"$IT_WORK/logs/agent.log" 2>&1 &
	IT_PIDS+=($!)
	IT_PID_agent=$!
	it_wait_for 10 "agent connected" it_log_has agent "event=connected"
}
burst() { # burst IP [FILE]
	local i
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[6$i]: Failed password for root from $1 port 2$i$i ssh2"
	done >>"${2:-$AUTH}"
}
alerts_for() { it_redis_raw XRANGE minisoc:alerts - + | grep -c "\"source\":{\"ip\":\"$1\"}" || true; }
has_alert() { (($(alerts_for "$1") >= 1)); }
restart_agent_log() { mv "$IT_WORK/logs/agent.log" "$IT_WORK/logs/agent-$1.log"; }

start_agent

# 1) rename-and-create, old file ending in an unfinished line
printf '%s web1 sshd[1]: an unfinished line' "$(it_syslog_now)" >>"$AUTH"
mv "$AUTH" "$AUTH.1"
: >"$AUTH"
burst 198.51.100.1
it_wait_for 10 "alert 1 after rename-and-create" has_alert 198.51.100.1
it_log_has agent "event=line_unterminated" || it_fail "unfinished line not shipped"
it_log "1: rename-and-create with an unfinished last line"

# 2) copytruncate. The agent must see the truncation before the file grows
# past its old size again (a file rewritten to the same size in between is
# indistinguishable by size alone: see docs/architecture.md).
cp "$AUTH" "$AUTH.2"
: >"$AUTH"
it_wait_for 5 "agent to notice the truncation" it_log_has agent "event=file_truncated"
burst 198.51.100.2
it_wait_for 10 "alert 2 after copytruncate" has_alert 198.51.100.2
it_log "2: copytruncate"

# 3) rotation while the agent is stopped
it_stop agent
restart_agent_log 3
burst 198.51.100.3          # written to the old file after the agent stopped
mv "$AUTH" "$AUTH.3"
: >"$AUTH"
burst 198.51.100.33         # and to the new one
start_agent                 # step 5: relative paths, second start
it_wait_for 10 "alert 3 from the rotated copy" has_alert 198.51.100.3
it_wait_for 10 "alert 3b from the new file" has_alert 198.51.100.33
it_log_has agent "event=file_resume_rotated" || it_fail "agent did not resume in the rotated copy"
it_log "3: rotation while stopped; 5: relative paths restart"

# 4) state folder wiped: the collector has handled numbers of the old life;
# the new one numbers from the clock, above them, so its lines are not
# taken for handled (and nothing needs renumbering).
it_stop agent
# what the collector has handled from the old life (Redis keeps it per agent)
handled=$(it_redis_raw HGET minisoc:agents:seq web1)
[[ $handled =~ ^[0-9]+$ ]] || it_fail "no handled number in Redis: $handled"
restart_agent_log 4
rm -rf "$IT_WORK/agent/state"
# A reinstall comes later than the old life's last numbers on the clock
# (restarts run them a reserved block, up to a second, ahead of it).
clock_past() { (($(date +%s%6N) > $1)); }
it_wait_for 10 "the clock past the old life's numbers" clock_past "$handled"
start_agent
burst 198.51.100.4
it_wait_for 10 "alert 4 after the state was wiped" has_alert 198.51.100.4
first=$(grep -o 'event=start .* first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | tail -n1 | sed 's/.*first_seq=//')
[[ -n $first && -n $handled ]] && ((first > handled)) ||
	it_fail "new life's first_seq $first not above the collector's handled $handled"
it_log "4: state wiped, numbering above the collector's"

# 6) rotated, and the new file appears only later: once the old file's
# lines are acknowledged, the saved position is the new file's.
kill -STOP "$IT_PID_agent"
burst 198.51.100.6
mv "$AUTH" "$AUTH.6"
kill -CONT "$IT_PID_agent"
it_wait_for 10 "alert 6 from the rotated file" has_alert 198.51.100.6
: >"$AUTH"
burst 198.51.100.66
it_wait_for 10 "alert 6b from the late new file" has_alert 198.51.100.66
it_stop agent
restart_agent_log 6
saved=$(cd "$IT_WORK/agent" && "$IT_AGENT" state -c agent.yml) || it_fail "minisoc-agent state failed"
# the followed file's position comes first (then any rotated file still read)
saved=$(awk '$1 == "pos" { print $3; exit }' <<<"$saved")
[[ $saved == "$(stat -c %i "$AUTH")" ]] || it_fail "saved position is not the new file's (inode $saved)"
it_log "6: late new file after rotation"
start_agent

# 7) killed (SIGKILL) while a rotated file is still read (its daemon
# appends until its postrotate reload): at restart the rotated file is
# found by its saved position and read on, so what was written to it
# after the kill arrives.
burst 198.51.100.7
mv "$AUTH" "$AUTH.7"
: >"$AUTH"
it_wait_for 10 "alert 7 before the kill" has_alert 198.51.100.7
ino7=$(stat -c %i "$AUTH.7")
drain_saved() {
	local s
	s=$(cd "$IT_WORK/agent" && "$IT_AGENT" state -c agent.yml) || return 1
	awk -v i="$ino7" '$1 == "pos" && $3 == i' <<<"$s" | it_has . &&
		awk -v i="$(stat -c %i "$AUTH")" '$1 == "pos" && $3 == i' <<<"$s" | it_has .
}
it_wait_for 10 "both files' positions saved" drain_saved
kill -KILL "$IT_PID_agent"
wait "$IT_PID_agent" 2>/dev/null || true
restart_agent_log 7
burst 198.51.100.77 "$AUTH.7"
start_agent
it_wait_for 10 "alert 7b from the rotated file written after the kill" has_alert 198.51.100.77
it_log_has agent "event=file_drain_resumed .*rotated_to=[^ ]*auth.log.7 " ||
	it_fail "agent did not read on in the rotated file"
it_log "7: killed while a rotated file was read"

for ip in 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.33 198.51.100.4 198.51.100.6 198.51.100.66 198.51.100.7 198.51.100.77; do
	n=$(alerts_for $ip)
	[[ $n == 1 ]] || it_fail "expected 1 alert for $ip, found $n"
done
it_stop agent
it_stop collector
it_log "PASS"
