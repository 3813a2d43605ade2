#!/usr/bin/env bash
# bench/run.sh – the collector benchmark, with rsyslog side by side: events/s,
# CPU-seconds of the receiving process per million events, RSS and latency
# (p50, p99, p99.9 from an event's generation to its alert being visible to
# an XREAD BLOCK client), flat out and at a fixed rate, for the collector
# with no rules, the shipped rules, and the shipped rules plus the public
# SigmaHQ folders; then rsyslogd receiving the same events as syslog over
# TLS. Real processes on loopback, mutual TLS 1.3, a real Redis. The goals'
# figures go in docs/performance.md, every full run in docs/performance-log.md.
#
#   bench/run.sh [--build DIR] [--agents N] [--events E] [--seconds S] [--mark M]
#                [--configs "none default sigmahq"] [--rsyslog-conf FILE]
#                [--smoke] [--dir DIR] [--keep] [--no-rsyslog] [--aggregate S]
#                [--warmup W] [--repeat R] [--tick N]
#
#   --build DIR    a Release build with bench/loadgen (default: build)
#   --agents N     load generator connections (default 4), each its own certificate
#   --events E     events of each flat-out run (default 2,000,000)
#   --seconds S    length of each fixed-rate run (default 20; the collector's
#                  alert aggregation windows, 60 s, end in numbers about a minute into
#                  its fixed-rate run: --seconds 100 includes that, see
#                  docs/performance-log.md, "Summaries of a flood")
#   --mark M       about one event in M carries the latency marker (default 100)
#   --configs LIST collector configurations (default "none default sigmahq"):
#                  none     the marker rule only
#                  default  the shipped rules/ and the marker rule
#                  sigmahq  rules/, the SigmaHQ folders linux, web and network
#                           (MINISOC_SIGMAHQ, default ../shared/corpora/sigmahq)
#                           and the marker rule
#                  archive  as default, with the event archive on (archive.path
#                           in the work folder, zstd level 1): its cost is the
#                           difference to default
#                  (the built-in SSH detector is off in all three); "" runs
#                  rsyslog alone, flat out
#   --rsyslog-conf FILE  rsyslog config template (default bench/rsyslog.conf)
#   --smoke        a few seconds in all (CI): 2 agents, 20,000 events, 2 s at a
#                  fixed rate, the "default" configuration; fails on any loss
#   --dir DIR      where the work folder goes (default: $TMPDIR or /tmp)
#   --keep         keep the work folder (configs, logs, raw latencies; for the
#                  collector also latency-RUN.detail, see bench/alert_latency.py)
#   --no-rsyslog   the collector's runs only (A/B comparisons of two builds)
#   --aggregate S  the collector's alerts.aggregate_window_s (default: the
#                  shipped 60; 0 = every alert goes to Redis on its own, as
#                  runs before 2026-11-26 did); the marker rule is never folded
#   --warmup W     events sent flat out to each receiver after its start and
#                  before its measured runs, outside the figures (default
#                  20,000; 0 = none, as runs before 2026-11-26 09:30 did): the
#                  collector builds a logsource's rule route and Hyperscan
#                  databases on that logsource's first event, a one-time cost
#                  that is printed on its own ("warm-up" lines), not spread
#                  over the events of the first run
#   --repeat R     flat-out runs per receiver (default 3; --smoke 1): each is a
#                  row ("sat k/R"); the goals, the vs_rsyslog ratio of the
#                  flat-out runs and the half rate use the run with the median
#                  CPU-s/1M (this VM's speed varies from run to run)
#   --tick N       lines per simulated agent read tick (bench/loadgen --tick,
#                  default 256): the lines of a tick go file by file, as the
#                  agent sends them; 1 = every event on its own, the files
#                  interleaved line by line (as all runs before 2026-11-26
#                  14:00 did). Both receivers get the same order
#
# Environment: COLLECTOR_TUNABLES is the collector's GLIBC_TUNABLES (default
# glibc.malloc.hugetlb=1, as deploy/systemd/minisoc-collector.service runs
# it: the heap on transparent huge pages; "" = glibc's defaults, as all runs
# before 2026-11-26 18:00 did). rsyslogd runs with the environment as given.
# COLLECTOR_YAML is appended to every collector configuration, for A/B runs
# of a setting (e.g. COLLECTOR_YAML=$'limits:\n  heap_prefault: 0').
#
# Exit status: 0, 1 on an error (or, with --smoke, any lost event), 77 when
# rsyslogd or one of its modules (imtcp, lmnsd_ossl, omhiredis, impstats) is
# missing (deploy/install-deps.sh installs them). The rsyslogd is our own
# (-n -f FILE -i PIDFILE, its own work folder and ports, on loopback); the
# system's configuration and service are never touched.
#
# How (see docs/performance.md):
#  - build/bench/loadgen sends its builtin mix of log lines from N
#    connections, flat out or at a fixed total rate: to the collector as
#    minisoc batches (it waits for the ACKs: when it ends, every event is
#    durably handled), to rsyslogd as octet-counted syslog (RFC 5424) over
#    TLS;
#  - per configuration R runs flat out with E events each, then one at half
#    of the rate the median one reached for S seconds; rsyslogd gets R runs
#    flat out and one
#    at each of those rates, so every ratio compares the same load (a rate
#    the receiver does not keep up with is marked "*");
#  - CPU-s per million events = (utime + stime) from /proc/<pid>/stat of the
#    receiving process (all its threads) over the run / events received;
#    the collector is single-threaded: it can use one core at most;
#  - events/s = events / (from the load generator's start to the later of
#    its end and the last marked event's arrival in Redis);
#  - RSS = VmRSS at the end of the run (VmHWM, the peak, in the raw lines);
#  - about one event in M carries "MSEQ <run> <n> t=<ns>" (CLOCK_REALTIME
#    at send; the load generator says how many it marked); the collector's
#    marker rule (tests/integration/rules-seq) and rsyslog's literal test
#    push it to Redis; bench/alert_latency.py takes its arrival time minus t
#    (XREAD BLOCK on the alert stream; BLMPOP on rsyslog's list, as 8.2302's
#    omhiredis has no stream mode; arrival = the reply there to read,
#    before the reader parses it – a reply that came in parts once its
#    last part is read and parsed – for both);
#  - nothing lost: the load generator's sent == acked == the collector's
#    events_in (SIGUSR1 counters), rsyslog's imtcp "submitted" (impstats)
#    == sent, and every marked event's alert or line arrived;
#  - counts that do not depend on the machine's load, per million events
#    (raw lines): the collector's read and write system calls (syscr, syscw
#    of /proc/<pid>/io), its context switches, and the Redis commands it
#    caused (INFO commandstats: EVAL + EVALSHA, all commands).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname -- "$here")
build=$top/build
agents=4
events=2000000
secs=20
mark=100
configs="none default sigmahq"
rsconf=$here/rsyslog.conf
smoke=0
keep=0
no_rsyslog=0
aggregate=60
warmup=20000
repeat=3
tick=256
collector_tunables=${COLLECTOR_TUNABLES-glibc.malloc.hugetlb=1}
wdir=${TMPDIR:-/tmp}
sigmahq=${MINISOC_SIGMAHQ:-$top/../shared/corpora/sigmahq}
cmdline="bench/run.sh $*"
while (($#)); do
	case $1 in
	--build) build=$(cd -- "$2" && pwd); shift 2 ;;
	--agents) agents=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--mark) mark=$2; shift 2 ;;
	--configs) configs=$2; shift 2 ;;
	--rsyslog-conf) rsconf=$2; shift 2 ;;
	--smoke) smoke=1; agents=2; events=20000; secs=2; configs=default; warmup=2000; repeat=1; shift ;;
	--dir) wdir=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--no-rsyslog) no_rsyslog=1; shift ;;
	--aggregate) aggregate=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--tick) tick=$2; shift 2 ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --repeat needs a count >= 1" >&2; exit 2; }
