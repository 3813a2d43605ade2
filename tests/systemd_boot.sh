#!/usr/bin/env bash
# tests/systemd_boot.sh – the units of deploy/systemd under a real systemd:
# boots a Debian 12 container (systemd-nspawn -b, systemd as its PID 1),
# installs minisoc in it as README.md ("Installing with systemd") and
# docs/operations.md tell a sysadmin (user minisoc, Redis with a password,
# minisocctl pki init, an agent enrolled with a token, the example
# configs), starts every unit and checks what each does:
#   collector, agent, capture agent (on lo), dashboard, forwarder (to a
#   stand-in center on loopback) start, pass ExecStartPre --check and stay
#   up; sshd brute-force lines appended to the followed /var/log/auth.log
#   become alerts in Redis, a scan on lo a network alert, a high alert
#   reaches the center; systemctl reload minisoc-collector keeps its
#   process; minisoc-crl.service signs the CRL and its ExecStartPost
#   reloads the collector; minisoc-report.service publishes; both timers
#   are scheduled; a killed collector is restarted and a broken config is
#   refused by ExecStartPre; the agents' health reports carry the clock's
#   state, uptime and boot id under their units' filters; no unit logged
#   an error or a refused system call; systemd-analyze verify is clean.
# Also says whether PCRE2's JIT runs in the collector's unit
# (MemoryDenyWriteExecute=yes: it does not, the interpreter does).
#
# Not in the ctest suite: the first run debootstraps a base (a few minutes,
# Debian's archive through this host's apt sources), each run copies it and
# boots (about a minute). Run by hand after changing a unit:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF && cmake --build build -j2
#   sudo tests/systemd_boot.sh build
#
# Needs root, systemd-nspawn (systemd-container) and, for the base,
# debootstrap; exits 77 when it cannot boot. The binaries must run on
# Debian 12 (build them there). Environment:
#   MINISOC_BOOT_BASE  the debootstrapped base, made once and kept
#                      (default /var/tmp/minisoc-boot-base)
#   MINISOC_BOOT_WORK  the container's root for this run (default
#                      /var/tmp/minisoc-boot-root; removed at the end)
#   MINISOC_BOOT_KEEP=1  leave the container running (its PID 1 is printed:
#                      nsenter -t PID -a bash to look around)
set -uo pipefail
BUILD=${1:?usage: systemd_boot.sh BUILD_DIR}
BUILD=$(cd -- "$BUILD" && pwd) || exit 2
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${MINISOC_BOOT_BASE:-/var/tmp/minisoc-boot-base}
WORK=${MINISOC_BOOT_WORK:-/var/tmp/minisoc-boot-root}
MACHINE=minisoc-boot
log() { printf 'systemd_boot: %s\n' "$*" >&2; }
skip() { echo "SKIP: $*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "needs root"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (apt-get install systemd-container)"
command -v nsenter >/dev/null || skip "no nsenter"
for b in collector/minisoc-collector collector/minisoc-forward collector/web/minisoc-web \
	agent/minisoc-agent cli/minisocctl; do
	[[ -x $BUILD/$b ]] || { echo "FAIL: $BUILD/$b missing (build first)"; exit 1; }
done

# The runtime packages of the binaries (docs/operations.md's lists), Redis,
# and what the checks use.
PKGS=systemd,systemd-sysv,dbus,libevent-2.1-7,libevent-core-2.1-7,libevent-extra-2.1-7
PKGS+=,libevent-openssl-2.1-7,libevent-pthreads-2.1-7,libssl3,libhiredis0.14,libyaml-0-2
PKGS+=,libpcap0.8,libpcre2-8-0,libhyperscan5,zlib1g,libzstd1,redis-server,redis-tools,openssl
PKGS+=,ca-certificates,curl,procps,iproute2,python3

if [[ ! -e $BASE/.minisoc-boot-base ]]; then
	command -v debootstrap >/dev/null || skip "no base in $BASE and no debootstrap (apt-get install debootstrap)"
	# The Debian archive this host's apt uses (sources.list or deb822).
	mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v security | sed -n 1p)
	[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null)
	[[ -n $mirror ]] || skip "no Debian archive in this host's apt sources"
	log "debootstrap bookworm into $BASE from $mirror (once)"
	rm -rf "$BASE"
	debootstrap --variant=minbase --include="$PKGS" bookworm "$BASE" "$mirror" \
		>"$BASE.log" 2>&1 || skip "debootstrap failed, see $BASE.log"
	echo "$MACHINE" >"$BASE/etc/hostname"
	touch "$BASE/.minisoc-boot-base"
fi

log "copying the base into $WORK"
rm -rf "$WORK"
cp -a "$BASE" "$WORK" || { echo "FAIL: cannot copy $BASE"; exit 1; }
mkdir -p "$WORK/root/src/build"
cp -r "$ROOT/deploy" "$ROOT/rules" "$WORK/root/src/"
for b in collector/minisoc-collector collector/minisoc-forward collector/web/minisoc-web \
	agent/minisoc-agent cli/minisocctl; do
	cp "$BUILD/$b" "$WORK/root/src/build/"
done
cp "$ROOT/tests/systemd_boot_inside.sh" "$WORK/root/inside.sh"

# Boot. --private-network: the container has its own loopback, so its Redis
# and ports meet nothing of the host's. --system-call-filter=@clock: nspawn
# refuses the @clock calls to a container without CAP_SYS_TIME, which would
# hide what the units' own filters do with adjtimex (the container still
# cannot set the clock). Where the host's PID 1 is not systemd, nspawn can
# neither register nor make a scope: --register=no --keep-unit.
opts=(-b -D "$WORK" -M "$MACHINE" --private-network --console=passive --system-call-filter=@clock)
[[ -d /run/systemd/system ]] || opts+=(--register=no --keep-unit)
rm -rf "/run/systemd/nspawn/propagate/$MACHINE"
log "systemd-nspawn ${opts[*]}"
setsid systemd-nspawn "${opts[@]}" >"$WORK.nspawn.log" 2>&1 </dev/null &
NSPAWN=$!
cleanup() {
	if [[ ${MINISOC_BOOT_KEEP:-0} == 1 ]]; then
		log "kept: systemd-nspawn $NSPAWN, container PID 1 ${PID1:-?}; kill $NSPAWN to stop it"
		return
	fi
	kill "$NSPAWN" 2>/dev/null
	for _ in $(seq 60); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.5; done
	kill -9 "$NSPAWN" 2>/dev/null
	rm -rf "$WORK" "$WORK.nspawn.log"
}
trap cleanup EXIT

PID1=
for _ in $(seq 100); do
	kill -0 "$NSPAWN" 2>/dev/null || break
	PID1=$(pgrep -P "$NSPAWN" -x systemd | sed -n 1p)
	[[ -n $PID1 ]] && break
	sleep 0.2
done
if [[ -z $PID1 ]]; then
	cat "$WORK.nspawn.log" >&2
	skip "systemd-nspawn could not boot systemd here (log above)"
fi
state=$(timeout 120 nsenter -t "$PID1" -a systemctl is-system-running --wait 2>&1)
log "container booted (PID 1 is $PID1 on the host): $state"
[[ $state == running || $state == degraded ]] || skip "the container's systemd did not come up: $state"

nsenter -t "$PID1" -a /bin/bash /root/inside.sh
rc=$?
((rc == 0)) && log "PASS" || log "FAIL ($rc)"
exit $rc
