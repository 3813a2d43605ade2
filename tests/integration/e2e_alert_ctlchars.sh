#!/usr/bin/env bash
# An alert raised from log lines that hold DEL and C1 controls (a user name
# typed at sshd, relayed by syslog as it is): the collector's JSON must be
# one minisocctl can read. minisocctl reads alerts with libyaml, which
# refuses a document holding DEL, a C1 control, U+FFFE or U+FFFF as they
# are: such an alert was listed with id=- host=- users=- (nothing to
# acknowledge it by) and left out of minisocctl report's counts. The
# collector now writes them as \uXXXX (ms_json; fuzz_json, test_json), and
# minisocctl reads an alert an older collector stored with them as they are
# (ms_json_yaml_parse).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_alert_ctlchars.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

# 8 failed logins for a user holding DEL, NEL (U+0085), CSI (U+009B) and
# U+2028: one brute-force alert.
for i in $(seq 1 8); do
	printf '%s web1 sshd[4%d]: Failed password for invalid user ad\x7fm\xc2\x85i\xc2\x9bn\xe2\x80\xa8x from 203.0.113.9 port 3%d ssh2\n' \
		"$(it_syslog_now)" "$i" "$i"
done >>"$AUTH"
xlen_is() { [[ $(it_redis_raw XLEN minisoc:alerts) == "$1" ]]; }
it_wait_for 10 "the brute-force alert" xlen_is 1

OUT=$("$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 --color never 2>&1) || it_fail "minisocctl alerts: $OUT"
echo "$OUT"
# The document was read: its id, title, host and users, not the stream's fallbacks.
it_has -E 'id=[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12} ' <<<"$OUT" ||
	it_fail "alert listed without its id (JSON unreadable to minisocctl): $OUT"
it_has 'SSH brute force' <<<"$OUT" || it_fail "alert listed without its title: $OUT"
it_has -E 'host=[^ -]' <<<"$OUT" || it_fail "alert listed without its host: $OUT"
# Control characters shown as ?, U+2028 kept as text (the terminal shows it).
it_has -F $'users=ad?m?i?n\xe2\x80\xa8x ' <<<"$OUT" || it_fail "user not shown with ? for DEL and C1: $OUT"
# The stored JSON is one line with the characters escaped, and Python reads the same user back.
JSON=$("$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 --json)
python3 - "$JSON" <<'PY' || it_fail "the alert's JSON: $JSON"
import json, sys
raw = sys.argv[1]
assert "\\u007f" in raw and "\\u0085" in raw and "\\u009b" in raw and "\\u2028" in raw, raw
a = json.loads(raw.splitlines()[0])
assert a["user"]["name"] == "ad\x7fm\x85i\x9bn\u2028x", a["user"]
PY

# An alert stored by a collector before this version: DEL, C1, U+2028 and
# a byte that is not UTF-8 as they are in the JSON.
OLD=$(printf '{"@timestamp":"2026-11-25T10:00:00.000Z","schema":1,"event":{"id":"0190a0b0-0000-7000-8000-0000000000aa","kind":"alert","severity":4},"rule":{"id":"minisoc-ssh-bruteforce","title":"Old brute force","level":"high"},"agent":{"id":"web1"},"host":{"name":"oldhost"},"source":{"ip":"203.0.113.8"},"user":{"name":"o\x7fl\xc2\x85d\xe2\x80\xa8\xff"},"related":{"user":["o\x7fl\xc2\x85d\xe2\x80\xa8\xff"]},"count":8,"samples":[]}')
it_redis_raw XADD minisoc:alerts "*" alert "$OLD" rule minisoc-ssh-bruteforce severity high agent web1 >/dev/null
OUT=$("$IT_CLI" alerts -r "127.0.0.1:$IT_REDIS_PORT" -n 5 --color never 2>&1) || it_fail "minisocctl alerts: $OUT"
echo "$OUT"
it_has 'id=0190a0b0-0000-7000-8000-0000000000aa host=oldhost ' <<<"$OUT" ||
	it_fail "an alert stored before the escapes listed without its id and host: $OUT"
it_has -F $'users=o?l?d\xe2\x80\xa8\xef\xbf\xbd ' <<<"$OUT" || it_fail "the old alert's user: $OUT"

it_stop agent
it_stop collector
it_log "PASS"