for c in $configs; do
	case $c in none | default | sigmahq | archive) ;; *) echo "bench/run.sh: unknown configuration $c" >&2; exit 2 ;; esac
done

collector_bin=$build/collector/minisoc-collector
loadgen_bin=$build/bench/loadgen
for b in "$collector_bin" "$loadgen_bin"; do
	[[ -x $b ]] || { echo "bench/run.sh: $b not built (cmake --build $build)" >&2; exit 1; }
done
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[[ $btype == Release ]] || echo "bench/run.sh: warning: $build is a '$btype' build, not Release" >&2
if [[ " $configs " == *" sigmahq "* ]]; then
	for d in linux web network; do
		[[ -d $sigmahq/$d ]] || { echo "bench/run.sh: $sigmahq/$d missing (MINISOC_SIGMAHQ)" >&2; exit 1; }
	done
fi

# Debian's own rsyslogd, our config: never the system's /etc/rsyslog.conf.
rsyslogd_bin=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
moddir=
for d in /usr/lib/*/rsyslog /usr/lib/rsyslog /usr/lib64/rsyslog; do
	[[ -f $d/imtcp.so ]] && { moddir=$d; break; }
done
for m in imtcp lmnsd_ossl omhiredis impstats; do
	if [[ ! -x $rsyslogd_bin || -z $moddir || ! -f $moddir/$m.so ]]; then
		echo "bench/run.sh: skipped: rsyslogd or its module $m is not installed" \
			"(rsyslog rsyslog-openssl rsyslog-hiredis: deploy/install-deps.sh)" >&2
		exit 77
	fi
done

work=$(mktemp -d "$wdir/minisoc-bench-run.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do [[ -z $p ]] || kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do [[ -z $p ]] || wait "$p" 2>/dev/null || true; done
	if ((keep)); then echo "# work folder kept: $work"; else rm -rf -- "$work"; fi
	it_free_ports_release
}
trap cleanup EXIT
mkdir -p "$work/logs"
die() { echo "bench/run.sh: $*" >&2; exit 1; }
# Ports reserved as the integration tests reserve theirs (it_free_port in
# tests/integration/lib.sh): the smoke run beside them under ctest -j never
# takes a port one of them holds, nor they one of its.
# shellcheck source=../tests/integration/lib.sh
source "$here/../tests/integration/lib.sh"
free_port() { it_free_port; }
wait_for() { # wait_for TIMEOUT_S WHAT COMMAND...
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		((SECONDS < deadline)) || die "timed out waiting for $what"
		sleep 0.05
	done
}
log_has() { grep -qs -E -- "$2" "$work/logs/$1.log"; }
forget() { # forget PID: reaped, never signal that number again
	local p keep=()
	for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# --- measuring -------------------------------------------------------------
tck=$(getconf CLK_TCK)
now_ns() { date +%s%N; }
ticks() { # ticks PID: utime + stime of all its threads, in clock ticks
	local line rest
	read -r line <"/proc/$1/stat"
	rest=${line##*) }
	read -r -a f <<<"$rest"
	echo $((f[11] + f[12]))
}
sticks() { # sticks PID: stime of all its threads (the kernel's share), in clock ticks
	local line rest
	read -r line <"/proc/$1/stat"
	rest=${line##*) }
	read -r -a f <<<"$rest"
	echo $((f[12]))
}
# steal, steal_pct: the host's steal over a run
. "$here/steal.sh"
io_count() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/io"; }
ctxsw() { awk '$1 ~ /ctxt_switches:/ { n += $2 } END { print n }' "/proc/$1/status"; }
# redis_calls: "EVAL+EVALSHA ALL" calls so far, from INFO commandstats
redis_calls() {
	rcli info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ { all += $3 }
		/^cmdstat_eval:|^cmdstat_evalsha:/ { ev += $3 } END { print ev + 0, all + 0 }'
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
percentiles() { # percentiles FILE: "n min p50 p99 p99.9 max" in ms (nearest rank)
	sort -n "$1" | awk 'function r(p,  i) { i = int(NR * p); if (i < NR * p) i++; if (i < 1) i = 1; return v[i] / 1e6 }
		{ v[NR] = $1 }
		END { if (NR == 0) { print "0 - - - - -"; exit }
			printf "%d %.2f %.2f %.2f %.2f %.2f\n", NR, v[1] / 1e6, r(0.50), r(0.99), r(0.999), v[NR] / 1e6 }'
}

# --- the setup: PKI, Redis ---------------------------------------------------
names=()
for ((i = 1; i <= agents; i++)); do names+=("lg$i"); done
MINISOC_PKI_DAYS=2 bash "$top/deploy/pki.sh" "$work/pki" "${names[@]}" >"$work/logs/pki.log" 2>&1 ||
	die "deploy/pki.sh failed (see $work/logs/pki.log)"
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
	--daemonize no >"$work/logs/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
wait_for 10 "redis" bash -c "[[ \$(redis-cli -p $rport ping 2>/dev/null) == PONG ]]"
rcli() { redis-cli -p "$rport" "$@"; }

echo "# bench/run.sh: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) CPUs," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# command: $cmdline"
echo "# build: $build ($btype); $agents agents; $events events flat out, ${secs} s at half that rate;" \
	"1 event in $mark marked"
echo "# collector environment: GLIBC_TUNABLES=$collector_tunables"
echo "# $("$rsyslogd_bin" -v | sed -n 1p); $(redis-server --version | cut -d' ' -f1-3)"
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"

rows=()   # the summary table
steals=() # host_steal_pct of each run
raw=()    # the raw numbers
warm=()   # one line per warm-up
lost_any=0
declare -A cpum   # CPU-s per million: cpum[system/config/run]
declare -A halfrate # the fixed rate of each configuration
declare -A p99v     # p99 latency in ms: p99v[system/config/run]
declare -A ratio    # vs_rsyslog: ratio[config/run]
declare -A satruns  # the flat-out runs: satruns[system/config] = "cpm:events/s ..."

# warm_up SYSTEM CONFIG PID PORT: $warmup events flat out, unmarked and
# outside the figures; its CPU (the one-time building of routes and
# prefilters on each logsource's first event) goes in a raw line and in
# the summary's "warm-up" line.
warm_up() {
	local sys=$1 cfg=$2 pid=$3 port=$4 c0 c1 before=0 lgl
	((warmup > 0)) || return 0
	lgl=$work/logs/loadgen-${sys:0:2}-$cfg-warmup.log
	if [[ $sys == rsyslog ]]; then before=$(rs_stat submitted); fi
	c0=$(ticks "$pid")
	"$loadgen_bin" --port "$port" --pki "$work/pki" --agents "$agents" --rate 0 --tick "$tick" \
		--events "$warmup" --mark 0 --run "${sys:0:2}-$cfg-warmup" \
		--mode "$( [[ $sys == rsyslog ]] && echo syslog || echo minisoc)" \
		--quiet >"$lgl" 2>&1 || die "loadgen (warm-up) failed: $(tail -n 3 "$lgl")"
	# minisoc: the load generator ends when every event is acknowledged
	if [[ $sys == rsyslog ]]; then rs_settle $((before + warmup)); fi
	c1=$(ticks "$pid")
	raw+=("$sys $cfg warm-up: events=$warmup ticks=$((c1 - c0)) clk_tck=$tck")
	warm+=("$(printf '%s %s: %d events, %.3f CPU-s' "$sys" "$cfg" "$warmup" \
		"$(awk -v t=$((c1 - c0)) -v k="$tck" 'BEGIN { print t / k }')")")
}

# run_load SYSTEM CONFIG PID PORT RATE [K]: one load generator run against
# the process PID listening on PORT (SYSTEM minisoc or rsyslog); RATE 0 =
# flat out, the K-th of $repeat (adds to satruns). Adds a row and a raw line.
run_load() {
	local sys=$1 cfg=$2 pid=$3 port=$4 rate=$5 k=${6:-1}
	local n id what expected lat reader_pid lgl line sent acked seconds lgrate
	local t0 t1 tlg c0 c1 r0 r1 counted=0 before=0 last wall cpus rss hwm
	local rn lmin p50 p99 p999 lmax got lost extra="" st0 st1 stp
	if ((rate == 0)); then
		n=$events what=saturation
	else
		n=$((rate * secs)) what="$rate/s"
	fi
	id=${sys:0:2}-$cfg-$( ((rate == 0)) && echo "sat$k" || echo "$rate")
	if ((rate == 0 && repeat > 1)); then what="sat $k/$repeat"; fi
	lat=$work/latency-$id.txt
	local reader_args=()
	if [[ $sys == rsyslog ]]; then
		rcli del minisoc:rsyslog >/dev/null
		reader_args=(--list minisoc:rsyslog)
		before=$(rs_stat submitted)
		local pushed0 failed0
		pushed0=$(rs_stat processed) failed0=$(rs_stat failed)
	else
		# Kept with the work folder: each alert's write, XADD and arrival times.
		reader_args=(--detail "$work/latency-$id.detail")
		collector_counters
		before=$events_in
		local alerts0=$alerts failed0=$alerts_failed
	fi
	# How many events carry the marker, the load generator says at its end
	# (a line that cannot carry one passes it on to the next): until then
	# the reader waits for n.
	python3 "$here/alert_latency.py" "$rport" "$id" "$n" "$lat" "${reader_args[@]}" \
		--expected-file "$work/expected-$id" --timeout 600 >"$work/logs/reader-$id.log" 2>&1 &
	reader_pid=$!
	pids+=("$reader_pid")
	wait_for 10 "latency reader" log_has "reader-$id" '^ready'

	lgl=$work/logs/loadgen-$id.log
	local sr0 sw0 cs0 ev0 all0 sr1 sw1 cs1 ev1 all1 k0 k1
	sr0=$(io_count "$pid" syscr) sw0=$(io_count "$pid" syscw) cs0=$(ctxsw "$pid")
	read -r ev0 all0 < <(redis_calls)
	c0=$(ticks "$pid") k0=$(sticks "$pid") r0=$(ticks "$redis_pid") st0=$(steal) t0=$(now_ns)
	"$loadgen_bin" --port "$port" --pki "$work/pki" --agents "$agents" --rate "$rate" --tick "$tick" \
		--events "$n" --mark "$mark" --run "$id" --mode "$( [[ $sys == rsyslog ]] && echo syslog || echo minisoc)" \
		--quiet >"$lgl" 2>&1 || die "loadgen failed: $(tail -n 3 "$lgl")"
	tlg=$(now_ns)
	line=$(grep '^loadgen: ' "$lgl" | tail -n1)
	[[ -n $line ]] || die "no summary line from loadgen: $(tail -n 3 "$lgl")"
	sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$line")
	acked=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$line")
	seconds=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
	lgrate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")
	expected=$(sed -n 's/^loadgen: .* marked=\([0-9]*\).*/\1/p' "$lgl" | tail -n1)
	[[ -n $expected ]] || die "no marked=K from loadgen: $(tail -n 3 "$lgl")"
	echo "$expected" >"$work/expected-$id.tmp"
	mv "$work/expected-$id.tmp" "$work/expected-$id"

	# Done when everything sent is counted (the collector: acknowledged
	# means handled) and the reader has every marked event, or nothing
	# moved for 5 s.
	if [[ $sys == rsyslog ]]; then rs_settle $((before + sent)); fi
	local deadline=$((SECONDS + 10))
	while kill -0 "$reader_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
	kill -TERM "$reader_pid" 2>/dev/null || true
	wait "$reader_pid" || die "latency reader failed: $(cat "$work/logs/reader-$id.log")"
	forget "$reader_pid"
	c1=$(ticks "$pid") k1=$(sticks "$pid") r1=$(ticks "$redis_pid") st1=$(steal)
	sr1=$(io_count "$pid" syscr) sw1=$(io_count "$pid" syscw) cs1=$(ctxsw "$pid")
	read -r ev1 all1 < <(redis_calls)
	rss=$(status_kib "$pid" VmRSS) hwm=$(status_kib "$pid" VmHWM)
	got=$(sed -n 's/^received=\([0-9]*\).*/\1/p' "$work/logs/reader-$id.log")
	last=$(sed -n 's/.* last_ns=\([0-9]*\).*/\1/p' "$work/logs/reader-$id.log")
	t1=$tlg
	if ((last > t1)); then t1=$last; fi
	wall=$((t1 - t0))
	stp=$(steal_pct $((st1 - st0)) $(($(now_ns) - t0)))
	steals+=("$stp")
	if [[ $sys == rsyslog ]]; then
		counted=$(($(rs_stat submitted) - before))
		extra="pushed=$(($(rs_stat processed) - pushed0)) push_failed=$(($(rs_stat failed) - failed0))"
		extra+=" $(sed -n 's/^received=.* \(popped=[0-9]*\).*/\1/p' "$work/logs/reader-$id.log")"
		acked=$sent # syslog has no acknowledgement
	else
		collector_counters
		counted=$((events_in - before))
		extra="alerts=$((alerts - alerts0)) alerts_failed=$((alerts_failed - failed0))"
	fi
	lost=$((sent - counted + expected - got))
	((sent == n && acked == sent && counted == sent && got == expected)) || lost_any=1
	read -r rn lmin p50 p99 p999 lmax < <(percentiles "$lat")
	cpus=$(awk -v t=$((c1 - c0)) -v hz="$tck" 'BEGIN { printf "%.3f", t / hz }')
	local persec cpm pct
	persec=$(awk -v n="$counted" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? n / (w / 1e9) : 0) }')
	cpm=$(awk -v c="$cpus" -v n="$counted" 'BEGIN { printf "%.3f", (n > 0 ? c * 1e6 / n : 0) }')
	pct=$(awk -v c="$cpus" -v w="$wall" 'BEGIN { printf "%.1f", (w > 0 ? 100 * c / (w / 1e9) : 0) }')
	if ((rate == 0)); then
		satruns[$sys/$cfg]+="$cpm:$persec "
	else
		cpum[$sys/$cfg/$what]=$cpm
		p99v[$sys/$cfg/$what]=$p99
	fi
	local shown=$what
	if ((rate > 0 && persec * 100 < rate * 95)); then shown="$what*"; fi
	rows+=("$sys|$cfg|$shown|$counted|$persec|$pct|$cpm|$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')|$p50|$p99|$p999|$lost|$stp")
	raw+=("$sys $cfg $what: wall_ns=$wall ticks=$((c1 - c0)) sys_ticks=$((k1 - k0)) clk_tck=$tck redis_ticks=$((r1 - r0))\
 host_steal_pct=$stp vmrss_kib=$rss vmhwm_kib=$hwm events=$n sent=$sent acked=$acked counted=$counted $extra\
 marked=$got/$expected reader_$(sed -n 's/^received=.* \(cpu_s=[0-9.]*\).*/\1/p' "$work/logs/reader-$id.log")\
 reader_$(sed -n 's/^received=.* \(parse_us_p50=[0-9.]*\).*/\1/p' "$work/logs/reader-$id.log")")
	raw+=("  per_1M_events: $(awk -v n="$counted" -v a=$((sr1 - sr0)) -v b=$((sw1 - sw0)) \
		-v c=$((cs1 - cs0)) -v e=$((ev1 - ev0)) -v r=$((all1 - all0)) 'BEGIN { m = n > 0 ? 1e6 / n : 0;
		printf "syscr=%.0f syscw=%.0f ctxsw=%.0f redis_eval=%.0f redis_cmds_all_clients=%.0f", a * m, b * m, c * m, e * m, r * m }')")
	raw+=("  $(grep '^loadgen: run=' "$lgl" | tail -n1)")
	raw+=("  $line")
	raw+=("  latency_ms n=$rn min=$lmin p50=$p50 p99=$p99 p99.9=$p999 max=$lmax")
	echo "# done: $sys $cfg $what: $persec events/s, $cpm CPU-s/M, p99 $p99 ms, lost $lost" >&2
}

