#!/usr/bin/env bash
# The archive and the register together: events of an agent that is an
# asset of a system go to that system's folder, the others' to
# "unassigned"; day files are kept for the retention the system's level
# requires under its framework's profile (rules/compliance, here: level 3
# of the new framework, 3 months, plus archive.keep_margin_days) and then
# deleted, while folders of no registered system keep everything.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_archive_retention.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1 stray
it_start_redis
REG=$IT_WORK/register.yml
cat >"$REG" <<YML
province: "Tỉnh thử nghiệm"
systems:
  - id: SYS-A
    name: "Hệ thống một cửa điện tử"
    type: citizen-facing
    owner: "Văn phòng UBND tỉnh"
    operator: "Trung tâm dữ liệu"
    framework: new
    level: 3
    dossier: approved
    decision: {number: "2/QĐ-UBND", date: 2025-01-02}
    assets:
      - {host: web1, agent: web1}
YML
ARCH=$IT_WORK/archive
day() { date -u -d "$1" +%F; }
OLD_KEEP=$(day '-100 days')   # within 3 months + 31 days: kept
OLD_GONE=$(day '-130 days')   # past it: deleted
mkdir -p "$ARCH/SYS-A" "$ARCH/unassigned"
for f in "SYS-A/2000-01-01.0.zst" "SYS-A/$OLD_GONE.0.zst" "SYS-A/$OLD_KEEP.0.zst" \
	"SYS-A/$OLD_KEEP.1.zst" "SYS-A/notes.txt" "unassigned/2000-01-01.0.zst"; do
	: >"$ARCH/$f"
done

CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
register:
  path: $REG
archive:
  path: $ARCH
  sync_ms: 100
  profiles: $IT_ROOT/rules/compliance
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

gone() { [[ ! -e $ARCH/$1 ]]; }
it_wait_for 10 "the day files past retention deleted" gone "SYS-A/2000-01-01.0.zst"
gone "SYS-A/$OLD_GONE.0.zst" || it_fail "$OLD_GONE (130 days) was kept"
for f in "SYS-A/$OLD_KEEP.0.zst" "SYS-A/$OLD_KEEP.1.zst" "SYS-A/notes.txt" "unassigned/2000-01-01.0.zst"; do
	[[ -e $ARCH/$f ]] || it_fail "$f was deleted"
done
it_log_has collector "event=archive_expired system=SYS-A file=\"2000-01-01.0.zst\" keep_days=1[0-9][0-9]" ||
	it_fail "expiry not logged with the level's keep_days"

# Each agent's lines go to its system's folder.
for a in web1 stray; do
	: >"$IT_WORK/$a.log"
	it_agent_conf "$IT_WORK/$a.yml" "$IT_WORK/pki" "$a" "$CPORT" "$IT_WORK/state-$a" beginning "$IT_WORK/$a.log"
	it_start "agent_$a" "$IT_AGENT" -c "$IT_WORK/$a.yml"
	it_wait_for 10 "hello of $a" it_log_has collector "event=hello .*agent=$a"
done
# (the UTC day before the lines: at midnight they may fall on the next one)
DAY0=$(date -u +%F)
for i in 1 2 3 4 5; do echo "$(it_syslog_now) web1 app[1]: web1 line $i"; done >>"$IT_WORK/web1.log"
for i in 1 2 3; do echo "$(it_syslog_now) stray app[1]: stray line $i"; done >>"$IT_WORK/stray.log"
count() { "$IT_CLI" search -A "$ARCH" --system "$1" --count --text "$2 line" 2>/dev/null || true; }
it_wait_for 10 "web1's lines under SYS-A" bash -c "[[ \$('$IT_CLI' search -A '$ARCH' --system SYS-A --count --text 'web1 line' 2>/dev/null) == 5 ]]"
it_wait_for 10 "stray's lines under unassigned" bash -c "[[ \$('$IT_CLI' search -A '$ARCH' --system unassigned --count --text 'stray line' 2>/dev/null) == 3 ]]"
[[ $(count SYS-A stray) == 0 ]] || it_fail "stray's lines under SYS-A"
[[ $(count unassigned web1) == 0 ]] || it_fail "web1's lines under unassigned"
ls "$ARCH/SYS-A/$DAY0".*.zst >/dev/null 2>&1 || ls "$ARCH/SYS-A/$(date -u +%F)".*.zst >/dev/null ||
	it_fail "no file for today (UTC) under SYS-A"

it_stop agent_web1
it_stop agent_stray
it_stop collector
it_log "PASS"
