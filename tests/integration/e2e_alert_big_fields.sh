#!/usr/bin/env bash
# An alert whose event has long fields full of bytes JSON must escape (a
# hostile or merely odd log line: 60,000 control bytes in a sudo command
# line make "fields" six times longer) is still stored: the agent is
# acknowledged for the line, so an alert dropped here would be lost for
# good. The fields are cut to fit instead (event=alert_fields_cut).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_alert_big_fields.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" probe
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $IT_ROOT/rules/linux/sudo_shadow_read.yml
detect:
  ssh_bruteforce:
    enabled: false
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

# HELLO, then one BATCH of one line (seq 1); prints the ACK that covers it.
send() {
	python3 - "$CPORT" "$IT_WORK/pki" "$1" <<'PY'
import socket, ssl, struct, sys
import os
sys.path.insert(0, os.environ["IT_ROOT"] + "/tests/integration")
import probe
port, pki, pad = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
line = (b"Nov 25 16:49:02 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        b"COMMAND=/usr/bin/cat /etc/shadow " + b"\x01" * pad)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(pki + "/ca.crt")
ctx.load_cert_chain(pki + "/agent-probe.crt", pki + "/agent-probe.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="collector.minisoc.local")
s.sendall(probe.HELLO + probe.batch([probe.event(1, line)]))
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        print("closed"); break
    got += chunk
    while len(got) >= 12 and len(got) >= 12 + struct.unpack(">I", got[8:12])[0]:
        n = struct.unpack(">I", got[8:12])[0]
        ftype, body, got = got[5], got[12:12 + n], got[12 + n:]
        if ftype == 3 and struct.unpack(">Q", body)[0] >= 1:
            print("ack", struct.unpack(">Q", body)[0]); sys.exit(0)
PY
}
export IT_ROOT
out=$(send 60000)
it_log "batch -> $out"
[[ $out == "ack 1" ]] || it_fail "the line was not acknowledged: $out"
stored() { it_redis_raw XRANGE minisoc:alerts - + | it_has 'sudo_shadow_read'; }
it_wait_for 5 "the alert of the acknowledged line in Redis" stored
it_log_has collector "event=alert_dropped" && it_fail "an alert was dropped"
# What is stored is valid JSON with the rule and a cut CommandLine.
it_redis_raw XRANGE minisoc:alerts - + | grep '^{' | python3 -c '
import json, sys
a = json.loads(sys.stdin.readline())
assert a["rule"]["name"] == "sudo_shadow_read", a["rule"]
assert a["fields"]["Image"] == "/usr/bin/cat", a.get("fields")
assert 0 < len(a["fields"]["CommandLine"]) < 60000, len(a["fields"]["CommandLine"])
' || it_fail "stored alert is not as expected"
it_stop collector
it_log "PASS"
