# lib.sh – shared helpers for integration tests: a work folder, a real
# redis-server on a free loopback port, a real PKI, the real binaries, and
# waiting on conditions (never on fixed sleeps).
# Usage: source it, then call it_init BUILD_DIR.

set -euo pipefail

IT_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
IT_PIDS=()

it_log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }
# PRODUCER | it_has [GREP-OPTIONS] PATTERN: whether a line matches, reading
# all of the input. Not "grep -q": it exits at the first match, the
# producer still writing gets SIGPIPE, and under pipefail the pipe then
# fails although the line was there (a flaky "not found").
it_has() { grep "$@" >/dev/null; }
it_fail() {
	it_log "FAIL: $*"
	for f in "$IT_WORK"/logs/*.log; do
		[[ -f $f ]] || continue
		echo "---- last lines of $f"
		tail -n 30 "$f"
	done
	exit 1
}

it_cleanup() {
	local pid
	for pid in "${IT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${IT_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n ${IT_REDIS_PORT:-} ]]; then
		redis-cli -p "$IT_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	fi
	if [[ ${IT_KEEP:-0} != 1 && -n ${IT_WORK:-} ]]; then
		rm -rf -- "$IT_WORK"
	fi
	it_free_ports_release
}

it_init() {
	IT_BUILD=$(cd -- "$1" && pwd)
	IT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/minisoc-it.XXXXXX")
	mkdir -p "$IT_WORK/logs"
	trap it_cleanup EXIT
	IT_COLLECTOR=$IT_BUILD/collector/minisoc-collector
	IT_AGENT=$IT_BUILD/agent/minisoc-agent
	IT_CLI=$IT_BUILD/cli/minisocctl
	[[ -x $IT_COLLECTOR && -x $IT_AGENT ]] || it_fail "binaries not built in $IT_BUILD"
	# Leaks are reported by LeakSanitizer at exit and make the daemon fail.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
}

# A TCP port nothing listens on (the kernel picks it), reserved for this
# test until it ends. The kernel's pick is free only at that moment: the
# daemon binds it later, and a port a test frees for a while (Redis or a
# collector stopped and started again on it, up to 30 s) is free again.
# Meanwhile a test running beside it (ctest -j) or this one could be given
# the same port, and one daemon fails to bind – or a client reaches the
# other test's Redis. So each port handed out is a symbolic link
# IT_PORT_DIR/PORT -> the test shell's pid, made atomically; a port
# reserved by a live test is skipped, one of a test that died without its
# cleanup (killed by ctest's timeout) is taken over.
IT_PORT_DIR=${TMPDIR:-/tmp}/minisoc-it-ports
it_free_port() {
	local port owner i
	mkdir -p "$IT_PORT_DIR" 2>/dev/null || true
	for i in $(seq 1 100); do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
		[[ -w $IT_PORT_DIR ]] || { echo "$port"; return 0; }
		# ($$ is the test's shell, also in the $(...) this runs in)
		if ln -s "$$" "$IT_PORT_DIR/$port" 2>/dev/null; then
			echo "$port"
			return 0
		fi
		owner=$(readlink "$IT_PORT_DIR/$port" 2>/dev/null) || continue
		[[ $owner != "$$" && ! -d /proc/$owner ]] || continue
		# A dead test's port, taken over under a lock: two tests doing it
		# at once would both remove and link, and both think it theirs.
		if (
			flock 9
			[[ $(readlink "$IT_PORT_DIR/$port" 2>/dev/null) == "$owner" ]] || exit 1
			rm -f "$IT_PORT_DIR/$port" && ln -s "$$" "$IT_PORT_DIR/$port"
		) 9>"$IT_PORT_DIR/.lock" 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	# (on stderr: this runs inside the caller's $(...), whose failure ends the test)
	echo "it_free_port: no free port that no other test holds" >&2
	return 1
}
# it_port_hold PORT: a port a daemon of this test chose itself (bound to
# port 0 and told it) reserved like it_free_port's, for when it is started
# again on the same port.
it_port_hold() {
	[[ -w $IT_PORT_DIR ]] || mkdir -p "$IT_PORT_DIR" 2>/dev/null || return 0
	ln -s "$$" "$IT_PORT_DIR/$1" 2>/dev/null || true
}
# The ports of this test given back (it_cleanup).
it_free_ports_release() {
	local l
	for l in "$IT_PORT_DIR"/*; do
		[[ -L $l && $(readlink "$l") == "$$" ]] && rm -f "$l"
	done
	return 0
}

# wait_for TIMEOUT_S DESCRIPTION COMMAND...: polls COMMAND every 20 ms.
it_wait_for() {
	local timeout=$1 what=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) + timeout * 1000000000))
	until "$@"; do
		if (($(date +%s%N) > deadline)); then
			it_fail "timed out after ${timeout}s waiting for: $what"
		fi
		sleep 0.02
	done
}

# (IT_REDIS_EXTRA, an array, adds arguments: e.g. --rename-command SCRIPT "")
it_start_redis() {
	IT_REDIS_PORT=${IT_REDIS_PORT:-$(it_free_port)}
	mkdir -p "$IT_WORK/redis"
	redis-server --port "$IT_REDIS_PORT" --bind 127.0.0.1 --dir "$IT_WORK/redis" \
		--save '' --appendonly "${IT_REDIS_AOF:-no}" --appendfsync always --daemonize no \
		"${IT_REDIS_EXTRA[@]}" >"$IT_WORK/logs/redis.log" 2>&1 &
	IT_PIDS+=($!)
	it_wait_for 10 "redis-server to answer" it_redis_ping
}

it_redis_ping() { [[ $(redis-cli -p "$IT_REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
it_redis() { redis-cli --no-raw -p "$IT_REDIS_PORT" "$@"; }
it_redis_raw() { redis-cli --raw -p "$IT_REDIS_PORT" "$@"; }

# it_forward_conf FILE PORT [SECTION.KEY: VALUE...]: a minisoc-forward
# config in FILE for this test's Redis and PKI (it_pki ... forwarder),
# sending high alerts to a receiver on 127.0.0.1:PORT; each further argument
# sets one key of a section ("forward.confirm_ms: 100", "redis.user:
# minisoc"), replacing the key when the config has it.
it_forward_conf() {
	local file=$1 port=$2 arg sec kv
	shift 2
	cat >"$file" <<YML
forward:
  log_level: debug
  min_severity: high
  confirm_ms: 200
upstream:
  host: 127.0.0.1
  port: $port
  server_name: collector.minisoc.local
  backoff_min_ms: 50
  backoff_max_ms: 400
tls:
  ca: $IT_WORK/pki/ca.crt
  cert: $IT_WORK/pki/agent-forwarder.crt
  key: $IT_WORK/pki/agent-forwarder.key
redis:
  port: $IT_REDIS_PORT
  consumer: fwd-1
  block_ms: 200
iodef:
  name: soc.camau.example.vn
  contact_name: SOC Cà Mau
  contact_email: soc@camau.example.vn
YML
	for arg in "$@"; do
		sec=${arg%%.*} kv=${arg#*.}
		if it_has -q -E "^  ${kv%%:*}:" < <(sed -n "/^$sec:\$/,/^[^ ]/p" "$file"); then
			sed -i "/^$sec:\$/,/^[^ ]/ s|^  ${kv%%:*}:.*|  $kv|" "$file"
		else
			sed -i "s|^$sec:\$|$sec:\n  $kv|" "$file"
		fi
	done
}

# it_web_conf [YAML...]: a token and a port for minisoc-web on this test's
# Redis, in $IT_WORK/web.token and $IT_WORK/web.yml; each YAML argument is
# one more line under web: (e.g. "request_timeout: 6"). Sets WPORT, TOKEN.
it_web_conf() {
	local line
	WPORT=$(it_free_port)
	openssl rand -hex 24 >"$IT_WORK/web.token"
	TOKEN=$(cat "$IT_WORK/web.token")
	{
		printf 'web:\n  port: %s\n  token_file: %s\n' "$WPORT" "$IT_WORK/web.token"
		for line in "$@"; do printf '  %s\n' "$line"; done
		printf 'redis:\n  port: %s\n' "$IT_REDIS_PORT"
	} >"$IT_WORK/web.yml"
}

# it_pki DIR NAME...: a CA, the collector's certificate and one per agent.
it_pki() {
	local dir=$1
	shift
	MINISOC_PKI_DAYS=2 bash "$IT_ROOT/deploy/pki.sh" "$dir" "$@" >"$IT_WORK/logs/pki.log" 2>&1 ||
		it_fail "pki.sh failed"
}

# it_pki_second PKI_DIR DIR: a second collector's certificate and key in
# DIR, from PKI_DIR's CA (two collectors of one deployment: failover).
it_pki_second() {
	mkdir -p "$2"
	cp "$1/ca.crt" "$1/ca.key" "$2/"
	it_pki "$2"
}

# it_collector_conf FILE PKI_DIR PORT: writes a collector config.
it_collector_conf() {
	cat >"$1" <<YML
collector:
  log_level: debug
listen:
  address: 127.0.0.1
  port: $3
tls:
  ca: $2/ca.crt
  cert: $2/collector.crt
  key: $2/collector.key
redis:
  host: 127.0.0.1
  port: $IT_REDIS_PORT
spool:
  dir: ${1%.*}.spool
YML
}

# it_sign DIR NAME CN CA_DIR CA_BASE EXTENSIONS: DIR/NAME.key and NAME.crt,
# an EC P-256 key and a certificate for CN signed by CA_DIR/CA_BASE.{crt,key}
# with the given openssl extensions (30 days, a random serial); when the CA
# is the enrolment CA its certificate goes after it, as agents send it.
it_sign() {
	local dir=$1 name=$2 cn=$3 cadir=$4 ca=$5
	printf '%s\n' "$6" >"$dir/$name.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=minisoc/CN=$cn" \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null || it_fail "req $name"
	openssl x509 -req -in "$dir/$name.csr" -CA "$cadir/$ca.crt" -CAkey "$cadir/$ca.key" -days 30 \
		-set_serial "0x$(openssl rand -hex 15)" -extfile "$dir/$name.ext" \
		-out "$dir/$name.crt" 2>/dev/null || it_fail "sign $name"
	[[ $ca == enroll-ca ]] && cat "$cadir/enroll-ca.crt" >>"$dir/$name.crt"
	return 0
}

# it_pki_deploy DIR [ARGS...]: a deployment's PKI as an operator makes it –
# minisocctl pki init DIR (root CA, enrolment CA, CRL), then pki collector
# for collector.minisoc.local at 127.0.0.1 (ARGS added, e.g. --dns
# localhost); logs in $IT_WORK/logs/pki.log.
it_pki_deploy() {
	local dir=$1
	shift
	"$IT_CLI" pki init "$dir" >>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "pki init failed"
	"$IT_CLI" pki collector "$dir" --name collector.minisoc.local "$@" --ip 127.0.0.1 \
		>>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "pki collector failed"
}

# it_gencrl PKI CA_BASE OUT LAST NEXT [REVOKE_CERT]: a CRL of PKI/CA_BASE
# made by openssl ca, its last and next update given as date(1) -d
# strings ('-60 days', '+5 days'), listing REVOKE_CERT when given.
it_gencrl() {
	local pki=$1 ca=$2 out=$3 last=$4 next=$5 d=$IT_WORK/ca-$2
	rm -rf "$d" && mkdir -p "$d" && : >"$d/index.txt" && echo 01 >"$d/crlnumber"
	printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\n' \
		"$d" "$d" >"$d/ca.cnf"
	if [[ -n ${6:-} ]]; then
		openssl ca -config "$d/ca.cnf" -keyfile "$pki/$ca.key" -cert "$pki/$ca.crt" -revoke "$6" \
			>>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "openssl ca -revoke"
	fi
	openssl ca -config "$d/ca.cnf" -keyfile "$pki/$ca.key" -cert "$pki/$ca.crt" -gencrl \
		-crl_lastupdate "$(date -u -d "$last" +%Y%m%d%H%M%SZ)" \
		-crl_nextupdate "$(date -u -d "$next" +%Y%m%d%H%M%SZ)" -out "$out" \
		>>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "openssl ca -gencrl"
}

# The extensions of an agent's certificate (it_sign), id NAME's system erp.
IT_CLIENT_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=URI:urn:minisoc:system:erp"

# it_agent_conf FILE PKI_DIR NAME COLLECTOR_PORT STATE_DIR START FILE...
it_agent_conf() {
	local file=$1 pki=$2 name=$3 port=$4 state=$5 start=$6
	shift 6
	{
		cat <<YML
agent:
  state_dir: $state
  log_level: debug
  poll_ms: 100
collector:
  host: 127.0.0.1
  port: $port
  server_name: collector.minisoc.local
tls:
  ca: $pki/ca.crt
  cert: $pki/agent-$name.crt
  key: $pki/agent-$name.key
uplink:
  backoff_min_ms: 50
  backoff_max_ms: 500
files:
YML
		local f
		for f in "$@"; do
			printf '  - path: %s\n    start: %s\n' "$f" "$start"
		done
	} >"$file"
}

# it_start NAME COMMAND...: runs a daemon in the background, log in logs/NAME.log.
# The log is emptied here, before the fork: a redirection with ">" is done
# by the background child whenever it runs, and a wait for a line right
# after it_start (it_log_has NAME "event=listening") could find the line of
# the daemon this one replaces, still in the file (9 % of tries here).
it_start() {
	local name=$1
	shift
	: >"$IT_WORK/logs/$name.log"
	"$@" >>"$IT_WORK/logs/$name.log" 2>&1 &
	IT_PIDS+=($!)
	eval "IT_PID_${name//-/_}=$!"
}

it_log_has() { grep -q -E -- "$2" "$IT_WORK/logs/$1.log"; }

# it_stop NAME: SIGTERM, then the exit status must be 0 (sanitizers clean).
it_stop() {
	local var="IT_PID_${1//-/_}" rc=0
	local pid=${!var}
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	((rc == 0)) || it_fail "$1 exited with status $rc after SIGTERM"
	it_log "$1 stopped cleanly"
}

# syslog timestamp "Mmm dd hh:mm:ss" for now, in the local time zone.
it_syslog_now() { LC_ALL=C date '+%b %e %H:%M:%S'; }

# it_btrfs_mount IMG DIR: DIR becomes a fresh 128 MiB btrfs on a loop device
# backed by IMG (btrfs checks every data block, so a block whose bytes are
# changed on the device reads as EIO – what a failing disk gives);
# unmounted at exit. Exits 77 (skipped) without root or btrfs-progs.
it_btrfs_mount() {
	IT_BTRFS_IMG=$1
	IT_BTRFS_DIR=$2
	if [[ $(id -u) != 0 ]] || ! command -v mkfs.btrfs >/dev/null ||
		! command -v btrfs-map-logical >/dev/null || ! command -v filefrag >/dev/null; then
		it_log "SKIP: needs root and btrfs-progs"
		exit 77
	fi
	mkdir -p "$IT_BTRFS_DIR"
	truncate -s 128M "$IT_BTRFS_IMG"
	mkfs.btrfs -q -f "$IT_BTRFS_IMG" >/dev/null 2>&1 || it_fail "mkfs.btrfs failed"
	if ! it_btrfs_remount 2>/dev/null; then
		it_log "SKIP: cannot mount a btrfs loop device here"
		exit 77
	fi
	trap 'umount -l "$IT_BTRFS_DIR" 2>/dev/null; it_cleanup' EXIT
}

# max_inline=0: even a small file's data is in a data block, checked on read.
it_btrfs_remount() { mount -o loop,max_inline=0 "$IT_BTRFS_IMG" "$IT_BTRFS_DIR"; }

# it_btrfs_damage FILE [live] [last]: damages the middle 4 KiB block of FILE
# (its last with "last"; on the btrfs of it_btrfs_mount) on the device, so
# that reading it fails with EIO;
# sets IT_BTRFS_BLOCK (its index in the file) and IT_BTRFS_BLOCKS (the
# file's blocks). live: with the file system mounted and in use (a process
# has FILE open), the page cache dropped so that the next read goes to the
# device.
it_btrfs_damage() {
	local file=$1 live=${2:-} which=${3:-middle} size blk phys
	sync
	size=$(stat -c %s "$file")
	IT_BTRFS_BLOCKS=$((size / 4096))
	IT_BTRFS_BLOCK=$((IT_BTRFS_BLOCKS / 2))
	[[ $which == last ]] && IT_BTRFS_BLOCK=$(((size - 1) / 4096))
	# filefrag: the extents' logical and physical starts in 4 KiB blocks
	# (physical being btrfs's logical address).
	blk=$(filefrag -v -b4096 "$file" | awk -v m="$IT_BTRFS_BLOCK" '$1 ~ /^[0-9]+:$/ {
		l = $2; sub(/\.\..*/, "", l); le = $3; sub(/:.*/, "", le); p = $4; sub(/\.\..*/, "", p)
		if (m >= l + 0 && m <= le + 0) { print p + (m - l); exit } }') || true
	[[ $blk =~ ^[0-9]+$ ]] ||
		it_fail "no extent holds block $IT_BTRFS_BLOCK of $file: $(filefrag -v -b4096 "$file")"
	[[ $live == live ]] || umount "$IT_BTRFS_DIR" || it_fail "cannot unmount $IT_BTRFS_DIR"
	phys=$(btrfs-map-logical -l $((blk * 4096)) "$IT_BTRFS_IMG" 2>/dev/null |
		awk '/mirror 1/ { for (i = 1; i < NF; i++) if ($i == "physical") { print $(i + 1); exit } }') || true
	[[ $phys =~ ^[0-9]+$ ]] || it_fail "btrfs-map-logical gave no physical offset for block $blk"
	# Synced: the loop device must not read the image's old bytes.
	printf 'BADBLOCK' | dd of="$IT_BTRFS_IMG" bs=1 seek=$((phys + 100)) conv=notrunc,fsync status=none
	if [[ $live == live ]]; then
		# The file's cached pages dropped (only its): its next read goes to the device.
		sync
		dd if="$file" iflag=nocache count=0 status=none
	else
		it_btrfs_remount || it_fail "cannot mount $IT_BTRFS_DIR again"
		# The umount may not have ended the file system: a mount namespace
		# copied while it was mounted (ip netns exec, as e2e_capture does
		# beside this test under ctest -j) holds it, the remount is the same
		# file system and the file's pages are still cached, read without
		# the device ("still reads whole"). Dropped as in the live case.
		dd if="$file" iflag=nocache count=0 status=none
	fi
	if dd if="$file" of=/dev/null bs=4096 status=none 2>/dev/null; then
		it_fail "$file still reads whole: no bad block to test with (block $IT_BTRFS_BLOCK at $blk, physical $phys)"
	fi
	it_log "block $IT_BTRFS_BLOCK of the $IT_BTRFS_BLOCKS of $file damaged (physical offset $phys)"
}
