#!/usr/bin/env bash
# The CRL watch follows the CRL that locks agents out, not the root's. With
# the layout of pki init (agents signed by the enrolment CA) and the root
# key offline, as operations.md says to keep it, pki crl (the weekly
# minisoc-crl.timer) signs the enrolment CA's CRL again and keeps the
# root's as it is: the root's reaches its next update 180 days after pki
# init, which refuses no one (e2e_crl_root_stale). The collector must not
# say then, daily and for ever, that every agent is about to be refused
# (event=crl_expiring, a high alert), nor hide behind it the enrolment
# CA's date:
#  1) root CRL 5 days left, enrolment CA's 180 days: nothing said;
#  2) the enrolment CA's at 5 days left too: said, naming that CA.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crl_expiring_root.sh BUILD_DIR}"

PKI=$IT_WORK/pki
"$IT_CLI" pki init "$PKI" >"$IT_WORK/logs/pki.log" 2>&1 || it_fail "pki init failed"
"$IT_CLI" pki collector "$PKI" --name collector.minisoc.local --ip 127.0.0.1 \
	>>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "pki collector failed"
CRL=$PKI/crl.pem
it_gencrl "$PKI" ca "$IT_WORK/root.crl" '-175 days' '+5 days'
it_gencrl "$PKI" enroll-ca "$IT_WORK/enroll.crl" '-1 day' '+180 days'
cat "$IT_WORK/root.crl" "$IT_WORK/enroll.crl" >"$CRL"

it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
sed -i "s|^  key: $PKI/collector.key$|&\n  crl: $CRL|" "$IT_WORK/collector.yml"
grep -q "crl: $CRL" "$IT_WORK/collector.yml" || it_fail "no tls.crl in the config"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# The check runs with the collector's counters (every 10 s), just before it
# stamps them in its stats hash: a stamp is a check made.
updated() { it_redis_raw HGET minisoc:collector:stats updated; }
moved() { local u; u=$(updated); [[ -n $u && $u != "$LAST" ]]; }
LAST=
alerts() { it_redis_raw XRANGE minisoc:alerts - + | grep -c 'minisoc-crl-expiring' || true; }

# 1) only the root's CRL is near its next update: not said.
it_wait_for 30 "a check" moved
LAST=$(updated)
it_wait_for 30 "a second check" moved
if it_log_has collector "event=crl_expiring"; then
	it_fail "said for the root's CRL: $(grep crl_expiring "$IT_WORK/logs/collector.log")"
fi
[[ $(alerts) == 0 ]] || it_fail "an alert for the root's CRL"

# 2) the enrolment CA's CRL at 5 days left too: said, for that CA.
it_gencrl "$PKI" enroll-ca "$IT_WORK/enroll.crl" '-175 days' '+5 days'
cat "$IT_WORK/root.crl" "$IT_WORK/enroll.crl" >"$CRL"
kill -HUP "$IT_PID_collector"
it_wait_for 10 "the reload" it_log_has collector "event=tls_reload result=ok"
it_wait_for 30 "crl_expiring" it_log_has collector "event=crl_expiring .*days_left=4 "
it_log_has collector "event=crl_expiring file=$CRL issuer=\"/O=minisoc/CN=minisoc-enrollment-CA\"" ||
	it_fail "not the enrolment CA's: $(grep crl_expiring "$IT_WORK/logs/collector.log")"
it_stop collector
it_log "PASS"
