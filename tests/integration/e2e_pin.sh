#!/usr/bin/env bash
# Optional key pinning (tls.pin_sha256): an agent that pins another key
# refuses a collector whose certificate is otherwise valid (right CA, right
# name) and sends it nothing; with the collector's pin (as openssl prints
# it) it connects and delivers.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_pin.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
PIN=$(openssl x509 -in "$IT_WORK/pki/collector.crt" -pubkey -noout |
	openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$IT_WORK/pki" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
cp "$IT_WORK/agent.yml" "$IT_WORK/agent-ok.yml"

# A pin of some other key (upper case is accepted too).
OTHER=$(printf 'not the collector' | sha256sum | cut -d' ' -f1 | tr a-f A-F)
sed -i "s|^tls:$|tls:\n  pin_sha256: [$OTHER]|" "$IT_WORK/agent.yml"
"$IT_AGENT" -t -c "$IT_WORK/agent.yml" >/dev/null || it_fail "a valid pin list refused by --check"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "pin mismatch" it_log_has agent "collector key pin mismatch \\(its key is $PIN\\)"
it_log_has agent "event=connected" && it_fail "connected to a collector with another key"
it_log_has collector "event=hello" && it_fail "the agent sent a hello despite the pin"
it_stop agent

# A malformed pin is a configuration error.
sed "s|^tls:$|tls:\n  pin_sha256: abc|" "$IT_WORK/agent-ok.yml" >"$IT_WORK/agent-bad.yml"
"$IT_AGENT" -t -c "$IT_WORK/agent-bad.yml" 2>"$IT_WORK/bad.err" && it_fail "a malformed pin accepted"
grep -q "pin_sha256: a pin is 64 hex digits" "$IT_WORK/bad.err" || it_fail "unclear error: $(cat "$IT_WORK/bad.err")"

# The right pin: connected, a burst raises its alert.
sed -i "s|^tls:$|tls:\n  pin_sha256: $PIN|" "$IT_WORK/agent-ok.yml"
mv "$IT_WORK/logs/agent.log" "$IT_WORK/logs/agent-1.log"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent-ok.yml"
it_wait_for 10 "agent connected with the right pin" it_log_has agent "event=connected"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[6$i]: Failed password for root from 203.0.113.90 port 2$i$i ssh2"
done >>"$AUTH"
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"203.0.113.90"}'; }
it_wait_for 10 "alert through the pinned connection" has_alert
it_stop agent
it_stop collector
it_log "PASS"
