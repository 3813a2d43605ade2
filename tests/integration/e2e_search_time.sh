#!/usr/bin/env bash
# minisocctl search's TIME across the day change of Vietnam (UTC+7) and of
# UTC, and dates that do not exist:
#  A) two events 1 ms apart: 2026-11-30T23:59:59.999+07:00 (in the UTC day
#     file 2026-11-30) and 2026-12-01T00:00:00.000+07:00 (2026-11-30T17:00Z,
#     the same file). A local date is the searching process's day (TZ):
#     --from 2026-12-01 finds only the second at Asia/Ho_Chi_Minh, none at
#     UTC; a time with its zone is the same instant whatever TZ is.
#  B) a date that does not exist (2026-11-31, 2026-02-29, 2027-02-29) is a
#     usage error (exit 2, "bad time"), not quietly the next month's first
#     days; 2028-02-29 (a leap year) is a date.
#  C) --from after --to finds nothing (exit 1), no error.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_search_time.sh BUILD_DIR}"
command -v zstd >/dev/null || { it_log "SKIP: zstd not installed"; exit 77; }
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

A=$IT_WORK/archive
mkdir -p "$A/SYS-1"
# 1796057999999 = 2026-11-30T16:59:59.999Z, 1796058000000 = 2026-11-30T17:00:00Z
printf '%s\tweb1\t1\t/var/log/x\tlast of November\n%s\tweb1\t2\t/var/log/x\tfirst of December\n' \
	1796057999999 1796058000000 | zstd -q >"$A/SYS-1/2026-11-30.0.zst"
printf '%s\tweb1\t3\t/var/log/x\tleap day\n' 1835395200000 | zstd -q >"$A/SYS-1/2028-02-29.0.zst"

# srch TZ ARGS...: the matched lines' texts, comma-separated; the exit status in RC.
srch() {
	local tz=$1
	shift
	RC=0
	OUT=$(TZ=$tz "$IT_CLI" search -A "$A" "$@" 2>"$IT_WORK/err" | sed 's/.* | //' | paste -sd, -) || RC=$?
}
want() {	# want RC OUT DESCRIPTION
	[[ $RC == "$1" && $OUT == "$2" ]] || it_fail "$3: exit $RC, '$OUT' ($(cat "$IT_WORK/err")), want exit $1, '$2'"
}

# A) local dates and zones
srch Asia/Ho_Chi_Minh --from 2026-12-01 --to 2026-12-02
want 0 "first of December" "local December 1st at UTC+7"
srch Asia/Ho_Chi_Minh --from 2026-11-30 --to 2026-12-01
want 0 "last of November" "local November 30th at UTC+7"
srch UTC --from 2026-12-01 --to 2026-12-02
want 1 "" "December 1st at UTC"
srch UTC --from 2026-11-30 --to 2026-12-01
want 0 "last of November,first of December" "November 30th at UTC"
for tz in UTC Asia/Ho_Chi_Minh; do
	srch $tz --from 2026-12-01T00:00+07:00 --to 2026-12-01T00:00:01+07:00
	want 0 "first of December" "an instant with its zone (TZ=$tz)"
	srch $tz --from 2026-11-30T16:59:59Z --to 2026-11-30T17:00:00Z
	want 0 "last of November" "an instant in UTC (TZ=$tz)"
done

# B) dates that do not exist, and one that does
for d in 2026-11-31 2026-02-29 2027-02-29 2026-13-01 2026-04-31T00:00Z 2026-06-31T08:00+07:00; do
	srch Asia/Ho_Chi_Minh --from "$d" --to 2029-01-01
	[[ $RC == 2 ]] && grep -q "bad time $d" "$IT_WORK/err" ||
		it_fail "--from $d: exit $RC, '$OUT' ($(cat "$IT_WORK/err")), want exit 2 and 'bad time'"
	srch Asia/Ho_Chi_Minh --from 2026-01-01 --to "$d"
	[[ $RC == 2 ]] || it_fail "--to $d: exit $RC, want 2"
done
srch UTC --from 2028-02-29 --to 2028-03-01
want 0 "leap day" "2028-02-29 (a leap year)"

# C) an empty range
srch UTC --from 2026-12-02 --to 2026-11-01
want 1 "" "--from after --to"
it_log "PASS"
