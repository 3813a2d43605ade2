#!/usr/bin/env bash
# `minisoc-agent enroll --owner USER`, run as root, must not let USER (the
# agent's account: a compromised agent) take a file or folder it does not
# own. The agent's state folder is USER's (StateDirectory= once the unit
# has run); tls.* point into a tls/ folder enroll makes there. While the
# exchange waits on the network (here a relay holds the collector's
# answers), USER swaps tls/ for a symbolic link to a root-owned folder.
# Before: the key and certificate were written there by root and, at the
# end, chown followed the link and gave the victim folder to USER (with
# /etc, root). Now: the victim folder and what is in it stay root's, and
# nothing is written there. Also: tls.* in a folder USER cannot write is
# refused before the token is spent, and the token given as --token TOKEN
# is gone from the process's arguments (what ps shows any local user)
# while it waits.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_enroll_owner.sh BUILD_DIR}"
if (($(id -u) != 0)); then
	echo "not root: --owner needs root, skipped"
	exit 77
fi
chmod 755 "$IT_WORK"

PKI=$IT_WORK/pki
it_pki_deploy "$PKI" --dns localhost
it_start_redis
CPORT=$(it_free_port)
EPORT=$(it_free_port)
RPORT=$(it_free_port)
cat >"$IT_WORK/collector.yml" <<YML
listen:
  address: 127.0.0.1
  port: $CPORT
tls:
  ca: $PKI/ca.crt
  cert: $PKI/collector.crt
  key: $PKI/collector.key
enroll:
  port: $EPORT
  ca_cert: $PKI/enroll-ca.crt
  ca_key: $PKI/enroll-ca.key
redis:
  host: 127.0.0.1
  port: $IT_REDIS_PORT
spool:
  dir: $IT_WORK/collector.spool
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=enroll_listening"
RELAY_HOLD=1 it_start relay python3 "$IT_ROOT/tests/integration/relay.py" "$RPORT" "$EPORT"
it_wait_for 10 "relay holding" it_log_has relay "relay hold"

STATE=$IT_WORK/var-lib-minisoc-agent
mkdir -m 0700 "$STATE"
chown nobody: "$STATE"
VICTIM=$IT_WORK/victim
mkdir -m 0755 "$VICTIM"
echo precious >"$VICTIM/keep"
agent_yml() {
	cat >"$IT_WORK/agent.yml" <<YML
agent:
  state_dir: $STATE
collector:
  host: 127.0.0.1
  port: $CPORT
  server_name: collector.minisoc.local
tls:
  ca: $1/ca.crt
  cert: $1/agent.crt
  key: $1/agent.key
files:
  - path: $IT_WORK/app.log
YML
}
token() { "$IT_CLI" pki token --dir "$PKI" -r "127.0.0.1:$IT_REDIS_PORT" "$@" 2>>"$IT_WORK/logs/pki.log"; }

# tls.* where nobody cannot write: refused at once, the token still good.
mkdir -m 0755 "$IT_WORK/rootonly"
agent_yml "$IT_WORK/rootonly"
TOK=$(token --agent web1 --system erp) || it_fail "pki token"
rc=0
"$IT_AGENT" enroll -c "$IT_WORK/agent.yml" --collector "127.0.0.1:$RPORT" --timeout 3 \
	--token "$TOK" --owner nobody >"$IT_WORK/logs/enroll-rootonly.log" 2>&1 || rc=$?
((rc == 1)) || it_fail "tls.* in a folder nobody cannot write: status $rc ($(cat "$IT_WORK/logs/enroll-rootonly.log"))"
grep -q "nobody cannot write" "$IT_WORK/logs/enroll-rootonly.log" ||
	it_fail "not said: $(cat "$IT_WORK/logs/enroll-rootonly.log")"

# The swap during the exchange.
agent_yml "$STATE/tls"
"$IT_AGENT" enroll -c "$IT_WORK/agent.yml" --collector "127.0.0.1:$RPORT" --token "$TOK" \
	--owner nobody >"$IT_WORK/logs/enroll.log" 2>&1 &
EPID=$!
it_wait_for 10 "enroll made tls/" test -d "$STATE/tls"
# Any local user reads a process's arguments (ps): the token is no longer there.
args=$(runuser -u nobody -- tr '\0' ' ' <"/proc/$EPID/cmdline")
[[ $args != *"${TOK%%.*}"* ]] || it_fail "the token is in enroll's arguments: $args"
runuser -u nobody -- sh -c "mv '$STATE/tls' '$STATE/tls.old' && ln -s '$VICTIM' '$STATE/tls'" ||
	it_fail "nobody could not swap tls/"
kill -USR2 "$IT_PID_relay"
rc=0
wait "$EPID" || rc=$?
it_log "enroll exited $rc: $(tr '\n' ' ' <"$IT_WORK/logs/enroll.log")"
owner=$(stat -c %U "$VICTIM")
[[ $owner == root ]] || it_fail "the victim folder was given to $owner"
[[ $(stat -c %U "$VICTIM/keep") == root ]] || it_fail "a file in the victim folder was given away"
extra=$(ls -A "$VICTIM" | grep -v '^keep$' || true)
[[ -z $extra ]] || it_fail "root wrote into the victim folder: $extra ($(stat -c '%n %U' "$VICTIM"/*))"
it_log "PASS"
