#!/usr/bin/env bash
# Enrolment end to end (docs/security.md "Enrolment"): `minisocctl pki init`
# and `pki collector` make the PKI, a real collector runs its enrolment
# listener on a real Redis, `pki token` issues one-time tokens and
# `minisoc-agent enroll` trades them for certificates (the key is made on
# the agent's side). Then:
#  - the enrolled agents connect with their new certificates; web1's events
#    raise an alert;
#  - the same token again, an expired token, a second token for web1 made
#    without --replace, and a token whose CA hash is wrong are refused, each
#    with its reason and exit status; with --replace it is accepted;
#  - `pki revoke web2` + SIGHUP closes web2's session, web1 stays connected;
#  - with 15-second certificates (enroll.cert_validity_s) web3 renews its
#    own automatically, reconnects with the new one and keeps delivering.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_enroll.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki_deploy "$PKI" --dns localhost
[[ $(stat -c %a "$PKI/ca.key") == 600 && $(stat -c %a "$PKI/enroll-ca.key") == 600 ]] ||
	it_fail "CA keys are not mode 0600"

it_start_redis
CPORT=$(it_free_port)
EPORT=$(it_free_port)
REDIS=(-r "127.0.0.1:$IT_REDIS_PORT")

# collector_conf VALIDITY_S [FILE LISTEN_PORT ENROLL_PORT [USER]]: a collector with its enrolment listener.
collector_conf() {
	local file=${2:-$IT_WORK/collector.yml}
	# its own spool (not the machine's /var/lib/minisoc-collector), the user's when it drops root
	mkdir -p "${file%.*}.spool"
	[[ -z ${5:-} ]] || chown -R "$5" "${file%.*}.spool"
	cat >"$file" <<YML
collector:
  log_level: debug
  user: "${5:-}"
listen:
  address: 127.0.0.1
  port: ${3:-$CPORT}
tls:
  ca: $PKI/ca.crt
  cert: $PKI/collector.crt
  key: $PKI/collector.key
  crl: $PKI/crl.pem
enroll:
  port: ${4:-$EPORT}
  ca_cert: $PKI/enroll-ca.crt
  ca_key: $PKI/enroll-ca.key
  cert_validity_s: $1
redis:
  host: 127.0.0.1
  port: $IT_REDIS_PORT
limits:
  shutdown_timeout_ms: 2000
register:
  path: $IT_WORK/register.yml
metrics:
  port: ${6:-0}
spool:
  dir: ${file%.*}.spool
YML
}
# The register of information systems: a token's system must match it.
cat >"$IT_WORK/register.yml" <<YML
systems:
  - id: erp
    name: "ERP"
    type: internal
    owner: "Finance"
    operator: "IT"
    framework: new
    level: 2
    dossier: approved
    decision: {number: "1/QD", date: 2025-01-02}
    assets:
      - {host: web1, agent: web1}
      - {host: web2, agent: web2}
      - {host: web6, agent: web6}
  - id: hr
    name: "HR"
    type: internal
    owner: "HR"
    operator: "IT"
    framework: new
    level: 2
    dossier: approved
    decision: {number: "2/QD", date: 2025-01-02}
    assets:
      - {host: web3, agent: web3}
      - {host: web7, agent: web7}
YML
MPORT=$(it_free_port)
collector_conf 3600 "" "" "" "" "$MPORT"
"$IT_COLLECTOR" -c "$IT_WORK/collector.yml" -t >"$IT_WORK/logs/check.log" 2>&1 ||
	it_fail "collector -t: $(cat "$IT_WORK/logs/check.log")"
# --check catches an enrolment key that is not the enrolment CA's.
sed "s|ca_key: $PKI/enroll-ca.key|ca_key: $PKI/collector.key|" "$IT_WORK/collector.yml" >"$IT_WORK/bad.yml"
"$IT_COLLECTOR" -c "$IT_WORK/bad.yml" -t >"$IT_WORK/logs/check-bad.log" 2>&1 &&
	it_fail "collector -t accepted a wrong enroll.ca_key"
