#!/usr/bin/env bash
# TLS session resumption must not outlive the client certificate: the
# collector issued TLS 1.3 session tickets (2 hours), and a resumed
# handshake carries no certificate, so an agent certificate that had
# expired since – or whoever held a copy of the session's secret, without
# the agent's key – was still accepted as that agent for up to 2 hours.
# Here a certificate valid for a few more seconds connects, waits past its
# end and connects again offering its session: it must be refused, and
# counted as expired.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_tls_resume.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki "$PKI" web1
# A minimal openssl CA to issue a certificate with an exact end.
mkdir -p "$PKI/db"
: >"$PKI/db/index.txt"
openssl rand -hex 16 >"$PKI/db/serial"
cat >"$PKI/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $PKI/db/index.txt
new_certs_dir = $PKI/db
serial = $PKI/db/serial
certificate = $PKI/ca.crt
private_key = $PKI/ca.key
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=short \
	-keyout "$PKI/short.key" -out "$PKI/short.csr" 2>/dev/null || it_fail "req"
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# Issued only now, right before its first connection: its 5-6 s of life
# must not be spent starting Redis and the collector (about 1.5 s of them
# went there on this host under load, more on a slower one), or the first
# verdict is "refused" for a certificate already expired.
LIFE=6
END=$(date -u -d "+$LIFE seconds" +%Y%m%d%H%M%SZ)
openssl ca -batch -config "$PKI/ca.cnf" -extensions client -in "$PKI/short.csr" \
	-out "$PKI/short.crt" -startdate "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" -enddate "$END" \
	-rand_serial -notext 2>>"$IT_WORK/logs/pki.log" || it_fail "cannot issue the short certificate"

out=$(python3 "$IT_ROOT/tests/integration/tls_client.py" "$CPORT" "$PKI/ca.crt" \
	--cert "$PKI/short.crt" --key "$PKI/short.key" --resume-after $((LIFE + 2)))
it_log "verdicts: $(tr '\n' ';' <<<"$out")"
[[ $(sed -n 1p <<<"$out") == accepted ]] || it_fail "the certificate was refused while valid: $out"
[[ $(sed -n 2p <<<"$out") == "refused full" ]] ||
	it_fail "after its certificate expired, a resumed session was taken: $out"
kill -USR1 "$IT_PID_collector"
it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1 | it_has ' tls_expired=1 ' ||
	it_fail "the expired certificate not counted"
n=$(grep -c 'event=hello .*agent=short' "$IT_WORK/logs/collector.log")
((n == 1)) || it_fail "$n sessions of the expired certificate, 1 expected"
it_stop collector
it_log "PASS"
