#!/usr/bin/env bash
# Certificates the collector must refuse before reading any frame, each
# counted under its own reason (stats line and the metrics hash): another
# CA, expired, not a client certificate (serverAuth only), none at all.
# Then a connection flood from one address: past limits.connect_burst_per_ip
# connections are closed before TLS (sessions_rate_limited), and a real
# agent from the same address still gets in once the bucket refills.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_tls_refusals.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki "$PKI" web1
it_pki "$IT_WORK/rogue" intruder
# Signed by the deployment CA, but already expired (-days -1: notAfter before now).
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=old \
	-keyout "$PKI/old.key" -out "$PKI/old.csr" 2>/dev/null
openssl x509 -req -in "$PKI/old.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days -1 \
	-out "$PKI/old.crt" 2>/dev/null || it_fail "cannot make an expired certificate"
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
limits:
  connect_rate_per_ip: 2
  connect_burst_per_ip: 8
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# try CERT KEY: a TLS client; prints "refused" when the collector ends it.
try() {
	python3 - "$CPORT" "$PKI/ca.crt" "$@" <<'PY'
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.check_hostname = False
if len(sys.argv) > 3:
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    t = ctx.wrap_socket(s, server_hostname="collector.minisoc.local")
    # TLS 1.3: the server judges the client certificate after the client
    # finished; its verdict comes as an alert or a close on the first read.
    print("refused" if t.recv(1) == b"" else "answered")
except (ssl.SSLError, ConnectionError, OSError):
    print("refused")
PY
}
[[ $(try "$IT_WORK/rogue/agent-intruder.crt" "$IT_WORK/rogue/agent-intruder.key") == refused ]] ||
	it_fail "certificate of another CA accepted"
[[ $(try "$PKI/old.crt" "$PKI/old.key") == refused ]] || it_fail "expired certificate accepted"
[[ $(try "$PKI/collector.crt" "$PKI/collector.key") == refused ]] ||
	it_fail "server certificate accepted as a client certificate"
[[ $(try) == refused ]] || it_fail "client without certificate accepted"

# A flood of bare connections from this address.
python3 - "$CPORT" <<'PY'
import socket, sys
socks = []
for _ in range(30):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
for s in socks:
    s.close()
PY

counters() {
	kill -USR1 "$IT_PID_collector"
	it_wait_for 5 "collector counters" it_log_has collector "why=sigusr1"
	grep 'why=sigusr1' "$IT_WORK/logs/collector.log" | tail -n1
}
stats=$(counters)
for want in tls_unknown_ca=1 tls_expired=1 tls_purpose=1 tls_no_cert=1 tls_other=0; do
	grep -q -E " $want( |$)" <<<"$stats" || it_fail "expected $want: $stats"
done
limited=$(grep -o ' sessions_rate_limited=[0-9]*' <<<"$stats" | cut -d= -f2)
# 8 tokens at first (4 spent on the certificates above), 2 more per second.
((limited >= 15)) || it_fail "connection flood not limited ($limited refused): $stats"
it_log_has collector "reason=connect_rate_per_ip" || it_fail "rate refusal not logged"
it_log "refused by reason: $(grep -o ' tls_[a-z_]*=[1-9][0-9]*' <<<"$stats" | tr -d '\n'), rate-limited $limited"

# A real agent from the same address gets in once the bucket refills.
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$PKI" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 15 "agent connected despite the flood" it_log_has agent "event=connected"
it_stop agent

# An agent given the key of another certificate does not start, and says
# why in words (OpenSSL's error text, not "lib(5)::reason(116)").
ROGUE=$IT_WORK/rogue-agent
mkdir -p "$ROGUE"
cp "$PKI/ca.crt" "$PKI/agent-web1.crt" "$ROGUE/"
cp "$IT_WORK/rogue/agent-intruder.key" "$ROGUE/agent-web1.key"
it_agent_conf "$IT_WORK/rogue.yml" "$ROGUE" web1 "$CPORT" "$IT_WORK/rogue-state" end "$AUTH"
if "$IT_AGENT" -c "$IT_WORK/rogue.yml" >"$IT_WORK/logs/rogue.log" 2>&1; then
	it_fail "the agent started with a key that is not its certificate's"
fi
it_log_has rogue "key values mismatch" || it_fail "no reason in words: $(cat "$IT_WORK/logs/rogue.log")"
it_log_has rogue "reason\([0-9]+\)" && it_fail "an OpenSSL error without its text"
it_stop collector
it_log "PASS"