# run_sat SYSTEM CONFIG PID PORT: the $repeat flat-out runs; the median one
# (by CPU-s/1M) gives cpum[SYSTEM/CONFIG/saturation] and $reached.
run_sat() {
	local k med
	for ((k = 1; k <= repeat; k++)); do run_load "$1" "$2" "$3" "$4" 0 "$k"; done
	med=$(tr ' ' '\n' <<<"${satruns[$1/$2]}" | grep . | sort -t: -k1,1g | sed -n "$(((repeat + 1) / 2))p")
	cpum[$1/$2/saturation]=${med%%:*}
	reached=${med##*:}
}

# --- minisoc: the collector ----------------------------------------------------
collector_pid=
collector_counters() { # sets events_in, alerts, alerts_failed from a SIGUSR1 stats line
	local n0 l
	n0=$(grep -c 'why=sigusr1' "$work/logs/collector-$cur.log" || true)
	kill -USR1 "$collector_pid"
	wait_for 10 "collector counters" bash -c \
		"(( \$(grep -c 'why=sigusr1' '$work/logs/collector-$cur.log') > $n0 ))"
	l=$(grep 'why=sigusr1' "$work/logs/collector-$cur.log" | tail -n1)
	events_in=$(sed -n 's/.* events_in=\([0-9]*\).*/\1/p' <<<"$l")
	alerts=$(sed -n 's/.* alerts=\([0-9]*\).*/\1/p' <<<"$l")
	alerts_failed=$(sed -n 's/.* alerts_failed=\([0-9]*\).*/\1/p' <<<"$l")
}

rules_folder() { # rules_folder CONFIG: a folder of links to the rule folders it loads
	local d=$work/rules-$1
	mkdir -p "$d"
	ln -s "$top/tests/integration/rules-seq" "$d/marker"
	case $1 in
	default | archive) ln -s "$top/rules" "$d/rules" ;;
	sigmahq)
		ln -s "$top/rules" "$d/rules"
		for s in linux web network; do ln -s "$sigmahq/$s" "$d/sigmahq-$s"; done
		;;
	esac
	echo "$d"
}

