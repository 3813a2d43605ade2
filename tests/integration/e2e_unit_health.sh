#!/usr/bin/env bash
# The agent's health report under its systemd unit: the agent started with
# the /proc view and the clock filter that deploy/systemd/minisoc-agent.service
# (and minisoc-agent-capture.service) give it – a private proc mount with the
# unit's ProcSubset= and ProtectProc= (subset=pid, hidepid=…), the @clock
# system calls failing with EPERM when ProtectClock=yes, run as an
# unprivileged user like User=minisoc, the clock calls that the units'
# SystemCallFilter= allow list leaves out failing with EPERM too (systemd
# 252's @system-service has no adjtimex nor clock_adjtime) – still reports what the compliance
# report and the SOC read: the clock's state (adjtimex: clock.esterror_us,
# the clock_synced check), a root process named in health.antimalware as
# running (not "unknown"), the host's uptime and boot id.
# Needs root (mount namespace, setpriv); skipped (77) otherwise.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${1:?usage: e2e_unit_health.sh BUILD_DIR}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/../.." && pwd)
source "$ROOT/tests/systemd_filter.sh"
if [[ $(id -u) != 0 ]] || ! unshare --mount true 2>/dev/null; then
	echo "SKIP: needs root and mount namespaces"
	exit 77
fi
it_init "$BUILD"
# A python3 the unprivileged user can run (not one under /root).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
it_pki "$IT_WORK/pki" web1 web2
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# A root process the agents look for, as for clamd.
cp /bin/sleep "$IT_WORK/it-antimal"
it_start antimal "$IT_WORK/it-antimal" 600
chmod 0755 "$IT_WORK"
printf 'a line\n' >"$IT_WORK/app.log"
chmod 0644 "$IT_WORK/app.log"

# unit_sandbox UNIT: the proc mount options and the failing system calls
# its settings stand for (systemd.exec(5)).
unit_sandbox() {
	local u=$ROOT/deploy/systemd/$1 opts=() v
	v=$(sed -n 's/^ProcSubset=//p' "$u" | tail -n1)
	[[ $v == pid ]] && opts+=(subset=pid)
	v=$(sed -n 's/^ProtectProc=//p' "$u" | tail -n1)
	[[ -n $v && $v != default ]] && opts+=("hidepid=$v")
	PROC_OPTS=$(IFS=,; echo "${opts[*]:-defaults}")
	# The clock calls the unit's filters refuse: ProtectClock= and the
	# SystemCallFilter= lines (an allow list without them refuses them too).
	local c d=()
	for c in adjtimex clock_adjtime clock_settime settimeofday; do
		if sc_available; then
			sc_allowed "$u" "$c" || d+=("$c")
		else
			v=$(sed -n 's/^ProtectClock=//p' "$u" | tail -n1)
			[[ $v == yes || $v == true ]] && d+=("$c")
		fi
	done
	DENIED=$(IFS=,; echo "${d[*]:--}")
}

H() { it_redis_raw HGET "minisoc:agent:$1:health" "$2"; }
has_report() { [[ -n $(H "$1" received_ms) ]]; }
for pair in web1:minisoc-agent.service web2:minisoc-agent-capture.service; do
	name=${pair%%:*} unit=${pair#*:}
	unit_sandbox "$unit"
	it_log "$unit: proc mounted with $PROC_OPTS, failing system calls: $DENIED"
	dir=$IT_WORK/$name
	mkdir -p "$dir/state"
	cp "$IT_WORK/pki/ca.crt" "$IT_WORK/pki/agent-$name.crt" "$IT_WORK/pki/agent-$name.key" "$dir/"
	it_agent_conf "$dir/agent.yml" "$dir" "$name" "$CPORT" "$dir/state" beginning "$IT_WORK/app.log"
	sed -i -e 's#'"$dir"'/agent-#'"$dir"'/agent-#' -e 's/^uplink:$/uplink:\n  health_ms: 300/' \
		"$dir/agent.yml"
	printf 'health:\n  antimalware: [it-antimal]\n' >>"$dir/agent.yml"
	chown -R nobody "$dir"
	it_start "$name" unshare --mount --propagation private -- sh -c '
		mount -t proc -o "$1" proc /proc || exit 1
		shift
		exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"' sh "$PROC_OPTS" \
		"$PY" "$HERE/seccomp_exec.py" "$DENIED" -- "$IT_AGENT" -c "$dir/agent.yml"
	it_wait_for 20 "$name: a health report" has_report "$name"
done

bad=0
for name in web1 web2; do
	for k in clock.esterror_us uptime_s agent_uptime_s boot_id; do
		[[ -n $(H "$name" "$k") ]] || { it_log "$name: health field $k missing"; bad=1; }
	done
	am=$(H "$name" antimalware.it_antimal)
	[[ $am == running ]] || { it_log "$name: antimalware.it_antimal=$am, want running"; bad=1; }
done
((bad == 0)) || it_fail "the agents' health reports under their units' sandbox are incomplete"
it_log "PASS: the agents under their units report clock, uptime, boot id and anti-malware"