grep -q "not a CA matching" "$IT_WORK/logs/check-bad.log" || it_fail "check: $(cat "$IT_WORK/logs/check-bad.log")"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=enroll_listening"

# agent_conf NAME [RENEW_CHECK_S]: certificates in the agent's own folder, written by enroll.
agent_conf() {
	local d=$IT_WORK/a-$1
	mkdir -p "$d"
	: >>"$IT_WORK/$1.log"
	cat >"$IT_WORK/$1.yml" <<YML
agent:
  state_dir: $d/state
  log_level: debug
  poll_ms: 100
collector:
  host: 127.0.0.1
  port: $CPORT
  server_name: collector.minisoc.local
tls:
  ca: $d/ca.crt
  cert: $d/agent.crt
  key: $d/agent.key
  renew_port: $EPORT
  renew_check_s: ${2:-3600}
uplink:
  backoff_min_ms: 50
  backoff_max_ms: 500
files:
  - path: $IT_WORK/$1.log
    start: end
YML
}
token() { "$IT_CLI" pki token --dir "$PKI" "${REDIS[@]}" "$@" 2>>"$IT_WORK/logs/pki.log"; }
# enroll NAME TOKEN [OPTION...]: runs the one command; its output in logs/enroll-NAME.log; returns its status.
enroll() {
	local name=$1 tok=$2
	shift 2
	"$IT_AGENT" enroll -c "$IT_WORK/$name.yml" --collector "127.0.0.1:${EP:-$EPORT}" --token "$tok" "$@" \
		>"$IT_WORK/logs/enroll-$name.log" 2>&1
}
# expect_refused NAME TOKEN STATUS TEXT
expect_refused() {
	local rc=0
	enroll "$1" "$2" || rc=$?
	((rc == $3)) || it_fail "enroll $1: status $rc, expected $3 ($(cat "$IT_WORK/logs/enroll-$1.log"))"
	grep -q -- "$4" "$IT_WORK/logs/enroll-$1.log" || it_fail "enroll $1: no \"$4\" in the message"
	it_log "refused as expected: $(tail -n1 "$IT_WORK/logs/enroll-$1.log")"
}

# --- enrolment --------------------------------------------------------------
for a in web1 web2; do
	agent_conf "$a"
	tok=$(token --agent "$a" --system erp) || it_fail "pki token failed"
	enroll "$a" "$tok" || it_fail "enroll $a failed: $(cat "$IT_WORK/logs/enroll-$a.log")"
	[[ $(stat -c %a "$IT_WORK/a-$a/agent.key") == 600 ]] || it_fail "$a's key is not 0600"
	openssl verify -CAfile "$IT_WORK/a-$a/ca.crt" -untrusted "$IT_WORK/a-$a/agent.crt" \
		-purpose sslclient "$IT_WORK/a-$a/agent.crt" >/dev/null || it_fail "$a's chain does not verify"
	subj=$(openssl x509 -in "$IT_WORK/a-$a/agent.crt" -noout -subject -ext subjectAltName)
	[[ $subj == *"CN = $a"* && $subj == *"URI:urn:minisoc:system:erp"* ]] ||
		it_fail "$a's certificate: $subj"
	# The private key never left: the collector logged no key, and the one on disk matches.
	it_start "agent_$a" "$IT_AGENT" -c "$IT_WORK/$a.yml"
	it_wait_for 10 "$a connected" it_log_has "agent_$a" "event=connected"
	first_tok_web1=${first_tok_web1:-$tok}
done
it_log_has collector 'event=agent_enrolled agent=web1 system=erp' || it_fail "enrolment not logged"
rec=$(it_redis_raw HGET minisoc:enroll:agents web1)
[[ $rec == *'"system":"erp"'* && $rec == *'"serial":"'* ]] || it_fail "web1's record: $rec"

