#!/usr/bin/env bash
# minisocctl incident against a real redis-server: an operator turns alerts
# into an incident; it is stored in the agreed format (hash
# minisoc:incident:<id> field json, sorted set minisoc:incidents scored by
# creation ms, every create/update XADDed to minisoc:incidents:events with
# field incident); it carries the deadlines of its framework (new, serious:
# notice 24 h, report 72 h; old: 5 days) and is listed as overdue once a
# deadline passes unmet; notes, status changes and closing are recorded.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_incident.sh BUILD_DIR}"
it_start_redis
CTL=("$IT_CLI" incident -r "127.0.0.1:$IT_REDIS_PORT" --profile-dir "$IT_ROOT/rules/compliance")

ID=$("${CTL[@]}" new --title "Tấn công dò mật khẩu SSH" --severity high --serious \
	--system SYS-001 --system SYS-002 --alert 0193a1b2-0000-7000-8000-000000000001 \
	--note "Phát hiện từ cảnh báo minisoc-ssh-bruteforce" --who "trực ca" \
	--detected 2026-11-20T08:00:00Z --at 2026-11-20T08:10:00Z) || it_fail "incident new"
[[ $ID =~ ^INC-20261120-[0-9]{4}$ ]] || it_fail "id $ID"
J=$(it_redis_raw HGET "minisoc:incident:$ID" json)
python3 - "$J" <<'PY' || it_fail "stored JSON: $J"
import json, sys
j = json.loads(sys.argv[1])
assert j["severity"] == "high" and j["serious"] is True and j["status"] == "open", j
assert j["systems"] == ["SYS-001", "SYS-002"] and j["alerts"] == ["0193a1b2-0000-7000-8000-000000000001"], j
assert j["notes"][0]["who"] == "trực ca" and j["notes"][0]["text"].startswith("Phát hiện"), j
assert j["created"] == "2026-11-20T08:10:00.000Z" and j["deadline_notice"] == "2026-11-21T08:00:00.000Z", j
assert j["deadline_report"] == "2026-11-23T08:00:00.000Z" and j["overdue"] is False, j
PY
[[ $(it_redis_raw ZSCORE minisoc:incidents "$ID") == 1795162200000 ]] || it_fail "sorted set score $(it_redis_raw ZSCORE minisoc:incidents "$ID")"
[[ $(it_redis_raw XLEN minisoc:incidents:events) == 1 ]] || it_fail "no stream entry on create"

# Within the notice deadline it is not overdue; after it, it is.
L=$("${CTL[@]}" list --overdue --at 2026-11-21T07:00:00Z)
[[ -z $L ]] || it_fail "overdue before its deadline: $L"
L=$("${CTL[@]}" list --overdue --at 2026-11-21T09:00:00Z)
grep -q "$ID.*OVERDUE(notice)" <<<"$L" || it_fail "not overdue after 24 h: $L"
# Notified late (after 24 h): the report deadline (72 h) still runs.
"${CTL[@]}" note "$ID" "Đã thông báo Trung tâm giám sát quốc gia" --status notified \
	--at 2026-11-21T10:00:00Z >/dev/null || it_fail "note"
L=$("${CTL[@]}" list --overdue --at 2026-11-22T10:00:00Z)
[[ -z $L ]] || it_fail "overdue though notified and within 72 h: $L"
L=$("${CTL[@]}" list --overdue --at 2026-11-23T09:00:00Z)
grep -q "$ID.*OVERDUE(report)" <<<"$L" || it_fail "not overdue after 72 h: $L"
S=$("${CTL[@]}" show "$ID" --json --at 2026-11-23T09:00:00Z)
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["status"]=="notified" and j["notified"]=="2026-11-21T10:00:00.000Z" and j["overdue_report"] and len(j["notes"])==2, j' "$S" ||
	it_fail "show: $S"