rates=()
for cur in $configs; do
	cport=$(free_port)
	# The shipped rules carry their own SSH brute-force correlation, so the
	# built-in detector is off, as in deploy/quickstart.sh.
	cat >"$work/collector-$cur.yml" <<YML
listen:
  address: 127.0.0.1
  port: $cport
tls:
  ca: $work/pki/ca.crt
  cert: $work/pki/collector.crt
  key: $work/pki/collector.key
redis:
  host: 127.0.0.1
  port: $rport
spool:
  dir: $work/collector-spool
alerts:
  aggregate_window_s: $aggregate
  aggregate_rules: "seq_every_line=0"
rules:
  path: $(rules_folder "$cur")
detect:
  ssh_bruteforce:
    enabled: false
YML
	if [[ $cur == archive ]]; then
		printf 'archive:\n  path: %s\n' "$work/archive" >>"$work/collector-$cur.yml"
	fi
	if [[ -n ${COLLECTOR_YAML:-} ]]; then
		printf '%s\n' "$COLLECTOR_YAML" >>"$work/collector-$cur.yml"
	fi
	rcli flushall >/dev/null # every configuration starts from an empty Redis
	GLIBC_TUNABLES=$collector_tunables "$collector_bin" -c "$work/collector-$cur.yml" \
	    >"$work/logs/collector-$cur.log" 2>&1 &
	collector_pid=$!
	pids+=("$collector_pid")
	wait_for 60 "collector listening" log_has "collector-$cur" "event=listening"
	loaded=$(grep -m1 -o 'event=rules_loaded.*' "$work/logs/collector-$cur.log" || true)
	raw+=("minisoc $cur: $loaded; vmrss_kib at start=$(status_kib "$collector_pid" VmRSS)")
	warm_up minisoc "$cur" "$collector_pid" "$cport"
	run_sat minisoc "$cur" "$collector_pid" "$cport"
	half=$((reached / 2))
	((half > 0)) || die "no rate reached with $cur"
	halfrate[$cur]=$half
	[[ " ${rates[*]} " == *" $half "* ]] || rates+=("$half")
	run_load minisoc "$cur" "$collector_pid" "$cport" "$half"
	kill -TERM "$collector_pid"
	rc=0
	wait "$collector_pid" || rc=$?
	forget "$collector_pid"
	((rc == 0)) || die "collector ($cur) exited with status $rc (see $work/logs/collector-$cur.log)"
