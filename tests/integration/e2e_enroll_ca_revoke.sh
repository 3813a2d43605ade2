#!/usr/bin/env bash
# A thief of the enrolment CA's key (a compromised collector host, the case
# docs/security.md says the intermediate is for) signs an agent certificate
# of its own and a collector certificate for the real collector's name.
#  - Revoking the enrolment CA (`pki revoke --serial`, SIGHUP) must close
#    the thief's agent session and refuse its reconnects: the CRL check
#    covered only the agent's own certificate, so the thief stayed in.
#  - An agent must refuse the thief's collector certificate: the enrolment
#    CA signs agent certificates only (EKU clientAuth on the CA), and the
#    agent has no CRL to learn of a revocation.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_enroll_ca_revoke.sh BUILD_DIR}"

PKI=$IT_WORK/pki
THIEF=$IT_WORK/thief
mkdir -p "$THIEF"
it_pki_deploy "$PKI"

# What the thief makes with the stolen key.
it_sign "$THIEF" agent-web9 web9 "$PKI" enroll-ca "$IT_CLIENT_EXT"
it_sign "$THIEF" collector collector.minisoc.local "$PKI" enroll-ca "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:collector.minisoc.local,IP:127.0.0.1"
cp "$PKI/ca.crt" "$THIEF/"
# An honest agent, signed by the root.
it_sign "$PKI" agent-web1 web1 "$PKI" ca "$IT_CLIENT_EXT"

it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
sed -i "s|^  key: $PKI/collector.key$|&\n  crl: $PKI/crl.pem|" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

: >"$IT_WORK/web9.log"
it_agent_conf "$IT_WORK/web9.yml" "$THIEF" web9 "$CPORT" "$IT_WORK/state-web9" end "$IT_WORK/web9.log"
it_start agent_web9 "$IT_AGENT" -c "$IT_WORK/web9.yml"
it_wait_for 10 "the thief's agent connected (the enrolment CA not yet revoked)" \
	it_log_has agent_web9 "event=connected"

SERIAL=$(openssl x509 -in "$PKI/enroll-ca.crt" -noout -serial | cut -d= -f2 | tr A-F a-f |
	sed 's/^0*//')
"$IT_CLI" pki revoke --serial "$SERIAL" --dir "$PKI" -r "127.0.0.1:$IT_REDIS_PORT" \
	>>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "cannot revoke the enrolment CA"
kill -HUP "$IT_PID_collector"
it_wait_for 10 "reload reported" it_log_has collector "event=tls_reload result=ok"
revoked() { it_log_has collector "event=session_revoked .*agent=web9"; }
it_wait_for 10 "the thief's session closed by the reload" revoked
refused() { it_log_has collector "event=tls_refused .*cause=revoked"; }
it_wait_for 10 "the thief's reconnects refused" refused
it_stop agent_web9
n=$(grep -c 'event=hello .*agent=web9' "$IT_WORK/logs/collector.log")
((n == 1)) || it_fail "the thief got $n sessions, 1 before the revocation expected"

# The thief's collector, for the real collector's name, and an honest agent.
FPORT=$(it_free_port)
it_collector_conf "$IT_WORK/fake.yml" "$THIEF" "$FPORT"
it_start fake "$IT_COLLECTOR" -c "$IT_WORK/fake.yml"
it_wait_for 10 "fake collector listening" it_log_has fake "event=listening"
: >"$IT_WORK/web1.log"
it_agent_conf "$IT_WORK/web1.yml" "$PKI" web1 "$FPORT" "$IT_WORK/state-web1" end "$IT_WORK/web1.log"
it_start agent_web1 "$IT_AGENT" -c "$IT_WORK/web1.yml"
it_wait_for 10 "the honest agent's first try" it_log_has agent_web1 "event=(connected|connect_failed|disconnected)"
it_log_has agent_web1 "event=connected" && it_fail "an agent took the thief's collector certificate"
it_log_has agent_web1 "collector certificate: unsuitable certificate purpose" ||
	it_fail "the agent did not say why: $(grep -E "connect_failed|disconnected" "$IT_WORK/logs/agent_web1.log" | sed -n 1p)"
it_stop agent_web1
it_stop fake
it_stop collector
it_log "PASS"
