#!/usr/bin/env bash
# The agents' CRL is fail-closed: past its next update every agent the CA
# signed is refused, 180 days after the last pki crl. A running collector
# says it from 30 days before, once a day, in its log and as an alert
# (minisoc-crl-expiring), and reads the date again at each reload:
#  1) a CRL with 180 days left: nothing said over a whole check;
#  2) reloaded with one that has 5 days left: event=crl_expiring days_left=4
#     and a high alert in the stream;
#  3) reloaded with one half a day past: days_left=-1 (whole days, rounded
#     down), the alert says expired;
#  4) deploy/systemd/minisoc-crl.service's command (its paths here) signs
#     a CRL valid 180 days again, which the reload takes: not said.
# Real openssl-made CRLs of the enrolment CA (pki init), a real collector.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_crl_expiring.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki_deploy "$PKI"
CRL=$PKI/crl.pem
it_gencrl "$PKI" enroll-ca "$CRL" '-1 day' '+180 days'

it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
sed -i "s|^  key: $PKI/collector.key$|&\n  crl: $CRL|" "$IT_WORK/collector.yml"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# The check runs with the collector's counters (every 10 s), just before it
# stamps them in its stats hash: a stamp is a check made.
updated() { it_redis_raw HGET minisoc:collector:stats updated; }
moved() { local u; u=$(updated); [[ -n $u && $u != "$LAST" ]]; }
LAST=
alerts() { it_redis_raw XRANGE minisoc:alerts - + | grep -c 'minisoc-crl-expiring' || true; }
two_alerts() { (($(alerts) >= 2)); }
one_alert() { (($(alerts) >= 1)); }

# 1) 180 days left: not said.
it_wait_for 30 "a check" moved
! it_log_has collector "event=crl_expiring" || it_fail "said with 180 days left"
[[ $(alerts) == 0 ]] || it_fail "an alert with 180 days left"

# 2) 5 days left, loaded by a reload: said at the next check.
it_gencrl "$PKI" enroll-ca "$CRL" '-175 days' '+5 days'
kill -HUP "$IT_PID_collector"
it_wait_for 10 "the reload" it_log_has collector "event=tls_reload result=ok"
it_wait_for 30 "crl_expiring" it_log_has collector "event=crl_expiring .*days_left=4 "
it_log_has collector "event=crl_expiring file=$CRL issuer=\"/O=minisoc/CN=minisoc-enrollment-CA\"" ||
	it_fail "the line does not name the file and the CA: $(grep crl_expiring "$IT_WORK/logs/collector.log")"
it_wait_for 10 "the alert" one_alert
it_redis_raw XRANGE minisoc:alerts - + | grep 'minisoc-crl-expiring' | it_has '"level":"high"' ||
	it_fail "the alert is not high: $(it_redis_raw XRANGE minisoc:alerts - + | grep crl)"

# 3) half a day past: said again after the reload, as expired.
it_gencrl "$PKI" enroll-ca "$CRL" '-181 days' '-12 hours'
kill -HUP "$IT_PID_collector"
it_wait_for 30 "crl_expiring when past" it_log_has collector "event=crl_expiring .*days_left=-1 "
it_wait_for 10 "the second alert" two_alerts
it_redis_raw XRANGE minisoc:alerts - + | grep 'minisoc-crl-expiring' | it_has 'has expired' ||
	it_fail "the alert does not say expired"

# 4) minisoc-crl.service's command, with this test's folder and Redis.
UNIT=$IT_ROOT/deploy/systemd/minisoc-crl.service
cmd=$(sed -n 's/^ExecStart=//p' "$UNIT")
[[ $cmd == /usr/bin/minisocctl\ pki\ crl\ * ]] || it_fail "unexpected ExecStart: $cmd"
cmd=${cmd/\/usr\/bin\/minisocctl/$IT_CLI}
cmd=${cmd/\/etc\/minisoc\/pki/$PKI}
cmd=${cmd/127.0.0.1:6379/127.0.0.1:$IT_REDIS_PORT}
read -r -a argv <<<"$cmd"
"${argv[@]}" >>"$IT_WORK/logs/pki.log" 2>&1 || it_fail "the unit's command failed: $cmd"
next=$(date -u -d "$(openssl crl -in "$CRL" -noout -nextupdate | cut -d= -f2)" +%s)
((next > $(date +%s) + 170 * 86400)) || it_fail "the unit's CRL is not valid 180 days: $(openssl crl -in "$CRL" -noout -nextupdate)"
grep -q '^ExecStartPost=/bin/systemctl try-reload-or-restart minisoc-collector.service$' "$UNIT" ||
	it_fail "the unit does not reload the collector"
said=$(grep -c "event=crl_expiring" "$IT_WORK/logs/collector.log")
kill -HUP "$IT_PID_collector"
reloads() { (($(grep -c 'event=tls_reload result=ok' "$IT_WORK/logs/collector.log") >= 3)); }
it_wait_for 10 "the last reload" reloads
LAST=$(updated)
it_wait_for 30 "a check after the last reload" moved
(($(grep -c "event=crl_expiring" "$IT_WORK/logs/collector.log") == said)) ||
	it_fail "said again with the unit's fresh CRL"
it_stop collector
it_log "PASS"
