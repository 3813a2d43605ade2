#!/usr/bin/env bash
# Two addresses cannot hold every TLS handshake slot: 128 idle connections
# (TCP only, never a ClientHello) from each of 127.0.0.2 and 127.0.0.3 –
# together limits.max_handshakes (256) – get limits.max_handshakes_per_ip
# (default 32) each, the rest are closed right after accept and counted
# (sessions_handshake_limited, reason=max_handshakes_per_ip), and a real
# agent from 127.0.0.1 completes its hello while they are held. Once the
# idle connections are closed, their address has its whole allowance back,
# a completed handshake no longer counts, and (second collector, cap 2,
# 1 s deadline) neither do handshakes that timed out.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_handshakes_per_ip.sh BUILD_DIR}"

PER_IP=32	# the default of limits.max_handshakes_per_ip
IDLE=128	# per address
LOG=$IT_WORK/logs/collector.log
PKI=$IT_WORK/pki
it_pki "$PKI" web1 probe
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
# A deadline longer than the test stands for an attacker who reconnects
# before each one (the review's script did, every 8.5 s of the default 10 s).
cat >>"$IT_WORK/collector.yml" <<YML
limits:
  handshake_timeout_ms: 60000
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# counters: the stats line of a fresh SIGUSR1.
stats_lines() { grep -c 'why=sigusr1' "$LOG" || true; }
stats_after() { (($(stats_lines) > $1)); }
counters() {
	local before
	before=$(stats_lines)
	kill -USR1 "$IT_PID_collector"
	it_wait_for 5 "collector counters" stats_after "$before"
	grep 'why=sigusr1' "$LOG" | tail -n1
}
counter() { grep -o " $1=[0-9]*" <<<"$2" | cut -d= -f2; }

# hold.py PORT IP N...: N idle TCP connections from each IP, open until SIGTERM.
cat >"$IT_WORK/hold.py" <<'PY'
import signal, socket, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
port = int(sys.argv[1])
held = []
for ip, n in zip(sys.argv[2::2], sys.argv[3::2]):
    for _ in range(int(n)):
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5,
                                             source_address=(ip, 0)))
print("holding", len(held), flush=True)
signal.sigwait([signal.SIGTERM])
PY
python3 "$IT_WORK/hold.py" "$CPORT" 127.0.0.2 "$IDLE" 127.0.0.3 "$IDLE" >"$IT_WORK/logs/hold.log" 2>&1 &
HOLD=$!
IT_PIDS+=("$HOLD")
it_wait_for 10 "idle connections open" it_log_has hold "^holding $((2 * IDLE))$"
# Every one of them accepted or refused by the collector.
all_seen() {
	local s
	s=$(counters)
	(($(counter sessions "$s") + $(counter sessions_refused "$s") >= 2 * IDLE))
}
it_wait_for 10 "the collector to take in the idle connections" all_seen

# A real agent from 127.0.0.1 gets in while they are held.
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$PKI" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 15 "the agent's hello beside the idle connections" \
	it_log_has collector "event=hello .*agent=web1"
grep -E 'reason=max_handshakes( |$)' "$LOG" | it_has 'peer=127\.0\.0\.1:' &&
	it_fail "the agent was refused for max_handshakes"

stats=$(counters)
limited=$(counter sessions_handshake_limited "$stats")
refused=$(counter sessions_refused "$stats")
[[ $limited == $((2 * (IDLE - PER_IP))) ]] ||
	it_fail "expected $((2 * (IDLE - PER_IP))) refused over the per-address cap: $stats"
[[ $refused == "$limited" ]] || it_fail "refusals other than the per-address cap: $stats"
[[ $(counter sessions "$stats") == $((2 * PER_IP + 1)) ]] ||
	it_fail "expected $PER_IP idle sessions per address and the agent: $stats"
it_log_has collector "event=session_refused peer=127\.0\.0\.[23]:[0-9]+ reason=max_handshakes_per_ip" ||
	it_fail "per-address refusal not logged"
it_log "held $((2 * PER_IP)), refused $limited over the per-address cap; the agent got in"

# The idle connections go; their count goes with them.
kill -TERM "$HOLD"
wait "$HOLD" || it_fail "hold.py: $(cat "$IT_WORK/logs/hold.log")"
only_agent() { [[ $(counter sessions "$(counters)") == 1 ]]; }
it_wait_for 10 "the idle sessions to be freed" only_agent