done

# --- rsyslog -------------------------------------------------------------------
if ((!no_rsyslog)); then
sport=$(free_port)
mkdir -p "$work/rsyslog"
sed -e "s|@WORKDIR@|$work/rsyslog|g" -e "s|@MODDIR@|$moddir|g" -e "s|@CA@|$work/pki/ca.crt|g" \
	-e "s|@CERT@|$work/pki/collector.crt|g" -e "s|@KEY@|$work/pki/collector.key|g" \
	-e "s|@PORT@|$sport|g" -e "s|@REDIS_PORT@|$rport|g" -e "s|@STATS@|$work/rsyslog/stats.json|g" \
	"$rsconf" >"$work/rsyslog.conf"
"$rsyslogd_bin" -N1 -f "$work/rsyslog.conf" >"$work/logs/rsyslog-check.log" 2>&1 ||
	die "rsyslogd refused bench/rsyslog.conf: $(tail -n 3 "$work/logs/rsyslog-check.log")"
"$rsyslogd_bin" -n -f "$work/rsyslog.conf" -i "$work/rsyslog/rsyslogd.pid" >"$work/logs/rsyslog.log" 2>&1 &
rsyslog_pid=$!
pids+=("$rsyslog_pid")
wait_for 10 "rsyslogd listening" bash -c "ss -Hltn 'sport = :$sport' | grep -q ."
wait_for 10 "rsyslog's counters" test -s "$work/rsyslog/stats.json"

