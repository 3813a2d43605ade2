#!/usr/bin/env bash
# The CRLs of the whole chain are checked (an agent's certificate and the
# enrolment CA above it), but only the agents' own CRL is fail-closed:
#  - the root's CRL missing from tls.crl, or past its next update (the root
#    key is meant to be offline): an agent below the enrolment CA connects;
#  - a stale root CRL that lists the enrolment CA still refuses its agents
#    (cause=revoked);
#  - the enrolment CA's own CRL past its next update refuses them
#    (fail-closed, event=crl_expired at load).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crl_root_stale.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki_deploy "$PKI"
it_sign "$PKI" agent-web8 web8 "$PKI" enroll-ca "$IT_CLIENT_EXT"

# The CRLs of pki crl's file, by issuer: the root's and the enrolment CA's.
python3 - "$PKI/crl.pem" "$IT_WORK" <<'PY' || it_fail "cannot split crl.pem"
import re, subprocess, sys
pems = re.findall(r"-----BEGIN X509 CRL-----.*?-----END X509 CRL-----\n", open(sys.argv[1]).read(), re.S)
for p in pems:
    issuer = subprocess.run(["openssl", "crl", "-noout", "-issuer"], input=p, capture_output=True,
                            text=True, check=True).stdout
    name = "root" if "enroll" not in issuer.lower() else "enroll"
    open(f"{sys.argv[2]}/{name}-fresh.crl", "w").write(p)
PY
[[ -s $IT_WORK/root-fresh.crl && -s $IT_WORK/enroll-fresh.crl ]] || it_fail "crl.pem lacks a CRL"

# stale_crl CA_BASE OUT [REVOKE_CERT]: a CRL of CA_BASE whose next update
# was a month ago, listing REVOKE_CERT when given.
stale_crl() { it_gencrl "$PKI" "$1" "$2" '-60 days' '-30 days' "${3:-}"; }
stale_crl ca "$IT_WORK/root-stale.crl"
stale_crl ca "$IT_WORK/root-stale-revoked.crl" "$PKI/enroll-ca.crt"
stale_crl enroll-ca "$IT_WORK/enroll-stale.crl"

it_start_redis
CPORT=$(it_free_port)
: >"$IT_WORK/web8.log"
it_agent_conf "$IT_WORK/web8.yml" "$PKI" web8 "$CPORT" "$IT_WORK/state-web8" end "$IT_WORK/web8.log"
n=0
# try NAME CRL_FILES... : the collector with those CRLs in tls.crl, web8 tries.
try() {
	local name=$1
	shift
	n=$((n + 1))
	cat "$@" >"$IT_WORK/$name.crl"
	it_collector_conf "$IT_WORK/c$n.yml" "$PKI" "$CPORT"
	sed -i "s|^  key: $PKI/collector.key$|&\n  crl: $IT_WORK/$name.crl|" "$IT_WORK/c$n.yml"
	it_start "c$n" "$IT_COLLECTOR" -c "$IT_WORK/c$n.yml"
	it_wait_for 10 "collector $name listening" it_log_has "c$n" "event=listening"
	it_start "a$n" "$IT_AGENT" -c "$IT_WORK/web8.yml"
	it_wait_for 15 "web8's first try ($name)" it_log_has "c$n" "event=(hello .*agent=web8|tls_refused)"
	it_stop "a$n"
	it_stop "c$n"
}
try no-root "$IT_WORK/enroll-fresh.crl"
it_log_has c1 "event=hello .*agent=web8" || it_fail "no root CRL: web8 refused: $(grep tls_refused "$IT_WORK/logs/c1.log")"
try stale-root "$IT_WORK/enroll-fresh.crl" "$IT_WORK/root-stale.crl"
it_log_has c2 "event=crl_expired .*issuer=\"/O=minisoc/CN=minisoc-root-CA\"" || it_fail "the stale root CRL not said at load"
it_log_has c2 "event=hello .*agent=web8" || it_fail "a stale root CRL refused web8: $(grep tls_refused "$IT_WORK/logs/c2.log")"
try stale-root-revoked "$IT_WORK/enroll-fresh.crl" "$IT_WORK/root-stale-revoked.crl"
it_log_has c3 "event=tls_refused .*cause=revoked" || it_fail "a stale root CRL listing the enrolment CA let web8 in"
try stale-enroll "$IT_WORK/enroll-stale.crl" "$IT_WORK/root-fresh.crl"
it_log_has c4 "event=hello .*agent=web8" && it_fail "the enrolment CA's stale CRL let web8 in (fail-closed)"
it_log_has c4 "event=tls_refused" || it_fail "web8 not refused under a stale enrolment CA CRL"
it_log "PASS"