# web1's events raise an alert.
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[7$i]: Failed password for root from 203.0.113.77 port 3$i$i ssh2"
done >>"$IT_WORK/web1.log"
has_alert() { it_redis_raw XRANGE minisoc:alerts - + | it_has "\"source\":{\"ip\":\"$1\"}"; }
it_wait_for 15 "web1's alert" has_alert 203.0.113.77

# --- refusals ------------------------------------------------------------------
agent_conf web1b	# another host claiming web1's id
expect_refused web1b "$first_tok_web1" 2 "token_used"
# Both show in the SOC's alert stream: the enrolment, and the replayed token.
alert_has() { it_redis_raw XRANGE minisoc:alerts - + | it_has -- "$1"; }
it_wait_for 10 "web1's enrolment alert" alert_has '"id":"minisoc-agent-enrolled".*"agent":{"id":"web1"'
it_wait_for 10 "the refused token's alert" alert_has 'minisoc.enroll.token_used'
tok=$(token --agent web1 --system erp --ttl 1s)
exp_ms=$(($(date +%s%3N) + 1000))
past() { (($(date +%s%3N) > exp_ms + 50)); }
it_wait_for 5 "the token's expiry" past
expect_refused web1b "$tok" 2 "token_expired"
tok=$(token --agent web1 --system erp)
expect_refused web1b "$tok" 2 "already_enrolled"
# A token whose CA hash is not this deployment's: refused before the secret is sent.
tok=$(token --agent web1 --system erp --replace)
expect_refused web1b "${tok%.*}.$(printf '%064d' 0)" 3 "wrong CA"
[[ -z $(it_redis_raw HGET "minisoc:enroll:token:$(printf %s "${tok%.*}" | sha256sum | cut -d' ' -f1)" used) ]] ||
	it_fail "the token was used although the collector was not trusted"
