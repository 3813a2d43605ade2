#!/usr/bin/env bash
# minisocctl replay over the fixtures in tests/data: every replay_NAME.log
# must raise exactly the alerts listed in replay_NAME.expected, one
# "<rule name> <src_ip>" per line, sorted; with the shipped rules, or with
# the folder replay_NAME.rules when there is one.
set -euo pipefail
BUILD=${1:?usage: replay_test.sh BUILD_DIR}
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CTL=$BUILD/cli/minisocctl
pass=0 fail=0
shopt -s nullglob
for log in "$ROOT"/tests/data/replay_*.log; do
	exp=${log%.log}.expected
	[[ -f $exp ]] || continue
	rules=$ROOT/rules
	[[ -d ${log%.log}.rules ]] && rules=${log%.log}.rules
	got=$("$CTL" replay --rules "$rules" --no-builtin --tz-offset 0 "$log" 2>/dev/null |
		python3 -c '
import json, sys
for line in sys.stdin:
    a = json.loads(line)
    print(a["rule"].get("name") or a["rule"]["id"], a.get("source", {}).get("ip", ""))
' | sort)
	if diff -u "$exp" <(printf '%s\n' "$got" | sed '/^$/d') >/tmp/replay_diff.$$; then
		echo "ok   $(basename "$log")"
		pass=$((pass + 1))
	else
		echo "FAIL $(basename "$log"): alerts differ (expected vs got):"
		cat /tmp/replay_diff.$$
		fail=$((fail + 1))
	fi
	rm -f /tmp/replay_diff.$$
done
# A path that is no readable file is an error (exit 2, documented), not
# "0 lines" and success: a folder given by mistake, for one.
rc=0
"$CTL" replay --no-builtin "$ROOT/tests/data" >/dev/null 2>/tmp/replay_err.$$ || rc=$?
if [[ $rc == 2 ]] && grep -q "tests/data" /tmp/replay_err.$$; then
	echo "ok   a folder is refused (exit 2)"
	pass=$((pass + 1))
else
	echo "FAIL a folder: exit $rc, want 2: $(cat /tmp/replay_err.$$)"
	fail=$((fail + 1))
fi
rm -f /tmp/replay_err.$$
# Progress (stderr): with --progress each log file ends with its 100 % line,
# its lines counted; none when stderr is no terminal; on a terminal (script
# gives one) by default, kept on one line (\r), and none with --no-progress.
check() {
	if eval "$2"; then
		echo "ok   $1"
		pass=$((pass + 1))
	else
		echo "FAIL $1"
		fail=$((fail + 1))
	fi
}
big=$(mktemp)
for i in $(seq 1 9000); do
	echo "Nov 29 10:00:00 web1 sshd[1]: Failed password for root from 192.0.2.9 port $i ssh2"
done >"$big"
err=$("$CTL" replay --progress --no-builtin "$big" 2>&1 >/dev/null)
check "--progress: the file's last line" \
	'[[ $err == *"$big: 100 % ("*" MB), 9000 lines, 0 alerts, "* ]]'
err=$("$CTL" replay --no-builtin "$big" 2>&1 >/dev/null)
check "no progress when stderr is no terminal" '[[ $err != *"100 %"* ]]'
if command -v script >/dev/null; then
	err=$(script -qec "$CTL replay --no-builtin $big >/dev/null" /dev/null)
	check "progress on a terminal, on one line" \
		'[[ $err == *$'"'"'\r'"'"'"minisocctl replay: $big: 100 %"* ]]'
	err=$(script -qec "$CTL replay --no-progress --no-builtin $big >/dev/null" /dev/null)
	check "--no-progress on a terminal" '[[ $err != *"100 %"* ]]'
fi
rm -f "$big"
echo "$pass passed, $fail failed"
((fail == 0 && pass > 0))