"${CTL[@]}" close "$ID" --note "Đã báo cáo, đóng" --at 2026-11-24T00:00:00Z >/dev/null || it_fail "close"
[[ -z $("${CTL[@]}" list) ]] || it_fail "closed incident still listed as open"
"${CTL[@]}" list --all | it_has "$ID .*closed" || it_fail "list --all lacks the closed incident"
[[ $(it_redis_raw XLEN minisoc:incidents:events) == 3 ]] || it_fail "stream: $(it_redis_raw XLEN minisoc:incidents:events) entries, want 3"
E=$(it_redis_raw XREVRANGE minisoc:incidents:events + - COUNT 1 | grep '^{')
grep -q '"status":"closed"' <<<"$E" || it_fail "last stream entry: $E"

# Old framework, not serious: 5 days, no separate notice.
ID2=$("${CTL[@]}" new --title "Web defacement" --severity medium --framework old \
	--detected 2026-06-01 --at 2026-06-01T01:00:00Z) || it_fail "incident new (old)"
J=$(it_redis_raw HGET "minisoc:incident:$ID2" json)
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["deadline_notice"] is None and j["deadline_report"]=="2026-06-06T00:00:00.000Z" and j["framework"]=="old", j' "$J" ||
	it_fail "old framework deadlines: $J"

# Mistakes are refused with a clear message and exit 1.
rc=0; "${CTL[@]}" new --title x --severity apocalyptic 2>/dev/null || rc=$?
((rc == 1)) || it_fail "bad severity: exit $rc"
rc=0; "${CTL[@]}" show INC-00000000-9999 2>"$IT_WORK/err" || rc=$?
((rc == 1)) && grep -q "no incident INC-00000000-9999" "$IT_WORK/err" || it_fail "unknown id: exit $rc"
rc=0; "${CTL[@]}" new --title x --severity low --framework nonexistent 2>"$IT_WORK/err" || rc=$?
((rc == 2)) && grep -q "nonexistent.yml" "$IT_WORK/err" || it_fail "unknown framework: exit $rc $(cat "$IT_WORK/err")"

# Garbled or unreachable data is no "unknown incident": a record that is
# not the agreed JSON, a key of another type and a Redis that refuses the
# read (NOAUTH) are errors (exit 2) that say so, and nothing is written.
it_redis_raw HSET minisoc:incident:INC-20261120-8888 json '{"id":"INC-20261120-8888","created":' >/dev/null
rc=0; "${CTL[@]}" show INC-20261120-8888 2>"$IT_WORK/err" || rc=$?
((rc == 2)) && grep -q "unreadable" "$IT_WORK/err" ||
	it_fail "garbled record: exit $rc: $(cat "$IT_WORK/err")"
rc=0; "${CTL[@]}" note INC-20261120-8888 "x" 2>"$IT_WORK/err" >/dev/null || rc=$?
((rc == 2)) || it_fail "note on a garbled record: exit $rc: $(cat "$IT_WORK/err")"
[[ $(it_redis_raw HGET minisoc:incident:INC-20261120-8888 json) == '{"id":"INC-20261120-8888","created":' ]] ||
	it_fail "garbled record overwritten"
it_redis_raw SET minisoc:incident:INC-20261120-7777 text >/dev/null
rc=0; "${CTL[@]}" show INC-20261120-7777 2>"$IT_WORK/err" || rc=$?
((rc == 2)) && grep -q "WRONGTYPE" "$IT_WORK/err" ||
	it_fail "key of another type: exit $rc: $(cat "$IT_WORK/err")"
it_redis_raw CONFIG SET requirepass sesame >/dev/null
rc=0; "${CTL[@]}" show "$ID" 2>"$IT_WORK/err" || rc=$?
redis-cli -p "$IT_REDIS_PORT" -a sesame --no-auth-warning CONFIG SET requirepass "" >/dev/null
((rc == 2)) && grep -q "NOAUTH" "$IT_WORK/err" ||
	it_fail "Redis refusing the read: exit $rc: $(cat "$IT_WORK/err")"
it_log "PASS"