enroll web1b "$tok" || it_fail "enroll with --replace refused: $(cat "$IT_WORK/logs/enroll-web1b.log")"
grep -q "enrolled as agent web1" "$IT_WORK/logs/enroll-web1b.log" || it_fail "replace: wrong id"
new_serial=$(openssl x509 -in "$IT_WORK/a-web1b/agent.crt" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')
[[ $(it_redis_raw HGET minisoc:enroll:agents web1) == *"\"serial\":\"$new_serial\""* ]] ||
	it_fail "the record does not name the replacing certificate"
# The replaced certificate stays valid until it expires: its serial is kept for pki revoke.
old_serial=$(openssl x509 -in "$IT_WORK/a-web1/agent.crt" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')
[[ $(it_redis_raw SISMEMBER minisoc:enroll:serials:web1 "$old_serial") == 1 &&
	$(it_redis_raw SISMEMBER minisoc:enroll:serials:web1 "$new_serial") == 1 ]] ||
	it_fail "serials of web1 not both kept: $(it_redis_raw SMEMBERS minisoc:enroll:serials:web1 | tr '\n' ' ')"
# Whoever reaches the port says a host name before any check; it goes into the
# refusal's log line and alert, so it cannot add fields of its own there.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=x -outform DER -out "$IT_WORK/x.csr" 2>/dev/null || it_fail "openssl req"
python3 - "$EPORT" "$PKI/ca.crt" "$IT_WORK/x.csr" <<'PY' || it_fail "hostile host name: no answer"
import socket, ssl, struct, sys
port, ca, csr = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read()
def tlv(t, v): return bytes([t]) + struct.pack(">H", len(v)) + v
body = tlv(1, b"ab" * 32) + tlv(2, csr) + tlv(4, b'evil code=ok reason="enrolled" agent=web1')
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="collector.minisoc.local") as s:
        s.sendall(b"MSOC" + bytes([1, 32]) + struct.pack(">HI", 0, len(body)) + body)
        hdr = s.recv(12)
        assert hdr[:4] == b"MSOC" and hdr[5] == 33, hdr
PY
refusal() { grep 'event=enroll_refused .*host=evil' "$IT_WORK/logs/collector.log"; }
it_wait_for 5 "the hostile host name's refusal logged" refusal
line=$(refusal | tail -n1)
[[ $(grep -o ' code=' <<<"$line" | wc -l) == 1 && $(grep -o ' agent=' <<<"$line" | wc -l) == 1 ]] ||
	it_fail "a host name added fields to the log line: $line"
# A token whose system is not the register's for that agent: refused, the id not kept.
agent_conf web6
expect_refused web6 "$(token --agent web6 --system hr)" 2 "the register puts agent web6 in system erp"
[[ -z $(it_redis_raw HGET minisoc:enroll:agents web6) ]] || it_fail "web6 stayed reserved"
enroll web6 "$(token --agent web6 --system erp)" || it_fail "web6 with the register's system refused"

# One token, two collectors on the same Redis, two hosts at once: exactly one gets it.
CPORT2=$(it_free_port)
EPORT2=$(it_free_port)
collector_conf 3600 "$IT_WORK/collector2.yml" "$CPORT2" "$EPORT2"
it_start collector2 "$IT_COLLECTOR" -c "$IT_WORK/collector2.yml"
it_wait_for 10 "second collector listening" it_log_has collector2 "event=enroll_listening"
agent_conf race1
agent_conf race2
tok=$(token --agent web4 --system erp)
rc1=0 rc2=0
enroll race1 "$tok" & p1=$!
EP=$EPORT2 enroll race2 "$tok" & p2=$!
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
((rc1 + rc2 == 2 && rc1 * rc2 == 0)) ||
	it_fail "token race: statuses $rc1 and $rc2 (one 0, one 2 expected)"
grep -q token_used "$IT_WORK/logs/enroll-race$((rc1 == 0 ? 2 : 1)).log" || it_fail "race: loser not told token_used"
it_log "token race: exactly one of two simultaneous enrolments won"
it_stop collector2

# Garbage at the enrolment port: a clear error, the collector carries on.
python3 - "$EPORT" <<'PY' || it_fail "garbage probe failed"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)) as s:
    s.sendall(b"MSOC\x01\x20\x00\x00\x00\x00\x00\x05\x09\x00\x09ab")
    ans = s.recv(65536)
    assert ans[:6] == b"MSOC\x01\x21" and ans[12:14] == b"\x00\x01", ans
PY
it_wait_for 5 "the bad request logged" it_log_has collector "event=enroll_refused .*code=bad_request"
# One address cannot hold the port: 4 idle connections at most (enroll.max_connections_per_ip).
python3 - "$EPORT" <<'PY' || it_fail "per-address limit not applied"
import socket, sys
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
fifth = socket.create_connection(("127.0.0.1", port), timeout=10)
assert fifth.recv(1) == b"", "the fifth connection was kept"
PY
it_log_has collector "event=enroll_refused peer=127.0.0.1 reason=max_connections_per_ip" ||
	it_fail "per-address refusal not logged"

# --- revocation -------------------------------------------------------------------
# The root key offline (as recommended): its CRL is carried over, the enrolment CA's rewritten.
mv "$PKI/ca.key" "$IT_WORK/ca.key.offline"
"$IT_CLI" pki revoke web2 --dir "$PKI" "${REDIS[@]}" >>"$IT_WORK/logs/pki.log" 2>&1 ||
	it_fail "pki revoke failed"
