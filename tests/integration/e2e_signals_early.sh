#!/usr/bin/env bash
# SIGUSR1 and SIGHUP sent while a daemon is still starting (loading its
# rules, scanning its spool) do not kill it with the signal's default
# action: the collector, with 4,000 rules to load, gets a SIGHUP and a
# stream of SIGUSR1 from the moment it runs main until it listens, and must
# then be running and answer with its counters. (The agent takes the same
# two steps, ms_signals_hold first thing and its handlers before the spool
# scan, but starts too fast here for a test to hit the window.)
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_signals_early.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
# Enough rules that loading them takes a while: the window to hit.
mkdir -p "$IT_WORK/rules"
python3 - "$IT_WORK/rules" <<'PY'
import sys
for i in range(4000):
    with open(f"{sys.argv[1]}/r{i}.yml", "w") as f:
        f.write(f"title: Slow start {i}\nid: 00000000-0000-4000-8000-{i:012d}\n"
                f"status: test\nlogsource:\n  product: linux\n"
                f"detection:\n  sel:\n    message|contains|all: ['k{i}a', 'k{i}b']\n"
                f"  condition: sel\nlevel: low\n")
PY
printf 'rules:\n  path: %s\n' "$IT_WORK/rules" >>"$IT_WORK/collector.yml"

# Whether PID has reached main: it blocks SIGHUP and SIGUSR1 first thing
# (ms_signals_hold) until their handlers are installed (SigCgt); before
# main, in the loader, nothing can catch them.
holding() {
	local m
	for m in SigBlk SigCgt; do
		m=$(sed -n "s/^$m:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null) || return 1
		[[ -n $m ]] && (((16#$m & 0x201) == 0x201)) && return 0
	done
	return 1
}
# pester NAME PID LOGLINE: from main on, one HUP and a USR1 every 5 ms until
# LOGLINE is logged (60 s at most: it takes 2-3 s alone, far more on a loaded
# machine under ASan); the process must still be alive then.
pester() {
	local deadline=$(($(date +%s) + 60)) sent=0
	up() { it_log_has "$1" "$2"; }
	reached() { holding "$2" || up "$1" "$3"; }
	it_wait_for 60 "$1 to reach main" reached "$1" "$2" "$3"
	until up "$1" "$3"; do
		sent=$((sent + 1))
		kill -0 "$2" 2>/dev/null || it_fail "$1 died while starting: $(tail -n3 "$IT_WORK/logs/$1.log")"
		kill -USR1 "$2" 2>/dev/null || true
		# (one SIGHUP: libevent runs the handler once per signal, and each
		# reload loads every rule again)
		((sent > 1)) || kill -HUP "$2" 2>/dev/null || true
		(($(date +%s) < deadline)) || it_fail "$1 not up within 60 s"
		sleep 0.005
	done
	kill -0 "$2" 2>/dev/null || it_fail "$1 died while starting"
	((sent > 0)) || it_fail "$1 was up before a signal could be sent (nothing tested)"
	it_wait_for 60 "$1 to log its counters" it_log_has "$1" "event=stats why=sigusr1"
	it_log "$1: $sent rounds of SIGUSR1 and SIGHUP while it started"
}

it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
pester collector "$IT_PID_collector" "event=listening"
it_log "collector survived signals while starting"

# A burst of SIGHUP is one reload, not one per signal (each loads every rule).
reloads() { grep -c 'event=reload result=ok' "$IT_WORK/logs/collector.log" || true; }
before=$(reloads)
for i in $(seq 1 50); do kill -HUP "$IT_PID_collector"; done
reloaded() { (($(reloads) > before)); }
it_wait_for 30 "the burst's reload" reloaded
stats_before=$(grep -c 'why=sigusr1' "$IT_WORK/logs/collector.log")
kill -USR1 "$IT_PID_collector"
answered() { (($(grep -c 'why=sigusr1' "$IT_WORK/logs/collector.log") > stats_before)); }
it_wait_for 30 "counters after the burst" answered
n=$(($(reloads) - before))
((n <= 3)) || it_fail "50 SIGHUPs made $n reloads"
it_log "50 SIGHUPs in a burst: $n reload(s)"
it_stop collector
it_log "PASS"
