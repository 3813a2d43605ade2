#!/usr/bin/env bash
# An agent whose own certificate has expired (a server off for months, a
# renewal that never worked): `minisoc-agent --check` called it
# "configuration and certificates OK", and the running agent logged, at
# every reconnect, "collector closed the connection before accepting this
# agent (is its certificate signed by the collector's CA?)" – the wrong
# lead. Both must say the certificate expired, and when; the agent still
# runs (it spools), and the collector counts the refusals as expired.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_agent_cert_expired.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki "$PKI" web1
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
	>"$PKI/client.ext"
# Signed by the deployment CA, already expired (-days -1: notAfter before now).
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=old \
	-keyout "$PKI/agent-old.key" -out "$PKI/old.csr" 2>/dev/null || it_fail "req"
openssl x509 -req -in "$PKI/old.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days -1 \
	-extfile "$PKI/client.ext" -out "$PKI/agent-old.crt" 2>/dev/null ||
	it_fail "cannot make an expired certificate"

it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

: >"$IT_WORK/auth.log"
it_agent_conf "$IT_WORK/agent.yml" "$PKI" old "$CPORT" "$IT_WORK/state" end "$IT_WORK/auth.log"
"$IT_AGENT" --check -c "$IT_WORK/agent.yml" >"$IT_WORK/logs/check.log" 2>&1 ||
	it_fail "--check failed: the agent must still start (it spools): $(cat "$IT_WORK/logs/check.log")"
it_log "$(head -n 2 "$IT_WORK/logs/check.log")"
it_log_has check "certificates OK" && it_fail "--check called an expired certificate OK"
it_log_has check "WARNING: this agent's certificate expired at 20" ||
	it_fail "--check did not say the certificate expired"

it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
said() { it_log_has agent "event=disconnected .*reason=\"this agent's certificate expired at 20"; }
it_wait_for 10 "the agent says its certificate expired" said
it_log_has agent "is its certificate signed by the collector's CA" &&
	it_fail "the agent blamed the CA: $(grep -m1 disconnected "$IT_WORK/logs/agent.log")"
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has ' tls_expired=[1-9]' ||
	it_fail "refusals not counted as expired"
it_stop agent
it_stop collector
it_log "PASS"
