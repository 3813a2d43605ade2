#!/usr/bin/env bash
# File following in the face of reality, with a glob (logs/*.log):
#  1) a file created after start is followed from its beginning;
#  2) a file removed while it still had unread lines is read to its end,
#     then dropped;
#  3) copytruncate rewritten past the old size between two polls (the
#     agent is stopped with SIGSTOP meanwhile): seen by the changed head;
#  4) a last line without newline is shipped after agent.partial_line_ms;
#  5) a 200 KiB line is cut (counted) and the next line is intact;
#  6) restart after the file was replaced (delete + create, the inode may be
#     reused) and after it was rewritten in place (same inode, other
#     content): read from the start, not from the saved offset.
# Each step ends in a brute force from its own IP: exactly one alert each.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_follow.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

LOGS=$IT_WORK/logs-followed
mkdir -p "$LOGS"
: >"$LOGS/a.log"
cat >"$IT_WORK/agent.yml" <<YML
agent:
  state_dir: $IT_WORK/state
  log_level: debug
  poll_ms: 100
  partial_line_ms: 300
collector:
  host: 127.0.0.1
  port: $CPORT
  server_name: collector.minisoc.local
tls:
  ca: $IT_WORK/pki/ca.crt
  cert: $IT_WORK/pki/agent-web1.crt
  key: $IT_WORK/pki/agent-web1.key
uplink:
  backoff_min_ms: 50
  backoff_max_ms: 500
