#!/usr/bin/env bash
# minisocctl's output that could not be written (a full disk: /dev/full) is
# an error – exit 2 and one line on stderr – never a silent success:
#  - replay, search, alerts list, status, incident list, pki token (a token
#    is printed once: lost, it must not look issued);
#  - replay --events FILE on a full disk;
#  - alerts --follow --group: alerts it could not print are not
#    acknowledged (XACK) – they stay pending for the group, and the
#    follower ends instead of consuming the stream into nowhere.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_cli_output.sh BUILD_DIR}"
[[ -w /dev/full ]] || { it_log "SKIP: no /dev/full"; exit 77; }
command -v zstd >/dev/null || { it_log "SKIP: zstd not installed"; exit 77; }
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

it_start_redis
R=(-r "127.0.0.1:$IT_REDIS_PORT")

# full WHAT ARGS...: minisocctl ARGS with stdout on /dev/full exits 2 and says so.
full() {
	local what=$1 rc=0
	shift
	timeout 20 "$IT_CLI" "$@" >/dev/full 2>"$IT_WORK/err" || rc=$?
	[[ $rc == 2 ]] || it_fail "$what to a full disk: exit $rc, want 2 ($(cat "$IT_WORK/err"))"
	it_has -i "cannot write" <"$IT_WORK/err" || it_fail "$what: no word of the lost output: $(cat "$IT_WORK/err")"
}

# Eight failed logins: one brute-force alert.
LOG=$IT_WORK/auth.log
for i in 1 2 3 4 5 6 7 8; do
	echo "Nov 29 10:00:0$i web1 sshd[4$i]: Failed password for root from 203.0.113.9 port 3$i ssh2"
done >"$LOG"
"$IT_CLI" replay --tz-offset 0 "$LOG" >"$IT_WORK/alerts.jsonl" 2>/dev/null ||
	it_fail "replay of a readable file failed"
[[ $(wc -l <"$IT_WORK/alerts.jsonl") == 1 ]] || it_fail "replay: want one alert"
full "replay" replay --tz-offset 0 "$LOG"

# --events FILE: a capture's events written to a full disk.
python3 "$IT_ROOT/tests/net/pcapgen.py" dns "$IT_WORK/dns.pcap"
rc=0
"$IT_CLI" replay --events /dev/full "$IT_WORK/dns.pcap" >/dev/null 2>"$IT_WORK/err" || rc=$?
[[ $rc == 2 ]] || it_fail "replay --events /dev/full: exit $rc, want 2 ($(cat "$IT_WORK/err"))"
it_has "/dev/full: cannot write" <"$IT_WORK/err" || it_fail "replay --events: the file not named: $(cat "$IT_WORK/err")"

# search: one archived event.
A=$IT_WORK/archive
mkdir -p "$A/SYS-1"
NOW=$(($(date +%s) * 1000))
printf '%s\tweb1\t1\t/var/log/x\tan archived line\n' "$NOW" | zstd -q >"$A/SYS-1/$(date -u +%F).0.zst"
"$IT_CLI" search -A "$A" >/dev/null 2>&1 || it_fail "search of a readable archive failed"
full "search" search -A "$A"
full "search --json" search -A "$A" --json

# alerts, status, incidents, a token
it_redis XADD minisoc:alerts '*' alert "$(cat "$IT_WORK/alerts.jsonl")" >/dev/null
"$IT_CLI" alerts "${R[@]}" >/dev/null 2>&1 || it_fail "alerts list failed"
full "alerts list" alerts "${R[@]}"
full "alerts --json" alerts "${R[@]}" --json
full "status" status "${R[@]}"
"$IT_CLI" incident new "${R[@]}" --title "disk test" --severity low \
	--profile-dir "$IT_ROOT/rules/compliance" >/dev/null ||
	it_fail "incident new failed"
full "incident list" incident list "${R[@]}"
"$IT_CLI" pki init "$IT_WORK/pki" >/dev/null || it_fail "pki init failed"
full "pki token" pki token "${R[@]}" --dir "$IT_WORK/pki" --agent web9 --system SYS-1

