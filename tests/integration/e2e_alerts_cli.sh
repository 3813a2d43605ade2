#!/usr/bin/env bash
# The operators' view, with the real collector, agent, Redis and minisocctl:
#  - alert schema 1 in the stream (ECS-style names, ATT&CK from tags);
#  - aggregation: three alerts of one rule and key within its window are one
#    alert at once, then one summary (aggregate.alerts=3) when the window ends;
#  - `minisocctl alerts`: piped output is plain (no escape codes), on a
#    terminal (script(1) gives it a pty) it is coloured by severity; filters
#    by severity, rule, source, system, status; time ranges; --json;
#  - ack, assign, close: state in Redis with who and when, and an audit stream;
#  - --follow prints alerts stored after it started;
#  - consumer groups: alerts given to a consumer that died before XACK are
#    delivered again (to the same consumer when it comes back, to another
#    one after --claim-idle), and acknowledged once printed.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_alerts_cli.sh BUILD_DIR}"
command -v script >/dev/null || { echo "script(1) missing"; exit 77; }

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
mkdir -p "$IT_WORK/rules"
cat >"$IT_WORK/rules/cron.yml" <<'YML'
title: Test cron marker
id: 0d6f2f4e-8f0c-4b7e-9a55-2f1c9d1e7a10
name: test_cron_low
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'CRONTEST'
  condition: keywords
level: low
tags:
  - attack.persistence
  - attack.t1053.003
YML
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $IT_WORK/rules
alerts:
  aggregate_window_s: 60
  aggregate_rules: test_cron_low=2
YML
# A malformed per-rule window is a configuration error, named.
sed 's/aggregate_rules: test_cron_low=2/aggregate_rules: test_cron_low/' "$IT_WORK/collector.yml" >"$IT_WORK/bad.yml"
"$IT_COLLECTOR" -t -c "$IT_WORK/bad.yml" >"$IT_WORK/bad.out" 2>&1 && it_fail "a bad alerts.aggregate_rules accepted"
grep -q "alerts.aggregate_rules: 'test_cron_low' is not rule=seconds" "$IT_WORK/bad.out" ||
	it_fail "unclear error: $(cat "$IT_WORK/bad.out")"
"$IT_COLLECTOR" -t -c "$IT_WORK/collector.yml" >/dev/null 2>&1 || it_fail "the good config refused by --check"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

R=(-r "127.0.0.1:$IT_REDIS_PORT")
CLI() { "$IT_CLI" alerts "${R[@]}" "$@"; }
burst() { # burst IP: 8 failed logins -> one high alert
	local i
	for i in $(seq 1 8); do
		echo "$(it_syslog_now) web1 sshd[4$i]: Failed password for root from $1 port 3$i$i ssh2"
	done >>"$AUTH"
}
xlen() { it_redis_raw XLEN minisoc:alerts; }
xlen_is() { [[ $(xlen) == "$1" ]]; }

burst 203.0.113.1
it_wait_for 10 "alert 1" xlen_is 1
burst 203.0.113.2
it_wait_for 10 "alert 2" xlen_is 2
# Three marker lines: the first alert at once, two folded into the window.
{
	for i in 1 2 3; do echo "$(it_syslog_now) web1 CRON[7$i]: CRONTEST run $i"; done
} >>"$AUTH"
it_wait_for 10 "the first cron alert" xlen_is 3
it_wait_for 10 "the aggregate summary after 2 s" xlen_is 4
burst 203.0.113.3
it_wait_for 10 "alert 5" xlen_is 5

# --- schema ------------------------------------------------------------------
JSON=$(CLI -n 10 --json)
python3 - "$JSON" <<'PY' || it_fail "alert JSON does not follow schema 1: $JSON"
import json, sys
alerts = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(alerts) == 5, len(alerts)
for a in alerts:
    assert a["schema"] == 1
    for k in ("@timestamp", "event", "rule", "agent", "host", "count", "samples"):
        assert k in a, k
    assert a["event"]["kind"] == "alert" and len(a["event"]["id"]) == 36
    assert a["agent"]["id"] == "web1" and a["host"]["name"]
    assert a["event"]["start"] <= a["event"]["end"]