# client.py PORT CA CERT KEY IP N: N idle connections from IP, then a TLS
# client from IP (prints "handshake done" or "refused: ..."); on SIGUSR1 a
# second TLS client the same way; everything open until SIGTERM.
cat >"$IT_WORK/client.py" <<'PY'
import signal, socket, ssl, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGUSR1])
port, ca, cert, key, ip, n = int(sys.argv[1]), *sys.argv[2:6], int(sys.argv[6])
held = [socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ip, 0))
        for _ in range(n)]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
ctx.check_hostname = False
def tls():
    try:
        held.append(ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5,
                                                             source_address=(ip, 0))))
        print("handshake done", flush=True)
    except (ssl.SSLError, OSError) as e:
        print("refused:", e, flush=True)
tls()
if signal.sigwait([signal.SIGTERM, signal.SIGUSR1]) == signal.SIGUSR1:
    tls()
    signal.sigwait([signal.SIGTERM])
PY
CLIENT=
client() { # client N: starts client.py from 127.0.0.2 with N idle connections
	# (emptied before the fork: the second client's results must not be
	# read from the first one's log, not yet truncated by the child)
	: >"$IT_WORK/logs/client.log"
	python3 "$IT_WORK/client.py" "$CPORT" "$PKI/ca.crt" "$PKI/agent-probe.crt" \
		"$PKI/agent-probe.key" 127.0.0.2 "$1" >>"$IT_WORK/logs/client.log" 2>&1 &
	CLIENT=$!
	IT_PIDS+=("$CLIENT")
}
results() { grep -c -E '^(handshake done|refused)' "$IT_WORK/logs/client.log" || true; }
has_results() { (($(results) >= $1)); }
expect_done() { # expect_done N: the client's Nth TLS client completed its handshake
	it_wait_for 10 "TLS client $1 from 127.0.0.2" has_results "$1"
	[[ $(grep -E '^(handshake done|refused)' "$IT_WORK/logs/client.log" | sed -n "${1}p") == "handshake done" ]] ||
		it_fail "127.0.0.2's TLS client $1 refused: $(cat "$IT_WORK/logs/client.log")"
}
tls_ok_from() { (($(grep -c 'event=tls_ok peer=127\.0\.0\.2:' "$LOG" || true) >= $1)); }
client_stop() {
	kill -TERM "$CLIENT"
	wait "$CLIENT" || it_fail "client.py: $(cat "$IT_WORK/logs/client.log")"
}

# From 127.0.0.2 again: PER_IP - 1 idle connections and a TLS client fill
# its allowance exactly. Once the collector has verified that client's
# certificate, its handshake no longer counts: a second TLS client fits.
client $((PER_IP - 1))
expect_done 1
it_wait_for 5 "the collector to verify 127.0.0.2's certificate" tls_ok_from 1
kill -USR1 "$CLIENT"
expect_done 2
it_wait_for 5 "the collector to verify the second certificate" tls_ok_from 2
stats=$(counters)
[[ $(counter sessions_handshake_limited "$stats") == "$limited" ]] ||
	it_fail "127.0.0.2 refused after its idle connections were closed: $stats"
client_stop
it_stop agent
it_stop collector

# Handshakes that time out give their place back too: a cap of 2 and a
# deadline of 1 s; 3 idle connections from 127.0.0.2, one refused, two
# timed out, then one idle and a TLS client fit again.
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
limits:
  handshake_timeout_ms: 1000
  max_handshakes_per_ip: 2
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
python3 "$IT_WORK/hold.py" "$CPORT" 127.0.0.2 3 >"$IT_WORK/logs/hold.log" 2>&1 &
HOLD=$!
IT_PIDS+=("$HOLD")
timeouts() { (($(grep -c 'event=tls_refused peer=127\.0\.0\.2:[0-9]* cause=timeout' "$LOG" || true) >= 2)); }
it_wait_for 10 "two handshake timeouts" timeouts
[[ $(counter sessions_handshake_limited "$(counters)") == 1 ]] ||
	it_fail "expected one refusal over max_handshakes_per_ip 2"
client 1
expect_done 1
it_wait_for 5 "the collector to verify 127.0.0.2's certificate" tls_ok_from 1
[[ $(counter sessions_handshake_limited "$(counters)") == 1 ]] ||
	it_fail "127.0.0.2 refused after its handshakes timed out"
client_stop
kill -TERM "$HOLD"
wait "$HOLD" || it_fail "hold.py: $(cat "$IT_WORK/logs/hold.log")"
it_stop collector
it_log "PASS"
