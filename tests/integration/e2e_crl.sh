#!/usr/bin/env bash
# Revocation: the collector checks agent certificates against the CA's CRL
# (tls.crl). Agents web1 and web2 are connected; web2's certificate is
# revoked and the CRL re-issued; SIGHUP: web2's session is closed (ERROR 9),
# its reconnects are refused at the handshake (tls_revoked), while web1's
# session stays up untouched and keeps delivering.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crl.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki "$PKI" web1 web2
# A minimal openssl CA database to revoke with and issue CRLs.
mkdir -p "$PKI/db"
: >"$PKI/db/index.txt"
echo 01 >"$PKI/db/crlnumber"
cat >"$PKI/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $PKI/db/index.txt
crlnumber = $PKI/db/crlnumber
certificate = $PKI/ca.crt
private_key = $PKI/ca.key
default_md = sha256
default_crl_days = 7
CNF
crl() { openssl ca -config "$PKI/ca.cnf" -gencrl -out "$PKI/ca.crl" 2>>"$IT_WORK/logs/pki.log"; }
crl || it_fail "cannot issue an empty CRL"

it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
sed -i "s|^  key: $PKI/collector.key$|&\n  crl: $PKI/ca.crl|" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
for a in web1 web2; do
	: >"$IT_WORK/$a.log"
	it_agent_conf "$IT_WORK/$a.yml" "$PKI" "$a" "$CPORT" "$IT_WORK/state-$a" end "$IT_WORK/$a.log"
	it_start "agent_$a" "$IT_AGENT" -c "$IT_WORK/$a.yml"
	it_wait_for 10 "$a connected" it_log_has "agent_$a" "event=connected"
done

openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/agent-web2.crt" 2>>"$IT_WORK/logs/pki.log" ||
	it_fail "cannot revoke web2"
crl || it_fail "cannot issue the CRL"
kill -HUP "$IT_PID_collector"
it_wait_for 10 "web2's session closed" it_log_has collector "event=session_revoked .*agent=web2"
# The revocation is logged before the reload's summary line: wait for that too.
it_wait_for 10 "reload reported" it_log_has collector "event=tls_reload result=ok .*sessions_revoked=1"
it_wait_for 10 "web2 told why" it_log_has agent_web2 "reason=\"certificate_revoked\""
refused() { it_log_has collector "event=tls_refused .*cause=revoked"; }
it_wait_for 10 "web2's reconnect refused at the handshake" refused

# web1 was not disturbed: still its first connection, and it delivers.
(($(grep -c 'event=connected' "$IT_WORK/logs/agent_web1.log") == 1)) || it_fail "web1 was reconnected"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[6$i]: Failed password for root from 203.0.113.91 port 2$i$i ssh2"
done >>"$IT_WORK/web1.log"
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has '"source":{"ip":"203.0.113.91"}'; }
it_wait_for 10 "web1's alert after the reload" has_alert
(($(grep -c 'event=connected' "$IT_WORK/logs/agent_web1.log") == 1)) || it_fail "web1 was reconnected"
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has ' tls_revoked=[1-9]' ||
	it_fail "revocations not counted"
it_stop agent_web1
it_stop agent_web2
it_stop collector
it_log "PASS"