(($(grep -c 'BEGIN X509 CRL' "$PKI/crl.pem") == 2)) || it_fail "crl.pem should hold the root's and the enrolment CA's CRL"
kill -HUP "$IT_PID_collector"
it_wait_for 10 "web2's session closed" it_log_has collector "event=session_revoked .*agent=web2"
it_wait_for 10 "web2's reconnect refused" it_log_has collector "event=tls_refused .*cause=revoked"
(($(grep -c 'event=connected' "$IT_WORK/logs/agent_web1.log") == 1)) || it_fail "web1 was reconnected"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web1 sshd[8$i]: Failed password for root from 203.0.113.78 port 4$i$i ssh2"
done >>"$IT_WORK/web1.log"
it_wait_for 15 "web1's alert after the revocation" has_alert 203.0.113.78
"$IT_CLI" pki list "${REDIS[@]}" >"$IT_WORK/list.txt" || it_fail "pki list failed"
grep -Eq '^web2 +erp +revoked' "$IT_WORK/list.txt" || it_fail "pki list: $(cat "$IT_WORK/list.txt")"
grep -Eq '^web1 +erp +enrolled' "$IT_WORK/list.txt" || it_fail "pki list: $(cat "$IT_WORK/list.txt")"
# The counters at /metrics (Prometheus).
python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())" "http://127.0.0.1:$MPORT/metrics" >"$IT_WORK/metrics.txt" || it_fail "no /metrics"
grep -Eq '^minisoc_enrollments_total\{result="enrolled"\} ([4-9]|[1-9][0-9])$' "$IT_WORK/metrics.txt" &&
	grep -Eq '^minisoc_enrollments_total\{result="refused"\} ([5-9]|[1-9][0-9])$' "$IT_WORK/metrics.txt" ||
	it_fail "metrics: $(grep enrollments "$IT_WORK/metrics.txt")"
it_stop agent_web1
it_stop agent_web2

# --- renewal ------------------------------------------------------------------------
it_stop collector
# Dropping root: the enrolment CA key (0600 root) was read before; signing still works.
# (nobody reaches its spool in the work folder)
chmod 755 "$IT_WORK"
collector_conf 15 "" "" "" "$( (($(id -u) == 0)) && echo nobody)"
mv "$IT_WORK/logs/collector.log" "$IT_WORK/logs/collector-1.log"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening again" it_log_has collector "event=enroll_listening"
agent_conf web3 1
# Files in a folder enroll makes, given to the account the agent runs as (--owner);
# enroll runs as that account from then on, so it must reach the folder.
chmod 755 "$IT_WORK" "$IT_WORK/a-web3"
sed -i -E "s#$IT_WORK/a-web3/(ca.crt|agent.crt|agent.key)#$IT_WORK/a-web3/tls/\1#" "$IT_WORK/web3.yml"
enroll web3 "$(token --agent web3 --system hr)" --owner nobody ||
	it_fail "enroll web3: $(cat "$IT_WORK/logs/enroll-web3.log")"
[[ $(stat -c '%U %a' "$IT_WORK/a-web3/tls") == "nobody 700" &&
	$(stat -c '%U %a' "$IT_WORK/a-web3/tls/agent.key") == "nobody 600" ]] ||
	it_fail "--owner: $(stat -c '%n %U %a' "$IT_WORK/a-web3/tls" "$IT_WORK/a-web3/tls/agent.key")"
serial1=$(openssl x509 -in "$IT_WORK/a-web3/tls/agent.crt" -noout -serial)
it_start agent_web3 "$IT_AGENT" -c "$IT_WORK/web3.yml"
it_wait_for 10 "web3 connected" it_log_has agent_web3 "event=connected"
# web7's renewals go to a port nothing listens on: they fail, its certificate stays.
agent_conf web7 1
enroll web7 "$(token --agent web7 --system hr)" || it_fail "enroll web7: $(cat "$IT_WORK/logs/enroll-web7.log")"
sed -i "s|^  renew_port: .*|  renew_port: $(it_free_port)|" "$IT_WORK/web7.yml"
serial7=$(openssl x509 -in "$IT_WORK/a-web7/agent.crt" -noout -serial)
it_start agent_web7 "$IT_AGENT" -c "$IT_WORK/web7.yml"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web3 sshd[9$i]: Failed password for root from 203.0.113.79 port 5$i$i ssh2"
done >>"$IT_WORK/web3.log"
it_wait_for 15 "web3's alert" has_alert 203.0.113.79
it_wait_for 30 "web3 renewed its certificate" it_log_has agent_web3 "event=cert_renewed agent=web3"
it_log_has collector "event=cert_renewed agent=web3 system=hr" || it_fail "renewal not logged by the collector"
[[ $(openssl x509 -in "$IT_WORK/a-web3/tls/agent.crt" -noout -serial) != "$serial1" ]] ||
	it_fail "the certificate file was not replaced"