# report -o: the file that could not be written, and why.
REP=(report "${R[@]}" --register "$IT_ROOT/deploy/examples/register.yml"
	--profile-dir "$IT_ROOT/rules/compliance" --archive "$A" --format csv)
"$IT_CLI" "${REP[@]}" -o "$IT_WORK/report.csv" 2>"$IT_WORK/err" || it_fail "report: $(cat "$IT_WORK/err")"
for o in "$IT_WORK/no/such/folder.csv:No such file or directory" "/dev/full:No space left on device"; do
	rc=0
	"$IT_CLI" "${REP[@]}" -o "${o%%:*}" 2>"$IT_WORK/err" || rc=$?
	[[ $rc == 2 ]] || it_fail "report -o ${o%%:*}: exit $rc, want 2"
	it_has "cannot write ${o%%:*}: ${o#*:}" <"$IT_WORK/err" || it_fail "report -o ${o%%:*}: $(cat "$IT_WORK/err")"
done
full "report to stdout" "${REP[@]}"

# A report that cannot be written whole leaves the last one as it was: on a
# full file system (a 1 MiB tmpfs, filled) the old report.csv is intact and
# no temporary file stays behind.
if (($(id -u) == 0)) && mkdir -p "$IT_WORK/small" &&
	mount -t tmpfs -o size=1m minisoc-it "$IT_WORK/small" 2>/dev/null; then
	trap 'umount -l "$IT_WORK/small" 2>/dev/null || true; it_cleanup' EXIT
	"$IT_CLI" "${REP[@]}" -o "$IT_WORK/small/report.csv" 2>"$IT_WORK/err" ||
		it_fail "report on the tmpfs: $(cat "$IT_WORK/err")"
	cp "$IT_WORK/small/report.csv" "$IT_WORK/report.before"
	dd if=/dev/zero of="$IT_WORK/small/fill" bs=4k 2>/dev/null || true
	rc=0
	"$IT_CLI" "${REP[@]}" -o "$IT_WORK/small/report.csv" 2>"$IT_WORK/err" || rc=$?
	[[ $rc == 2 ]] || it_fail "report -o on a full disk: exit $rc, want 2"
	it_has "cannot write $IT_WORK/small/report.csv: No space left on device" <"$IT_WORK/err" ||
		it_fail "report -o on a full disk: $(cat "$IT_WORK/err")"
	cmp -s "$IT_WORK/report.before" "$IT_WORK/small/report.csv" ||
		it_fail "the last report was cut by a failed write ($(wc -c <"$IT_WORK/small/report.csv") bytes left of $(wc -c <"$IT_WORK/report.before"))"
	[[ $(ls "$IT_WORK/small") == $'fill\nreport.csv' ]] || it_fail "left behind: $(ls "$IT_WORK/small")"
	umount "$IT_WORK/small"
else
	it_log "not root or no tmpfs: the full-disk report case is not run"
fi

# A consumer group: the alert it could not print stays pending (not XACKed).
it_redis XGROUP CREATE minisoc:alerts siem 0 >/dev/null
full "alerts --follow --group" alerts "${R[@]}" --follow --group siem --consumer c1
pending() { it_redis_raw XPENDING minisoc:alerts siem | sed -n 1p; }
[[ $(pending) == 1 ]] || it_fail "the alert not written was acknowledged: $(pending) pending, want 1"
# Written somewhere that works, it is printed (again) and acknowledged.
"$IT_CLI" alerts "${R[@]}" --follow --group siem --consumer c1 >"$IT_WORK/group.out" 2>&1 &
FPID=$!
IT_PIDS+=("$FPID")
acked() { [[ $(pending) == 0 ]]; }
it_wait_for 10 "the alert acknowledged once printed" acked
kill -TERM "$FPID"
wait "$FPID" || it_fail "the follower did not end cleanly on SIGTERM"
it_has "203.0.113.9" <"$IT_WORK/group.out" || it_fail "the pending alert not printed: $(cat "$IT_WORK/group.out")"
it_log "PASS"