rs_stat() { # rs_stat NAME: the latest value of one of rsyslog's impstats counters
	local origin
	case $1 in
	submitted) origin='"origin": "imtcp"' ;;
	processed | failed) origin='"name": "redis", "origin": "core.action"' ;;
	size) origin='"name": "main Q"' ;;
	esac
	grep -F "$origin" "$work/rsyslog/stats.json" | tail -n1 | sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p"
}
rs_settle() { # rs_settle N: until imtcp took N lines and the queue is empty, or 5 s without change
	local want=$1 prev="" cur same=0
	while :; do
		cur="$(rs_stat submitted) $(rs_stat processed) $(rs_stat size)"
		read -r s _ q <<<"$cur"
		((s >= want && q == 0)) && return 0
		if [[ $cur == "$prev" ]]; then ((++same < 25)) || return 0; else same=0; fi
		prev=$cur
		sleep 0.2
	done
}
warm_up rsyslog literals "$rsyslog_pid" "$sport"
run_sat rsyslog literals "$rsyslog_pid" "$sport"
for r in "${rates[@]}"; do run_load rsyslog literals "$rsyslog_pid" "$sport" "$r"; done
kill -TERM "$rsyslog_pid"
wait "$rsyslog_pid" || true
forget "$rsyslog_pid"
fi