reconnected() { (($(grep -c 'event=connected' "$IT_WORK/logs/agent_web3.log") >= 2)); }
it_wait_for 10 "web3 reconnected with the new certificate" reconnected
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web3 sshd[6$i]: Failed password for root from 203.0.113.80 port 6$i$i ssh2"
done >>"$IT_WORK/web3.log"
it_wait_for 15 "web3's alert after the renewal" has_alert 203.0.113.80
# The health report says when the certificate in use ends (the renewed one).
renewed_na=$(date -u -d "$(openssl x509 -in "$IT_WORK/a-web3/tls/agent.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%S)
health_na() { [[ $(it_redis_raw HGET minisoc:agent:web3:health cert.not_after) == "$renewed_na"* ]]; }
it_wait_for 10 "cert.not_after of the renewed certificate in the health report" health_na
it_wait_for 20 "web7's renewal failed" it_log_has agent_web7 "event=cert_renew_failed"
[[ $(openssl x509 -in "$IT_WORK/a-web7/agent.crt" -noout -serial) == "$serial7" ]] ||
	it_fail "a failed renewal touched web7's certificate"
[[ -z $(ls "$IT_WORK/a-web7/" | grep '\.new') ]] || it_fail "a failed renewal left files behind"
for i in $(seq 1 8); do
	echo "$(it_syslog_now) web7 sshd[5$i]: Failed password for root from 203.0.113.81 port 7$i$i ssh2"
done >>"$IT_WORK/web7.log"
it_wait_for 15 "web7 still delivers after failed renewals" has_alert 203.0.113.81
it_stop agent_web7
# Nothing lost: every line web3 read was handled (its seq is the collector's handled seq).
seq_done() { [[ $(it_redis_raw HGET minisoc:agents:seq web3) -ge 16 ]]; }
it_wait_for 10 "all 16 of web3's lines handled" seq_done
it_stop agent_web3
# Revoking web3 revokes its first certificate too: superseded by the renewal,
# it stays valid until it expires, and whoever stole it would keep sending.
serial1=$(tr 'A-F' 'a-f' <<<"${serial1#serial=}" | sed 's/^0*//')
serial2=$(openssl x509 -in "$IT_WORK/a-web3/tls/agent.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
"$IT_CLI" pki revoke web3 --dir "$PKI" "${REDIS[@]}" >"$IT_WORK/revoke3.txt" 2>&1 ||
	it_fail "pki revoke web3: $(cat "$IT_WORK/revoke3.txt")"
grep -q "revoked web3 (serial $serial2, and [1-9][0-9]* earlier certificates of it)" "$IT_WORK/revoke3.txt" ||
	it_fail "pki revoke web3 did not name the earlier certificates: $(cat "$IT_WORK/revoke3.txt")"
for s in "$serial1" "$serial2"; do
	[[ $(it_redis_raw HEXISTS minisoc:enroll:revoked "$s") == 1 ]] ||
		it_fail "serial $s of web3 not revoked: $(it_redis_raw HKEYS minisoc:enroll:revoked | tr '\n' ' ')"
done

# Redis away: a clear "try again" (exit 2, unavailable), and the collector still stops cleanly.
tok=$(token --agent web5 --system erp)
agent_conf web5
redis-cli -p "$IT_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
expect_refused web5 "$tok" 2 "unavailable"
it_stop collector
it_log "PASS"
