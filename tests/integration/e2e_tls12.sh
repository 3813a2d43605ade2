#!/usr/bin/env bash
# TLS 1.3 only by default: a client limited to TLS 1.2 (with a valid agent
# certificate) is refused. With tls.allow_tls12 it gets in, and only with a
# forward-secret AEAD suite (ECDHE with AES-GCM or ChaCha20); a client
# offering only weaker TLS 1.2 suites is still refused.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_tls12.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"

# tls12 [CIPHERS]: a TLS 1.2-only client; prints the suite it got, or "refused".
tls12() {
	python3 - "$CPORT" "$IT_WORK/pki" "${1:-}" <<'PY'
import socket, ssl, sys
port, pki, ciphers = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
if ciphers:
    ctx.set_ciphers(ciphers)
ctx.load_verify_locations(pki + "/ca.crt")
ctx.load_cert_chain(pki + "/agent-web1.crt", pki + "/agent-web1.key")
ctx.check_hostname = False
s = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    t = ctx.wrap_socket(s, server_hostname="collector.minisoc.local")
    print(t.cipher()[0])
except (ssl.SSLError, ConnectionError, OSError):
    print("refused")
PY
}

it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
[[ $(tls12) == refused ]] || it_fail "TLS 1.2 accepted without tls.allow_tls12"
it_stop collector

mv "$IT_WORK/logs/collector.log" "$IT_WORK/logs/collector-1.log"
sed -i "s|^  key: .*collector.key$|&\n  allow_tls12: true|" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
suite=$(tls12)
[[ $suite =~ ^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$ ]] ||
	it_fail "TLS 1.2 with tls.allow_tls12: got \"$suite\""
[[ $(tls12 'ECDHE-ECDSA-AES128-SHA:AES128-SHA') == refused ]] ||
	it_fail "a CBC/SHA-1 TLS 1.2 suite was accepted"
it_stop collector
it_log "PASS (TLS 1.2 suite: $suite)"