bf = [a for a in alerts if a["rule"]["id"] == "minisoc-ssh-bruteforce"]
assert [a["source"]["ip"] for a in bf] == ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
assert all(a["event"]["severity"] == 4 and a["rule"]["level"] == "high" for a in bf)
assert bf[0]["user"]["name"] == "root" and bf[0]["related"]["user"] == ["root"]
assert bf[0]["count"] == 8
cron = [a for a in alerts if a["rule"].get("name") == "test_cron_low"]
assert len(cron) == 2, cron
first, summary = cron
assert "aggregate" not in first and first["count"] == 1
assert summary["aggregate"] == {"alerts": 3, "window_s": 2, "first_id": first["event"]["id"]}, summary
assert summary["count"] == 3 and summary["event"]["severity"] == 2
assert summary["threat"]["technique"]["id"] == ["T1053.003"]
assert summary["threat"]["tactic"]["name"] == ["persistence"]
assert len(summary["samples"]) == 2 and "CRONTEST run 3" in summary["samples"][-1]
PY
it_log "schema 1 and aggregation: ok"

# --- plain when piped, coloured on a terminal -------------------------------
PLAIN=$(CLI -n 10)
[[ $PLAIN == *$'\033'* ]] && it_fail "escape codes in piped output"
(($(grep -c '^    id=' <<<"$PLAIN") == 5)) || it_fail "not 5 alerts listed: $PLAIN"
grep -q 'HIGH .*SSH brute force' <<<"$PLAIN" || it_fail "no severity and title: $PLAIN"
# Oldest first.
order=$(grep -o 'src=203.0.113.[0-9]' <<<"$PLAIN" | tr '\n' ' ')
[[ $order == "src=203.0.113.1 src=203.0.113.2 src=203.0.113.3 " ]] || it_fail "order: $order"
TTY=$(script -qec "$IT_CLI alerts -r 127.0.0.1:$IT_REDIS_PORT -n 10" /dev/null)
[[ $TTY == *$'\033[1;31mHIGH'* ]] || it_fail "high alerts not red on a terminal: $(cat -v <<<"$TTY")"
[[ $TTY == *$'\033[36mLOW'* ]] || it_fail "low alerts not cyan on a terminal: $(cat -v <<<"$TTY")"
TTY=$(NO_COLOR=1 script -qec "$IT_CLI alerts -r 127.0.0.1:$IT_REDIS_PORT -n 10" /dev/null)
[[ $TTY == *$'\033'* ]] && it_fail "NO_COLOR ignored"
[[ $(CLI -n 1 --color always) == *$'\033[1;31m'* ]] || it_fail "--color always"
it_log "plain when piped, coloured on a terminal: ok"