# --- the table -------------------------------------------------------------------
echo
printf '%-8s %-8s %-11s %9s %9s %6s %9s %7s %7s %7s %8s %5s %11s %6s\n' system rules run events \
	"events/s" "cpu%" "CPU-s/1M" RSS_MiB p50_ms p99_ms p99.9_ms lost "vs_rsyslog" steal%
for row in "${rows[@]}"; do
	IFS='|' read -r sys cfg what cnt persec pct cpm rssm p50 p99 p999 lost stp <<<"$row"
	rt=-
	key=${what%\*}
	[[ $key != sat* ]] || key=saturation
	ref=${cpum[rsyslog/literals/$key]:-}
	if [[ $sys == minisoc && -n $ref ]]; then
		rt=$(awk -v a="$cpm" -v b="$ref" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		[[ $key == saturation ]] || ratio[$cfg/$key]=$rt
	fi
	printf '%-8s %-8s %-11s %9s %9s %6s %9s %7s %7s %7s %8s %5s %11s %6s\n' "$sys" "$cfg" "$what" \
		"$cnt" "$persec" "$pct" "$cpm" "$rssm" "$p50" "$p99" "$p999" "$lost" "$rt" "$stp"
done
echo
echo "rules: none = the marker rule only; default = rules/ + marker; sigmahq = rules/ + SigmaHQ; archive = default + event archive"
echo "       linux, web, network + marker (built-in SSH detector off); rsyslog: 6 literals"
echo "       (contains), matching lines RPUSHed to a Redis list by omhiredis: no decoding, no Sigma"
echo "alerts: alerts.aggregate_window_s = $aggregate (repeats of a rule and key folded into one summary"
echo "       per window; the marker rule never folded)"
echo "cpu% = of one core (the collector is single-threaded; rsyslogd's threads are summed);"
echo "CPU-s/1M = CPU-seconds of the process per million events; vs_rsyslog = CPU-s/1M ratio,"
echo "minisoc / rsyslog, under the same load (flat out, or the same rate); latency = generation"
echo "to visible in Redis (XREAD BLOCK; rsyslog: BLMPOP); lost = sent - counted + marked missing;"
echo "* = the rate was not reached (the receiver, or the machine, was saturated below it)"
echo "steal% = the time the hypervisor took from this guest's CPUs during the run, as % of their"
echo "       time (/proc/stat): above a few %, the host was busy with other guests, and latency and"
echo "       CPU figures of that run are the host's as much as ours"
if ((warmup > 0)); then
	echo "warm-up: $warmup events flat out to each receiver before its runs, not in the figures"
	echo "       (the collector builds each logsource's route and Hyperscan databases on its first"
	echo "       event, once); their CPU:"
	for w in "${warm[@]}"; do echo "         $w"; done
fi
if ((repeat > 1)); then
	echo "sat k/$repeat = the flat-out runs; vs_rsyslog on each compares it with rsyslog's median one;"
	echo "       the goals take each receiver's median flat-out run (by CPU-s/1M)"
fi
# The flat-out ratio of each configuration: median against median.
for c in $configs; do
	a=${cpum[minisoc/$c/saturation]:-} b=${cpum[rsyslog/literals/saturation]:-}
	[[ -n $a && -n $b ]] || continue
	ratio[$c/saturation]=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
done
# The issue's goals, each with the figures it is judged on.
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN { print (v != "" && v <= lim ? "met" : "NOT met") }'; }
echo "goals:"
if [[ -n ${cpum[minisoc/sigmahq/saturation]:-} ]]; then
	g=${cpum[minisoc/sigmahq/saturation]}
	echo "  rules/ + SigmaHQ <= 1 CPU-s/1M flat out: $g, $(verdict "$g" 1) (stretch <= 0.5: $(verdict "$g" 0.5))$( ((repeat > 1)) && echo "; runs: $(sed 's/:[0-9]*//g; s/ *$//' <<<"${satruns[minisoc/sigmahq]}")")"
fi
line=
worst=0
for c in $configs; do
	v=${ratio[$c/saturation]:-}
	w=${ratio[$c/${halfrate[$c]}/s]:-}
	[[ -n $v$w ]] || continue # no rsyslog runs (--no-rsyslog)
	line+=" $c $v (same rate ${w:--})"
	for x in $v $w; do worst=$(awk -v a="$worst" -v b="$x" 'BEGIN { print (b > a ? b : a) }'); done
done
[[ -z $line ]] || echo "  >= 2x cheaper per event than rsyslog (vs_rsyslog <= 0.50):$line: $(verdict "$worst" 0.5)"
line=
worst=0
for c in $configs; do
	v=${p99v[minisoc/$c/${halfrate[$c]}/s]}
	line+=" $c $v"
	worst=$(awk -v a="$worst" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
done
[[ -z $line ]] || echo "  p99 <= 10 ms at half of saturation (ms):$line: $(verdict "$worst" 10)"
echo "  no event lost at any rate (sent = acked = counted, every marked event arrived):" \
	"$( ((lost_any)) && echo "NOT met" || echo met)"
# rsyslog is the one receiver no change of ours moves: its figure against the
# issue's "about 2 CPU-seconds per million lines" on this machine says how fast
# the host runs today (this VM's speed has varied by up to 2x between periods).
if [[ -n ${cpum[rsyslog/literals/saturation]:-} ]]; then
	r=${cpum[rsyslog/literals/saturation]}
	echo "host: rsyslog flat out $r CPU-s/1M, against about 2 where the goals were set:" \
		"$(awk -v r="$r" 'BEGIN { printf "%.2f", (r > 0 ? r / 2 : 0) }')x that machine's cost" \
		"(a rough yardstick: the goals above are judged on the figures as measured)"
fi
if ((${#steals[@]})); then
	echo "host: time stolen from this guest's CPUs by the hypervisor during the runs:" \
		"$(printf '%s\n' "${steals[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -) % (steal%)"
fi
echo
echo "raw:"
printf '  %s\n' "${raw[@]}"
echo "# bench/run.sh took $SECONDS s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((smoke && lost_any)); then
	echo "bench/run.sh: events lost (see the lost column)" >&2
	exit 1
fi
exit 0