files:
  - path: $LOGS/*.log
    start: beginning
YML
start_agent() {
	it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
	it_wait_for 10 "agent connected" it_log_has agent "event=connected"
}
failed_line() { # failed_line IP N
	echo "$(it_syslog_now) web1 sshd[6$2]: Failed password for root from $1 port 2$2$2 ssh2"
}
burst_lines() { local i; for i in $(seq 1 8); do failed_line "$1" "$i"; done; }
burst() { burst_lines "$1" >>"$2"; } # burst IP FILE
alerts_for() { it_redis_raw XRANGE minisoc:alerts - + | grep -c "\"source\":{\"ip\":\"$1\"}" || true; }
has_alert() { (($(alerts_for "$1") >= 1)); }
restart_agent_log() { mv "$IT_WORK/logs/agent.log" "$IT_WORK/logs/agent-$1.log"; }

start_agent

# 1) a file that appears after start
burst 198.51.100.1 "$LOGS/b.log"
it_wait_for 10 "alert 1 from a file created after start" has_alert 198.51.100.1
it_log_has agent "event=file_matched path=$LOGS/b.log" || it_fail "b.log not matched"
it_log "1: glob picked up a new file"

# 2) removed while lines were unread: finished, then dropped
kill -STOP "$IT_PID_agent"
burst 198.51.100.2 "$LOGS/b.log"
rm "$LOGS/b.log"
kill -CONT "$IT_PID_agent"
it_wait_for 10 "alert 2 from the removed file" has_alert 198.51.100.2
it_wait_for 10 "b.log dropped" it_log_has agent "event=file_dropped path=$LOGS/b.log"
it_log "2: removed file read to its end and dropped"

# 3) copytruncate, rewritten past the old size before the agent looks
burst 198.51.100.30 "$LOGS/a.log"
it_wait_for 10 "alert 3a" has_alert 198.51.100.30
old_size=$(stat -c %s "$LOGS/a.log")
kill -STOP "$IT_PID_agent"
cp "$LOGS/a.log" "$LOGS/a.log.1"
: >"$LOGS/a.log"
burst 198.51.100.3 "$LOGS/a.log"
echo "$(it_syslog_now) web1 app[1]: padding so that the rewritten file is larger than before" >>"$LOGS/a.log"
(($(stat -c %s "$LOGS/a.log") > old_size)) || it_fail "rewritten file not larger"
kill -CONT "$IT_PID_agent"
it_wait_for 10 "alert 3 after copytruncate to a larger size" has_alert 198.51.100.3
it_log_has agent "event=file_truncated path=$LOGS/a.log .*reason=head_changed" ||
	it_fail "rewrite not seen by the head fingerprint"
it_log "3: copytruncate to a larger size"

# 4) the last failure has no newline: shipped after partial_line_ms
for i in $(seq 1 7); do failed_line 198.51.100.4 "$i"; done >>"$LOGS/c.log"
printf '%s' "$(failed_line 198.51.100.4 8)" >>"$LOGS/c.log"
it_wait_for 10 "alert 4 from an unterminated last line" has_alert 198.51.100.4
it_log_has agent "event=line_unterminated path=$LOGS/c.log" || it_fail "no line_unterminated"
echo >>"$LOGS/c.log"
it_log "4: unterminated line shipped after the timeout"

# 5) a 200 KiB line, then a brute force
head -c 204800 /dev/zero | tr '\0' x >>"$LOGS/d.log"
echo >>"$LOGS/d.log"
burst 198.51.100.5 "$LOGS/d.log"
it_wait_for 10 "alert 5 after a 200 KiB line" has_alert 198.51.100.5
kill -USR1 "$IT_PID_agent"
it_wait_for 10 "stats with the truncated line" it_log_has agent "event=stats why=sigusr1 .*lines_truncated=1 lines_unterminated=1 "
it_log "5: 200 KiB line cut, next lines intact"

# 6) restarts: a new file at the path (maybe the same inode), then a rewrite in place
it_stop agent
restart_agent_log 6a
ino_before=$(stat -c %i "$LOGS/a.log")
rm "$LOGS/a.log"
: >"$LOGS/a.log"
burst 198.51.100.6 "$LOGS/a.log"
for i in $(seq 1 20); do echo "$(it_syslog_now) web1 app[1]: filler $i so the new file is larger"; done >>"$LOGS/a.log"
if [[ $(stat -c %i "$LOGS/a.log") == "$ino_before" ]]; then
	it_log "6a: the inode was reused"
	reused=1
else
	it_log "6a: the inode was not reused here (tests/unit/test_agent_tail covers it); the new file is still read whole"
	reused=0
fi
start_agent
it_wait_for 10 "alert 6 from the replaced file" has_alert 198.51.100.6
if ((reused)); then
	it_log_has agent "event=file_replaced path=$LOGS/a.log" || it_fail "reused inode not detected"
fi
it_stop agent
restart_agent_log 6b
# The file holds two checksummed copies; `minisoc-agent state` prints the newest.
saved=$("$IT_AGENT" state -c "$IT_WORK/agent.yml") || it_fail "minisoc-agent state failed"
grep -q -E "^pos [0-9]+ [0-9]+ [0-9]+ fp:[0-9a-f]{16}:[0-9]+ $LOGS/a.log\$" <<<"$saved" ||
	it_fail "no fingerprint in the saved position: $saved"
# Same inode, other content, larger than the saved offset.
{
	burst_lines 198.51.100.7
	for i in $(seq 1 40); do echo "$(it_syslog_now) web1 app[2]: other filler $i, longer than before"; done
} >"$LOGS/a.log.new"
cat "$LOGS/a.log.new" >"$LOGS/a.log"
start_agent
it_wait_for 10 "alert 7 from the file rewritten in place" has_alert 198.51.100.7
it_log_has agent "event=file_replaced path=$LOGS/a.log" || it_fail "rewrite in place not detected"
it_log "6: restarts after replacement and rewrite"

for ip in 198.51.100.1 198.51.100.2 198.51.100.30 198.51.100.3 198.51.100.4 198.51.100.5 \
	198.51.100.6 198.51.100.7; do
	n=$(alerts_for $ip)
	[[ $n == 1 ]] || it_fail "expected 1 alert for $ip, found $n"
done
it_stop agent
it_stop collector
it_log "PASS"