# --- filters and time ranges --------------------------------------------------
count() { grep -c '^    id=' || true; }
(($(CLI -n 10 --severity high | count) == 3)) || it_fail "--severity high"
(($(CLI -n 10 --severity low | count) == 5)) || it_fail "--severity low is at least low"
(($(CLI -n 10 --severity critical | count) == 0)) || it_fail "--severity critical"
(($(CLI -n 10 --rule test_cron_low | count) == 2)) || it_fail "--rule by name"
(($(CLI -n 10 --rule minisoc-ssh-bruteforce | count) == 3)) || it_fail "--rule by id"
(($(CLI -n 10 --source 203.0.113.2 | count) == 1)) || it_fail "--source"
(($(CLI -n 10 --system sys-1 | count) == 0)) || it_fail "--system matched alerts without one"
(($(CLI -n 10 --agent web1 | count) == 5)) || it_fail "--agent"
(($(CLI -n 2 | count) == 2)) || it_fail "-n 2"
CLI -n 2 | it_has 'src=203.0.113.3' || it_fail "-n 2 is not the newest two"
(($(CLI -n 100 --since 1h | count) == 5)) || it_fail "--since 1h"
HOUR_AGO=$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)
(($(CLI -n 100 --until "$HOUR_AGO" | count) == 0)) || it_fail "--until an hour ago"
FIRST_MS=$(it_redis_raw XRANGE minisoc:alerts - + COUNT 1 | sed -n 1p | cut -d- -f1)
SINCE=$(date -u -d "@$(((FIRST_MS + 1) / 1000)).$(printf '%03d' $(((FIRST_MS + 1) % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
(($(CLI -n 100 --since "$SINCE" | count) == 4)) || it_fail "--since just after the first alert"
CLI --since yesterday >/dev/null 2>&1 && it_fail "a bad time accepted"
# A day that does not exist is a typo, not the next month's first day; an offset is digits.
for t in 2026-11-31T00:00:00Z 2027-02-29T00:00:00Z 2026-11-25T08:00:00+0x:00; do
	CLI --since "$t" >/dev/null 2>&1 && it_fail "--since $t accepted"
done
rc=0
CLI -n 100 --since 2028-02-29T00:00:00+07:00 --until 2028-03-01T00:00:00Z >/dev/null 2>&1 || rc=$?
((rc == 0)) || it_fail "--since 2028-02-29 (a leap day): exit $rc"
CLI --severity urgent >/dev/null 2>&1 && it_fail "a bad severity accepted"
rc=0
"$IT_CLI" alerts -r 127.0.0.1:1 -n 1 >/dev/null 2>&1 || rc=$?
((rc == 2)) || it_fail "unreachable Redis: exit $rc, not 2"
it_log "filters and time ranges: ok"

# --- ack, assign, close -------------------------------------------------------
ID1=$(CLI -n 10 --json --source 203.0.113.1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["event"]["id"])')
ID2=$(CLI -n 10 --json --source 203.0.113.2 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["event"]["id"])')
CLI ack "$ID1" --by alice --note "looking" >/dev/null || it_fail "ack"
CLI assign "$ID1" --to bob --by alice >/dev/null || it_fail "assign"
CLI close "$ID2" --by carol --reason "test traffic" >/dev/null || it_fail "close"
[[ $(it_redis_raw HGET "minisoc:alert:$ID1" status) == acknowledged ]] || it_fail "status after ack"
[[ $(it_redis_raw HGET "minisoc:alert:$ID1" acked_by) == alice ]] || it_fail "acked_by"
[[ $(it_redis_raw HGET "minisoc:alert:$ID1" assignee) == bob ]] || it_fail "assignee"
[[ $(it_redis_raw HGET "minisoc:alert:$ID1" acked_at) =~ ^20[0-9-]+T[0-9:.]+Z$ ]] || it_fail "acked_at"
[[ $(it_redis_raw HGET "minisoc:alert:$ID2" status) == closed ]] || it_fail "status after close"
[[ $(it_redis_raw HGET "minisoc:alert:$ID2" closed_by) == carol ]] || it_fail "closed_by"
[[ $(it_redis_raw XLEN minisoc:alerts:actions) == 3 ]] || it_fail "audit stream"
(($(CLI -n 10 --status open | count) == 4)) || it_fail "--status open"
(($(CLI -n 10 --status closed | count) == 1)) || it_fail "--status closed"
(($(CLI -n 10 --status new | count) == 3)) || it_fail "--status new"
CLI -n 10 --source 203.0.113.1 | it_has 'status=acknowledged by=alice assignee=bob' ||
	it_fail "state not shown: $(CLI -n 10 --source 203.0.113.1)"
CLI -n 10 --json --source 203.0.113.2 | python3 -c '
import json, sys
a = json.loads(sys.stdin.readline())
assert a["state"]["status"] == "closed" and a["state"]["reason"] == "test traffic", a["state"]
' || it_fail "--json without the state"
CLI show "$ID1" | it_has "id=$ID1" || it_fail "show"
# An id typed in upper case is the same alert (ids are stored lower case).
CLI show "${ID1^^}" | it_has "id=$ID1" || it_fail "show of the id in upper case"
rc=0
CLI ack 0193aaaa-0000-7000-8000-000000000000 >/dev/null 2>&1 || rc=$?
((rc == 3)) || it_fail "ack of an unknown alert: exit $rc, not 3"
rc=0
CLI assign "$ID1" >/dev/null 2>&1 || rc=$?
((rc == 1)) || it_fail "assign without --to: exit $rc, not 1"
# The status decides what may follow: an ack from a stale list must not
# reopen what someone closed, a second close must not take the first
# closer's place, and only a closed alert can be reopened (exit 4).
rc=0
CLI ack "$ID2" --by dave >/dev/null 2>"$IT_WORK/state.err" || rc=$?
((rc == 4)) && grep -q "$ID2 is closed (by carol at .*): reopen it first" "$IT_WORK/state.err" ||
	it_fail "ack of a closed alert: exit $rc: $(cat "$IT_WORK/state.err")"
rc=0
CLI close "$ID2" --by dave >/dev/null 2>&1 || rc=$?
((rc == 4)) || it_fail "close of a closed alert: exit $rc, not 4"
[[ $(it_redis_raw HGET "minisoc:alert:$ID2" status) == closed &&
	$(it_redis_raw HGET "minisoc:alert:$ID2" closed_by) == carol ]] || it_fail "a refused change was made"
rc=0
CLI reopen "$ID1" --by dave >/dev/null 2>"$IT_WORK/state.err" || rc=$?
((rc == 4)) && grep -q "is not closed (status acknowledged)" "$IT_WORK/state.err" ||
	it_fail "reopen of an open alert: exit $rc: $(cat "$IT_WORK/state.err")"
[[ $(it_redis_raw XLEN minisoc:alerts:actions) == 3 ]] || it_fail "a refused change was written to the audit stream"
CLI reopen "$ID2" --by dave >/dev/null || it_fail "reopen of a closed alert"
CLI ack "$ID2" --by dave >/dev/null || it_fail "ack after reopen"
[[ $(it_redis_raw HGET "minisoc:alert:$ID2" status) == acknowledged ]] || it_fail "status after reopen"
CLI close "$ID2" --by carol --reason "test traffic" >/dev/null || it_fail "close after reopen"
it_log "ack, assign, close: ok"

# --- follow -------------------------------------------------------------------
"$IT_CLI" alerts "${R[@]}" -f -n 0 --json --severity high >"$IT_WORK/follow.out" 2>"$IT_WORK/logs/follow.log" &
FOLLOW=$!
IT_PIDS+=("$FOLLOW")
following() { it_redis_raw CLIENT LIST | it_has 'cmd=xread'; }
it_wait_for 10 "follower blocked in XREAD" following
burst 203.0.113.4
echo "$(it_syslog_now) web1 CRON[99]: CRONTEST after follow" >>"$AUTH"
followed() { grep -q '"ip":"203.0.113.4"' "$IT_WORK/follow.out"; }
it_wait_for 10 "the followed alert" followed
xlen_is 7 || it_wait_for 10 "the cron alert stored" xlen_is 7
kill -TERM "$FOLLOW"
wait "$FOLLOW" || it_fail "follower did not exit cleanly on SIGTERM"
(($(wc -l <"$IT_WORK/follow.out") == 1)) || it_fail "follow printed more than the one high alert"
it_log "follow: ok"

# --- consumer groups: redelivery of what was not acknowledged ---------------
it_redis XGROUP CREATE minisoc:alerts ops 0 >/dev/null
# Two consumers read and die before XACK: "c1" gets the first 2 entries, "dead" the next 3.
it_redis XREADGROUP GROUP ops c1 COUNT 2 STREAMS minisoc:alerts '>' >/dev/null
it_redis XREADGROUP GROUP ops dead COUNT 3 STREAMS minisoc:alerts '>' >/dev/null
pending() { it_redis_raw XPENDING minisoc:alerts ops | sed -n 1p; }
[[ $(pending) == 5 ]] || it_fail "5 entries should be pending, got $(pending)"
# c1 comes back: its own 2 first, then the 2 never delivered; dead's 3 once idle 500 ms.
"$IT_CLI" alerts "${R[@]}" -f --group ops --consumer c1 --claim-idle 500 --json >"$IT_WORK/group.out" \
	2>"$IT_WORK/logs/group.log" &
GROUP=$!
IT_PIDS+=("$GROUP")
all_seen() { (($(wc -l <"$IT_WORK/group.out") >= 7)); }
it_wait_for 15 "every alert through the group" all_seen
none_pending() { [[ $(pending) == 0 ]]; }
it_wait_for 10 "every alert acknowledged" none_pending
kill -TERM "$GROUP"
wait "$GROUP" || it_fail "group consumer did not exit cleanly"
python3 - "$IT_WORK/group.out" <<'PY' || it_fail "group delivery: $(cat "$IT_WORK/group.out")"
import json, sys
ids = [json.loads(l)["event"]["id"] for l in open(sys.argv[1])]
assert len(ids) == 7 and len(set(ids)) == 7, ids
PY
it_log "consumer group redelivery: ok"

# --- hostile text in an alert -------------------------------------------------
# An alert's user names and title come from log lines (a name typed at sshd):
# the JSON carries control bytes escaped, and the list must not print them
# raw (no escape sequence for the terminal, no forged line in the list).
HOSTILE='{"schema":1,"@timestamp":"2026-11-25T10:00:00.000Z","event":{"kind":"alert","id":"0190a0b0-0000-7000-8000-000000000001"},"rule":{"id":"r-hostile","title":"Title\u001b]0;owned\u0007 end\u009b31m","level":"low"},"agent":{"id":"web1"},"host":{"name":"web1"},"source":{"ip":"203.0.113.66"},"related":{"user":["root\u001b[2J","x\nFORGED line"]},"count":1,"samples":[]}'
it_redis_raw XADD minisoc:alerts:hostile '*' alert "$HOSTILE" rule r-hostile severity low agent web1 >/dev/null
OUT=$(CLI -k minisoc:alerts:hostile -n 5)
it_log "hostile alert listed as: $OUT"
[[ $OUT == *$'\033'* || $OUT == *$'\a'* ]] && it_fail "control bytes printed raw: $OUT"
grep -q '^FORGED' <<<"$OUT" && it_fail "a forged line in the list: $OUT"
grep -q 'users=root?\[2J,x?FORGED line' <<<"$OUT" || it_fail "users not shown with ? for control bytes: $OUT"
grep -q 'Title?\]0;owned? end?31m' <<<"$OUT" || it_fail "title not shown with ? for control bytes: $OUT"

it_stop agent
it_stop collector
it_log "PASS"
