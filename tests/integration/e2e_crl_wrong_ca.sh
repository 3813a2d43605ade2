#!/usr/bin/env bash
# A CRL file from another deployment: every `minisocctl pki init` names its
# root "minisoc-root-CA", so staging's crl.pem copied over production's by
# mistake has the right issuer name and the wrong signature. The reload said
# result=ok, and from then on every agent's handshake failed (CRL signature
# failure, counted as cause=other): the whole fleet locked out at its next
# reconnect. A CRL that the CA of its name in tls.ca did not sign must fail
# the reload with the reason, the loaded CRL staying in force.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crl_wrong_ca.sh BUILD_DIR}"

PKI=$IT_WORK/prod
it_pki_deploy "$PKI"
"$IT_CLI" pki init "$IT_WORK/staging" >>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "pki init failed"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
	>"$PKI/client.ext"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=web1 \
	-keyout "$PKI/agent-web1.key" -out "$PKI/web1.csr" 2>/dev/null || it_fail "req"
openssl x509 -req -in "$PKI/web1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days 2 \
	-set_serial "0x$(openssl rand -hex 15)" -extfile "$PKI/client.ext" \
	-out "$PKI/agent-web1.crt" 2>/dev/null || it_fail "cannot sign web1"
cp "$PKI/crl.pem" "$IT_WORK/tls.crl"

it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
sed -i "s|^  key: $PKI/collector.key$|&\n  crl: $IT_WORK/tls.crl|" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
try() {
	python3 "$IT_ROOT/tests/integration/tls_client.py" "$CPORT" "$PKI/ca.crt" \
		--cert "$PKI/agent-web1.crt" --key "$PKI/agent-web1.key"
}
[[ $(try) == accepted ]] || it_fail "web1 refused with production's own CRL"

cp "$IT_WORK/staging/crl.pem" "$IT_WORK/tls.crl"
kill -HUP "$IT_PID_collector"
it_wait_for 10 "reload reported" it_log_has collector "event=tls_reload(_failed)? "
it_log "$(grep -E 'event=tls_reload' "$IT_WORK/logs/collector.log" | tail -n1)"
it_log_has collector "event=tls_reload_failed .*not signed by" ||
	it_fail "a CRL of another CA was loaded without a word"
[[ $(try) == accepted ]] || it_fail "web1 refused after the other CA's CRL was loaded"
"$IT_COLLECTOR" --check -c "$IT_WORK/collector.yml" >"$IT_WORK/logs/check.log" 2>&1 &&
	it_fail "--check passed with another CA's CRL"
it_log_has check "not signed by" || it_fail "--check did not say why"
it_stop collector
it_log "PASS"
