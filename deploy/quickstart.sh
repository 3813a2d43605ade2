#!/usr/bin/env bash
# quickstart.sh - build minisoc and run a complete demo on this machine:
# a private redis-server, the collector and one agent over mutual TLS, a demo
# auth.log, and an SSH brute-force burst that ends up as an alert in Redis.
#
# Usage: see usage() below.
set -euo pipefail

PROG=${0##*/}
ORIG_PWD=$PWD
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

AGENT_NAME=demo-agent
STREAM=minisoc:alerts
CHANNEL=minisoc:alerts:live
ATTACKER_IP=203.0.113.77
REDIS_PORT_FIRST=6390
COLLECTOR_PORT_FIRST=6514
HELLO_TIMEOUT_S=20
ALERT_TIMEOUT_S=10

usage() {
  cat <<EOF
Usage: $PROG [start]        build, start redis + collector + agent, replay a
                             brute-force burst and show the alert
       $PROG stop           stop the collector, the agent and redis
       $PROG status         show what is running and how many alerts exist
       $PROG burst [IP]     append another SSH brute-force burst to the demo
                             log (default IP $ATTACKER_IP) and wait for its alert
       $PROG -h | --help

Everything lives in the work folder (default: run/quickstart in the source
tree): PKI, configs, logs, pid files, Redis data and the demo auth.log.
Running "$PROG" again stops the previous run first; alerts are kept.

Environment:
  MINISOC_WORK         work folder (default $ROOT/run/quickstart)
  MINISOC_BUILD_DIR    build folder (default $ROOT/build)
  MINISOC_SKIP_DEPS=1  do not run deploy/install-deps.sh
  MINISOC_SKIP_BUILD=1 do not configure/build (use the binaries already built)
EOF
}

# --- paths -------------------------------------------------------------------
abspath() { # abspath PATH: PATH made absolute against the caller's folder
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$ORIG_PWD/$1" ;;
  esac
}

WORK=$(abspath "${MINISOC_WORK:-$ROOT/run/quickstart}")
set_build() {
  BUILD=$1
  COLLECTOR_BIN=$BUILD/collector/minisoc-collector
  AGENT_BIN=$BUILD/agent/minisoc-agent
  CLI_BIN=$BUILD/cli/minisocctl
  WEB_BIN=$BUILD/collector/web/minisoc-web
}
set_build "$(abspath "${MINISOC_BUILD_DIR:-$ROOT/build}")"

ENV_FILE=$WORK/quickstart.env
LOG_DIR=$WORK/logs
REDIS_DIR=$WORK/redis
REDIS_PID=$REDIS_DIR/redis.pid
REDIS_LOG=$LOG_DIR/redis.log
COLLECTOR_PID=$WORK/collector.pid
COLLECTOR_LOG=$LOG_DIR/collector.log
AGENT_PID=$WORK/agent.pid
AGENT_LOG=$LOG_DIR/agent.log
WEB_PID=$WORK/web.pid
WEB_LOG=$LOG_DIR/web.log
WEB_TOKEN=$WORK/web.token
DEMO_LOG=$WORK/demo/auth.log

# disp PATH: PATH as the user would type it from where they started us.
disp() {
  case "$1" in
    "$ORIG_PWD"/*) printf '%s\n' "${1#"$ORIG_PWD"/}" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# --- processes -----------------------------------------------------------------

# pid_of PIDFILE NAME: print the pid in PIDFILE when that process is alive and
# its command line mentions NAME (so a recycled pid is never signalled).
pid_of() {
  local pidfile=$1 name=$2 pid
  [[ -f "$pidfile" ]] || return 1
  read -r pid <"$pidfile" 2>/dev/null || return 1
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$name" || return 1
  printf '%s\n' "$pid"
}

# stop_one LABEL PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop_one() {
  local label=$1 pidfile=$2 name=$3 pid i
  if ! pid=$(pid_of "$pidfile" "$name"); then
    rm -f -- "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$label (pid $pid) did not stop within 10 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f -- "$pidfile"
  info "stopped $label (pid $pid)"
}

do_stop() {
  # Agent first so it does not log reconnect attempts, Redis last so the
  # collector can flush its last alerts.
  stop_one agent "$AGENT_PID" minisoc-agent
  stop_one dashboard "$WEB_PID" minisoc-web
  stop_one collector "$COLLECTOR_PID" minisoc-collector
  stop_one redis "$REDIS_PID" redis-server
}

# --- ports -----------------------------------------------------------------------

# port_busy PORT: true when something listens on 127.0.0.1:PORT.
port_busy() {
  local port=$1
  if command -v ss >/dev/null 2>&1 &&
    [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]; then
    return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# free_port FIRST: the first port >= FIRST that nobody listens on.
free_port() {
  local port
  for ((port = $1; port < $1 + 200; port++)); do
    if ! port_busy "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "no free port in $1..$(($1 + 199))"
}

# --- state -----------------------------------------------------------------------

load_env() {
  [[ -f "$ENV_FILE" ]] || die "no quickstart run in $(disp "$WORK") (start one with $0)"
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      REDIS_PORT) REDIS_PORT=$v ;;
      COLLECTOR_PORT) COLLECTOR_PORT=$v ;;
      WEB_PORT) WEB_PORT=$v ;;
      METRICS_PORT) METRICS_PORT=$v ;;
      BUILD) [[ -n "${MINISOC_BUILD_DIR:-}" ]] || set_build "$v" ;;
    esac
  done <"$ENV_FILE"
  [[ -n "${REDIS_PORT:-}" && -n "${COLLECTOR_PORT:-}" ]] || die "$ENV_FILE is incomplete"
}

redis() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --raw "$@"; }

alert_count() {
  local n
  n=$(redis XLEN "$STREAM" 2>/dev/null) || n=
  [[ "$n" =~ ^[0-9]+$ ]] || n=0
  printf '%s\n' "$n"
}

show_log_tails() {
  local f n
  for f in "$REDIS_LOG" "$COLLECTOR_LOG" "$AGENT_LOG" "$WEB_LOG"; do
    [[ -s "$f" ]] || continue
    n=25
    [[ "$f" != "$REDIS_LOG" ]] || n=8
    printf '\n--- last lines of %s ---\n' "$(disp "$f")" >&2
    tail -n "$n" -- "$f" >&2
  done
  printf '\n' >&2
}

# --- demo log lines ----------------------------------------------------------------

# stamp OFFSET: a syslog timestamp ("Nov 25 16:34:47", local time) for
# now + OFFSET seconds.
stamp() { LC_ALL=C date -d "@$(($(date +%s) + $1))" '+%b %e %H:%M:%S'; }

write_benign_log() {
  local h=web1
  {
    printf '%s %s systemd-logind[612]: New session 41 of user deploy.\n' "$(stamp -300)" "$h"
    printf '%s %s sshd[1893]: Accepted publickey for deploy from 192.0.2.10 port 50522 ssh2: ED25519 SHA256:Vh5q3oCqg0T1k3m3a7m2Ft6f9yq0ZcKkJm1pO8b3s2E\n' "$(stamp -300)" "$h"
    printf '%s %s sshd[1893]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)\n' "$(stamp -300)" "$h"
    printf '%s %s sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx\n' "$(stamp -280)" "$h"
    printf '%s %s sudo: pam_unix(sudo:session): session opened for user root(uid=0) by deploy(uid=1001)\n' "$(stamp -280)" "$h"
    printf '%s %s sudo: pam_unix(sudo:session): session closed for user root\n' "$(stamp -279)" "$h"
    printf '%s %s CRON[1950]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n' "$(stamp -240)" "$h"
    printf '%s %s CRON[1950]: pam_unix(cron:session): session closed for user root\n' "$(stamp -240)" "$h"
    printf '%s %s sshd[1981]: Failed password for alice from 192.0.2.44 port 51000 ssh2\n' "$(stamp -200)" "$h"
    printf '%s %s sshd[1981]: Accepted password for alice from 192.0.2.44 port 51000 ssh2\n' "$(stamp -198)" "$h"
    printf '%s %s sshd[1981]: pam_unix(sshd:session): session opened for user alice(uid=1002) by (uid=0)\n' "$(stamp -198)" "$h"
    printf '%s %s sshd[1893]: Received disconnect from 192.0.2.10 port 50522:11: disconnected by user\n' "$(stamp -120)" "$h"
    printf '%s %s sshd[1893]: Disconnected from user deploy 192.0.2.10 port 50522\n' "$(stamp -120)" "$h"
    printf '%s %s sshd[1893]: pam_unix(sshd:session): session closed for user deploy\n' "$(stamp -120)" "$h"
    printf '%s %s systemd-logind[612]: Session 41 logged out. Waiting for processes to exit.\n' "$(stamp -120)" "$h"
  } >"$DEMO_LOG"
}

# append_burst IP: 12 failed logins from IP within ~12 s (above the default
# threshold of 8 in 120 s), then a normal login from somebody else. The whole
# burst is appended with one write.
append_burst() {
  local ip=$1 h=web1 users=(admin test oracle ubuntu postgres git user pi guest ftpuser)
  local i=0 u pid port burst=""
  for u in "${users[@]}"; do
    pid=$((20000 + RANDOM % 10000))
    port=$((40000 + RANDOM % 20000))
    burst+="$(stamp $((i - 12))) $h sshd[$pid]: Invalid user $u from $ip port $port"$'\n'
    burst+="$(stamp $((i - 12))) $h sshd[$pid]: pam_unix(sshd:auth): check pass; user unknown"$'\n'
    burst+="$(stamp $((i - 12))) $h sshd[$pid]: Failed password for invalid user $u from $ip port $port ssh2"$'\n'
    burst+="$(stamp $((i - 12))) $h sshd[$pid]: Connection closed by invalid user $u $ip port $port [preauth]"$'\n'
    i=$((i + 1))
  done
  for u in root root; do
    pid=$((20000 + RANDOM % 10000))
    port=$((40000 + RANDOM % 20000))
    burst+="$(stamp $((i - 12))) $h sshd[$pid]: Failed password for $u from $ip port $port ssh2"$'\n'
    i=$((i + 1))
  done
  burst+="$(stamp 0) $h sshd[$pid]: Disconnecting authenticating user root $ip port $port: Too many authentication failures [preauth]"$'\n'
  pid=$((20000 + RANDOM % 10000))
  burst+="$(stamp 0) $h sshd[$pid]: Accepted publickey for deploy from 198.51.100.23 port 52344 ssh2: ED25519 SHA256:Vh5q3oCqg0T1k3m3a7m2Ft6f9yq0ZcKkJm1pO8b3s2E"$'\n'
  burst+="$(stamp 0) $h sshd[$pid]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)"$'\n'
  printf '%s' "$burst" >>"$DEMO_LOG"
}

# wait_for_alert BEFORE: wait until the stream holds more than BEFORE entries.
wait_for_alert() {
  local before=$1 deadline=$((SECONDS + ALERT_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    (($(alert_count) > before)) && return 0
    sleep 0.2
  done
  return 1
}

# --- configs -------------------------------------------------------------------------

write_configs() {
  # Paths are relative to the config file's folder (the work folder).
  cat >"$WORK/collector.yml" <<EOF
# minisoc collector - written by deploy/quickstart.sh
collector:
  log_level: info
listen:
  address: 127.0.0.1
  port: $COLLECTOR_PORT
tls:
  ca: pki/ca.crt
  cert: pki/collector.crt
  key: pki/collector.key
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
  stream: $STREAM
  channel: $CHANNEL
  stream_maxlen: 100000
spool:
  dir: spool
limits:
  max_frame: 1MiB
  max_sessions: 1024
  handshake_timeout_ms: 10000
  idle_timeout_ms: 90000
# The shipped Sigma ruleset (docs/rules.md); it has its own SSH brute-force
# correlation, so the built-in detector is switched off.
rules:
  path: $ROOT/rules
detect:
  ssh_bruteforce:
    enabled: false
# The province's register of information systems (the 69-system example;
# this demo's agent is an asset of SYS-001): alerts carry the system and its
# level (docs/compliance.md).
register:
  path: register.yml
# Every event, per system per day, zstd (docs/archive.md); kept as long as
# each level requires under its framework's profile.
archive:
  path: state/archive
  profiles: $ROOT/rules/compliance
# Prometheus text format at http://127.0.0.1:$METRICS_PORT/metrics
metrics:
  address: 127.0.0.1
  port: $METRICS_PORT
EOF
  # The demo agent takes the place of SYS-001's web server in the example.
  sed "s/agent: sys001-web1}/agent: $AGENT_NAME}/" "$ROOT/deploy/examples/register.yml" >"$WORK/register.yml"
  cat >"$WORK/web.yml" <<EOF
# minisoc-web (dashboard) - written by deploy/quickstart.sh
web:
  address: 127.0.0.1
  port: $WEB_PORT
  token_file: web.token
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
  stream: $STREAM
EOF
  cat >"$WORK/agent.yml" <<EOF
# minisoc agent - written by deploy/quickstart.sh
agent:
  state_dir: state/agent
  log_level: info
collector:
  host: 127.0.0.1
  port: $COLLECTOR_PORT
  server_name: collector.minisoc.local
tls:
  ca: pki/ca.crt
  cert: pki/agent-$AGENT_NAME.crt
  key: pki/agent-$AGENT_NAME.key
files:
  - path: demo/auth.log
    start: beginning
batch:
  max_events: 1024
queue:
  max_events: 100000
  max_bytes: 64MiB
EOF
}

# --- start -------------------------------------------------------------------------------

start_redis() {
  local attempt deadline pid
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found (run deploy/install-deps.sh)"
  mkdir -p -- "$REDIS_DIR" "$LOG_DIR"
  for attempt in 1 2 3; do
    REDIS_PORT=$(free_port "$REDIS_PORT_FIRST")
    : >"$REDIS_LOG"
    # appendonly: alerts survive a restart of the quickstart.
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
      --dir "$REDIS_DIR" --appendonly yes \
      --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" >/dev/null ||
      die "redis-server did not start (see $(disp "$REDIS_LOG"))"
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
      if [[ "$(redis PING 2>/dev/null)" == PONG ]] && pid=$(pid_of "$REDIS_PID" redis-server); then
        info "redis-server on 127.0.0.1:$REDIS_PORT (pid $pid, data in $(disp "$REDIS_DIR"))"
        return 0
      fi
      grep -q 'Address already in use' "$REDIS_LOG" 2>/dev/null && break
      sleep 0.1
    done
    stop_one redis "$REDIS_PID" redis-server
    warn "redis-server did not come up on port $REDIS_PORT (attempt $attempt)"
  done
  show_log_tails
  die "could not start redis-server"
}

# start_bg LABEL BIN PIDFILE LOG ARGS...: start BIN in the background.
start_bg() {
  local label=$1 bin=$2 pidfile=$3 log=$4
  shift 4
  : >"$log"
  nohup "$bin" "$@" >>"$log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$pidfile"
  info "$label started (pid $!, log $(disp "$log"))"
}

# alive LABEL PIDFILE: fail with the logs when the process we started has
# exited. (Only kill -0: right after the fork the command line is still ours.)
alive() {
  local pid
  read -r pid <"$2" 2>/dev/null && kill -0 "$pid" 2>/dev/null && return 0
  show_log_tails
  die "$1 exited unexpectedly"
}

wait_collector_listening() {
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    alive collector "$COLLECTOR_PID"
    if command -v ss >/dev/null 2>&1; then
      [[ -n "$(ss -Hltn "sport = :$COLLECTOR_PORT" 2>/dev/null)" ]] && return 0
    else
      # Without ss, give it a moment; the agent retries anyway.
      sleep 1
      return 0
    fi
    sleep 0.1
  done
  show_log_tails
  die "collector is not listening on 127.0.0.1:$COLLECTOR_PORT after 10 s"
}

wait_agent_hello() {
  local deadline=$((SECONDS + HELLO_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if grep -F 'event=hello' "$COLLECTOR_LOG" 2>/dev/null |
      grep -Eq "agent=\"?$AGENT_NAME\"?( |\$)"; then
      return 0
    fi
    alive collector "$COLLECTOR_PID"
    alive agent "$AGENT_PID"
    sleep 0.2
  done
  show_log_tails
  die "the agent did not connect within $HELLO_TIMEOUT_S s (no 'event=hello agent=$AGENT_NAME' in $(disp "$COLLECTOR_LOG"))"
}

print_alerts() {
  if ! "$CLI_BIN" alerts -r "127.0.0.1:$REDIS_PORT" -n 10; then
    warn "minisocctl alerts failed; raw stream entries follow"
    redis XREVRANGE "$STREAM" + - COUNT 10 || true
  fi
}

on_start_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\n%s: start failed; stopping what was started (logs stay in %s)\n' \
      "$PROG" "$(disp "$LOG_DIR")" >&2
    do_stop >&2 || true
  fi
  exit "$rc"
}

do_start() {
  step "stopping a previous quickstart run in $(disp "$WORK") (if any)"
  do_stop

  if [[ "${MINISOC_SKIP_DEPS:-0}" != 1 ]]; then
    step "installing dependencies (deploy/install-deps.sh)"
    bash "$ROOT/deploy/install-deps.sh"
  fi

  if [[ "${MINISOC_SKIP_BUILD:-0}" != 1 ]]; then
    step "building into $(disp "$BUILD") (Release)"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
    cmake --build "$BUILD" -j2
  fi
  local b
  for b in "$COLLECTOR_BIN" "$AGENT_BIN" "$CLI_BIN" "$WEB_BIN"; do
    [[ -x "$b" ]] || die "$(disp "$b") is missing: did the build fail?"
  done

  trap on_start_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  step "preparing $(disp "$WORK")"
  mkdir -p -- "$WORK" "$LOG_DIR" "$WORK/demo"
  bash "$ROOT/deploy/pki.sh" "$WORK/pki" "$AGENT_NAME"
  # The demo log is written anew, so the agent's read positions go too.
  rm -rf -- "$WORK/state/agent"
  mkdir -p -- "$WORK/state/agent"
  rm -f -- "$DEMO_LOG"
  write_benign_log
  info "demo log $(disp "$DEMO_LOG") ($(wc -l <"$DEMO_LOG") benign lines)"

  step "starting redis-server"
  start_redis

  COLLECTOR_PORT=$(free_port "$COLLECTOR_PORT_FIRST")
  WEB_PORT=$(free_port 8514)
  METRICS_PORT=$(free_port 9514)
  printf 'REDIS_PORT=%s\nCOLLECTOR_PORT=%s\nWEB_PORT=%s\nMETRICS_PORT=%s\nBUILD=%s\n' \
    "$REDIS_PORT" "$COLLECTOR_PORT" "$WEB_PORT" "$METRICS_PORT" "$BUILD" >"$ENV_FILE"
  # The dashboard's access token (kept across runs; only this user reads it).
  [[ -s "$WEB_TOKEN" ]] || (umask 077 && openssl rand -hex 24 >"$WEB_TOKEN")
  write_configs
  info "configs $(disp "$WORK/collector.yml") and $(disp "$WORK/agent.yml")"

  step "checking the configs (--check)"
  "$COLLECTOR_BIN" --check -c "$WORK/collector.yml" || die "collector.yml or its certificates are not valid"
  "$AGENT_BIN" --check -c "$WORK/agent.yml" || die "agent.yml or its certificates are not valid"

  step "starting the collector on 127.0.0.1:$COLLECTOR_PORT"
  # The heap on transparent huge pages, as the systemd unit runs it.
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    start_bg collector "$COLLECTOR_BIN" "$COLLECTOR_PID" "$COLLECTOR_LOG" -c "$WORK/collector.yml"
  wait_collector_listening

  step "starting the dashboard (minisoc-web) on 127.0.0.1:$WEB_PORT"
  start_bg dashboard "$WEB_BIN" "$WEB_PID" "$WEB_LOG" -c "$WORK/web.yml"

  step "starting the agent ($AGENT_NAME, follows $(disp "$DEMO_LOG"))"
  start_bg agent "$AGENT_BIN" "$AGENT_PID" "$AGENT_LOG" -c "$WORK/agent.yml"
  wait_agent_hello
  info "agent $AGENT_NAME connected over mutual TLS"

  local before
  before=$(alert_count)
  step "simulating an SSH brute force from $ATTACKER_IP (appending to $(disp "$DEMO_LOG"))"
  append_burst "$ATTACKER_IP"
  tail -n 6 -- "$DEMO_LOG" | sed 's/^/    | /'
  if ! wait_for_alert "$before"; then
    show_log_tails
    die "no new alert in Redis stream $STREAM within $ALERT_TIMEOUT_S s"
  fi

  step "alerts in Redis ($(disp "$CLI_BIN") alerts -r 127.0.0.1:$REDIS_PORT -n 10)"
  print_alerts

  trap - EXIT INT TERM
  local cli self=$0
  cli=$(disp "$CLI_BIN")
  [[ -z "${MINISOC_WORK:-}" ]] || self="MINISOC_WORK=$(disp "$WORK") $0"
  cat <<EOF

minisoc is running (work folder $(disp "$WORK")):
  redis-server  127.0.0.1:$REDIS_PORT   pid $(pid_of "$REDIS_PID" redis-server || echo '?')   log $(disp "$REDIS_LOG")
  collector     127.0.0.1:$COLLECTOR_PORT   pid $(pid_of "$COLLECTOR_PID" minisoc-collector || echo '?')   log $(disp "$COLLECTOR_LOG")
  agent         $AGENT_NAME   pid $(pid_of "$AGENT_PID" minisoc-agent || echo '?')   log $(disp "$AGENT_LOG")
  dashboard     127.0.0.1:$WEB_PORT   pid $(pid_of "$WEB_PID" minisoc-web || echo '?')   log $(disp "$WEB_LOG")

Dashboard (live alerts, agents, the register's systems, a 24 h chart):
  http://127.0.0.1:$WEB_PORT/   token: $(cat "$WEB_TOKEN")
  (from another machine: ssh -L $WEB_PORT:127.0.0.1:$WEB_PORT this-host)
Metrics: curl http://127.0.0.1:$METRICS_PORT/metrics

Watch alerts as they arrive:
  $cli alerts -r 127.0.0.1:$REDIS_PORT --follow
  $cli alerts -r 127.0.0.1:$REDIS_PORT -n 10 --json
  redis-cli -p $REDIS_PORT SUBSCRIBE $CHANNEL

Every event is in the archive (per system per day):
  $cli search -A $(disp "$WORK/state/archive") --from -1h --where program=sshd

Compliance report of the province's 69 systems (Vietnamese, HTML):
  $cli report --register $(disp "$WORK/register.yml") --profile-dir $(disp "$ROOT/rules/compliance") \\
      --framework new --archive $(disp "$WORK/state/archive") -r 127.0.0.1:$REDIS_PORT -o report.html

Feed more lines (the agent ships whatever is appended to the file):
  echo "\$(LC_ALL=C date '+%b %e %H:%M:%S') web1 sshd[4242]: Failed password for invalid user bob from 192.0.2.200 port 40022 ssh2" >> $(disp "$DEMO_LOG")
  $self burst 198.51.100.99   # another brute force (one alert per IP per 120 s)

Stop everything:
  $self stop
EOF
}

do_status() {
  load_env
  local pid rc=0
  if pid=$(pid_of "$REDIS_PID" redis-server); then
    info "redis-server  running  pid $pid  127.0.0.1:$REDIS_PORT  alerts in $STREAM: $(alert_count)"
  else
    info "redis-server  stopped"; rc=1
  fi
  if pid=$(pid_of "$COLLECTOR_PID" minisoc-collector); then
    info "collector     running  pid $pid  127.0.0.1:$COLLECTOR_PORT"
  else
    info "collector     stopped"; rc=1
  fi
  if pid=$(pid_of "$WEB_PID" minisoc-web); then
    info "dashboard     running  pid $pid  http://127.0.0.1:$WEB_PORT/"
  else
    info "dashboard     stopped"; rc=1
  fi
  if pid=$(pid_of "$AGENT_PID" minisoc-agent); then
    info "agent         running  pid $pid  follows $(disp "$DEMO_LOG")"
  else
    info "agent         stopped"; rc=1
  fi
  return "$rc"
}

do_burst() {
  local ip=${1:-$ATTACKER_IP} before
  [[ "$ip" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || "$ip" == *:* ]] || die "not an IP address: $ip"
  load_env
  pid_of "$AGENT_PID" minisoc-agent >/dev/null || die "the agent is not running (start with $0)"
  before=$(alert_count)
  append_burst "$ip"
  info "appended a brute-force burst from $ip to $(disp "$DEMO_LOG")"
  if wait_for_alert "$before"; then
    print_alerts
  else
    warn "no new alert within $ALERT_TIMEOUT_S s (the same IP alerts at most once per quiet_s = 120 s)"
    return 1
  fi
}

case "${1:-start}" in
  start) do_start ;;
  stop)
    step "stopping quickstart in $(disp "$WORK")"
    do_stop
    ;;
  status) do_status ;;
  burst) do_burst "${2:-}" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
