#!/usr/bin/env bash
# minisoc-forward's incident lookup takes the alert whose own id is the one
# the incident names, not an earlier alert that merely mentions that id in
# another field (a log line, a user name, a note): with a real redis-server
# and a real TLS receiver (syslog_sink.py), an alert carrying the id as the
# value of a field is added to the stream first, then the alert itself; the
# incident's IODEF must describe the second (its source address and id) and
# nothing of the first.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_forward_lookup.sh BUILD_DIR}"
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
FWD=$IT_BUILD/collector/minisoc-forward
[[ -x $FWD ]] || it_fail "minisoc-forward not built in $IT_BUILD"

it_pki "$IT_WORK/pki" web1 forwarder
it_start_redis
OUT=$IT_WORK/received.jsonl
: >"$OUT"
it_start sink python3 "$HERE/syslog_sink.py" --cert "$IT_WORK/pki/collector.crt" \
	--key "$IT_WORK/pki/collector.key" --ca "$IT_WORK/pki/ca.crt" --out "$OUT" \
	--port-file "$IT_WORK/sink.port" --port 0
it_wait_for 10 "the receiver to listen" test -s "$IT_WORK/sink.port"
it_forward_conf "$IT_WORK/forward.yml" "$(cat "$IT_WORK/sink.port")" "forward.confirm_ms: 100"
it_start forward "$FWD" -c "$IT_WORK/forward.yml"
it_wait_for 10 "the forwarder's group on Redis" it_log_has forward "event=redis_ready"

# Two alerts (low: filtered, not forwarded themselves), the decoy first: it
# names the real alert's id as the value of a field, quotes and all.
python3 - "$IT_REDIS_PORT" >"$IT_WORK/ids" <<'PY'
import json, os, socket, sys, time
def uuid7():
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
real, decoy = uuid7(), uuid7()
now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
def alert(aid, ip, rule, extra):
    a = {"id": aid, "time": now, "rule": {"id": rule, "title": rule}, "severity": "low",
         "agent": {"id": "web1", "host": "web1"}, "src_ip": ip}
    a.update(extra)
    return json.dumps(a)
cmds = b""
for a in (alert(decoy, "198.51.100.66", "decoy-rule", {"user": real}),
          alert(real, "203.0.113.5", "real-rule", {})):
    args = [b"XADD", b"minisoc:alerts", b"*", b"alert", a.encode()]
    cmds += f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(x)}\r\n".encode() + x + b"\r\n" for x in args)
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    s.sendall(cmds)
    f = s.makefile("rb")
    for _ in range(2):
        if not f.readline().startswith(b"$"):
            sys.exit("XADD failed")
        f.readline()
print(real)
print(decoy)
PY
REAL=$(sed -n 1p "$IT_WORK/ids")
DECOY=$(sed -n 2p "$IT_WORK/ids")
INC='{"id":"INC-2026-0042","created":"2026-11-25T16:40:00Z","updated":"2026-11-25T16:41:00Z",'
INC+='"severity":"high","title":"lookup","systems":["SYS-0012"],"alerts":["'$REAL'"],"status":"open"}'
it_redis XADD minisoc:incidents:events '*' incident "$INC" >/dev/null

# check: the IODEF of INC-2026-0042 (once it is there) names the real alert.
check() {
	python3 - "$OUT" "$REAL" "$DECOY" <<'PY'
import os, sys
sys.path.insert(0, os.environ["HERE"])
import fwd_tool
import xml.etree.ElementTree as ET
out, real, decoy = sys.argv[1:4]
docs = [r for r in fwd_tool.records(out)
        if r["msgid"] == "incident" and r["sd"].get("id") == "INC-2026-0042"]
if not docs:
    sys.exit(2)
xml = docs[-1]["msg"]
NS = fwd_tool.NS
addrs = [a.text for a in ET.fromstring(xml.encode()).iter(NS + "Address")]
bad = []
if "198.51.100.66" in addrs or decoy in xml or "decoy-rule" in xml:
    bad.append("the decoy alert (it only mentions the id) was taken")
if "203.0.113.5" not in addrs or "real-rule" not in xml:
    bad.append("the real alert's details are missing")
if bad:
    print("; ".join(bad) + f": addresses {addrs}", file=sys.stderr)
    sys.exit(1)
PY
}
export HERE
arrived() { local rc=0; check 2>/dev/null || rc=$?; ((rc != 2)); }
it_wait_for 10 "the incident upstream as IODEF" arrived
check || it_fail "IODEF of INC-2026-0042 does not describe alert $REAL"
it_log "the IODEF names alert $REAL, not $DECOY which only mentions its id"
it_stop forward
it_log "PASS"
