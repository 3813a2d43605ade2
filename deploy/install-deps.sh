#!/usr/bin/env bash
# install-deps.sh - install every package minisoc needs to build, run and test
# on Debian 12. Idempotent and non-interactive: when all packages are already
# installed it does not touch apt at all.
#
# Usage: deploy/install-deps.sh
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config
  libevent-dev libssl-dev libhiredis-dev libyaml-dev libcmocka-dev libpcap-dev libpcre2-dev libhyperscan-dev zlib1g-dev libzstd-dev
  # run and test
  redis-server redis-tools openssl ca-certificates python3
  # used by the scripts in deploy/ and tests/ (timeout, ss, ps); curl for
  # the metrics endpoint quickstart.sh and docs/operations.md show
  coreutils iproute2 procps curl
  # e2e_archive.sh reads the event archive back with zstdcat
  zstd
  # bench/pcap compares the packet library with tcpdump -n -r on the same file
  tcpdump
  # bench/run.sh compares the collector with rsyslog (imtcp over TLS with the
  # openssl driver, omhiredis); it runs its own rsyslogd, never the system one
  rsyslog rsyslog-openssl rsyslog-hiredis
  # e2e_spool_badblock.sh and e2e_journal_badblock.sh put the agent's and the
  # collector's spool on a btrfs loop device (mount -o loop) and damage one
  # block found with filefrag (btrfs's data checksums make it read as EIO)
  btrfs-progs e2fsprogs mount
  # e2e_alerts_cli.sh runs minisocctl on a pseudo-terminal with script(1)
  bsdutils
  # tests/integration/e2e_forward.sh: xmllint checks the IODEF documents
  libxml2-utils
  # the compliance report's test renders the HTML in a real browser and reads the
  # PDF back; tests/integration/e2e_web.sh drives the dashboard in headless Chromium
  chromium poppler-utils fonts-dejavu-core
  # tests/web_time.js runs the dashboard's app.js under node (its times' zone)
  nodejs
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  log "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

log "missing: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "not root and sudo not found: install as root: apt-get install ${missing[*]}"
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q)

# Update the package lists only when they were never fetched or when the
# first install attempt fails (stale lists), so repeated runs stay offline.
need_update=1
if compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  need_update=0
fi
if ((need_update)); then
  log "apt-get update"
  "${APT[@]}" update
fi
if ! "${APT[@]}" install -y --no-install-recommends "${missing[@]}"; then
  if ((need_update)); then
    exit 1
  fi
  log "install failed, refreshing package lists and retrying"
  "${APT[@]}" update
  "${APT[@]}" install -y --no-install-recommends "${missing[@]}"
fi
log "installed: ${missing[*]}"
