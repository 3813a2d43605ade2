#!/usr/bin/env python3
"""Test helper for minisoc-forward (e2e_forward.sh): adds alerts to Redis and
checks what tests/integration/syslog_sink.py recorded.

  fwd_tool.py add REDIS_PORT STYLE SEVERITY N [SRC_IP]
                                       XADDs N alerts to minisoc:alerts (one
                                       pipeline), prints their ids; STYLE old
                                       (severity, time, src_ip) or ecs
                                       (event.severity, @timestamp, source.ip)
  fwd_tool.py ids OUT                 one line per alert message: its alert id
                                       (every message must be a valid RFC 5424
                                       message with the JSON payload; exit 1 if not)
  fwd_tool.py iodef OUT INCIDENT_ID SRC_IP NALERTS
                                       the last incident message for INCIDENT_ID is
                                       a well-formed IODEF 2.0 document with the
                                       required elements, the title's special
                                       characters intact, NALERTS EventData and
                                       SRC_IP as a source Address; prints the XML
"""
import json
import os
import re
import socket
import sys
import time
import xml.etree.ElementTree as ET

HDR = re.compile(
    r"<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) ", re.S)
TS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})|-)$")
NS = "{urn:ietf:params:xml:ns:iodef-2.0}"


def fail(msg):
    print(f"fwd_tool: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_sd(s):
    """STRUCTURED-DATA at the start of s -> (dict of params, rest)."""
    if s.startswith("-"):
        return {}, s[1:]
    params = {}
    while s.startswith("["):
        m = re.match(r"\[([^ =\]\"]{1,32})", s)
        if not m:
            fail(f"bad SD-ID in {s[:60]!r}")
        i = m.end()
        while s[i] == " ":
            pm = re.match(r' ([^ =\]"]{1,32})="', s[i:])
            if not pm:
                fail(f"bad SD-PARAM in {s[i:i+60]!r}")
            i += pm.end()
            val = []
            while s[i] != '"':
                if s[i] == "\\" and s[i + 1] in '"\\]':
                    i += 1
                elif s[i] in '"]':
                    fail("unescaped character in a PARAM-VALUE")
                val.append(s[i])
                i += 1
            params[pm.group(1)] = "".join(val)
            i += 1
        if s[i] != "]":
            fail(f"SD element not closed: {s[i:i+40]!r}")
        s = s[i + 1:]
    return params, s


def parse(msg):
    m = HDR.match(msg)
    if not m:
        fail(f"not an RFC 5424 header: {msg[:80]!r}")
    pri = int(m.group(1))
    if pri > 191:
        fail(f"PRI {pri} out of range")
    if not TS.match(m.group(2)):
        fail(f"bad TIMESTAMP {m.group(2)!r}")
    sd, rest = parse_sd(msg[m.end():])
    if rest and not rest.startswith(" "):
        fail("no space before MSG")
    body = rest[1:]
    if body.startswith("\ufeff"):
        body = body[1:]
    return {"pri": pri, "msgid": m.group(6), "sd": sd, "msg": body}


def records(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield parse(json.loads(line)["msg"])


def cmd_ids(path):
    out = []
    for r in records(path):
        if r["msgid"] != "alert":
            continue
        a = json.loads(r["msg"])
        aid = a.get("id") or a.get("event", {}).get("id")
        if isinstance(aid, dict):
            aid = None
        if not aid or r["sd"].get("id") != aid:
            fail(f"alert id missing or not the SD id: {r['sd']}")
        out.append(aid)
    print("\n".join(out))


def need(el, path):
    found = el.find(path)
    if found is None:
        fail(f"IODEF: no {path.replace(NS, '')}")
    return found


def cmd_iodef(path, inc_id, src_ip, nalerts):
    docs = [r for r in records(path) if r["msgid"] == "incident" and r["sd"].get("id") == inc_id]
    if not docs:
        fail(f"no incident message for {inc_id}")
    xml = docs[-1]["msg"]
    root = ET.fromstring(xml.encode("utf-8"))
    if root.tag != NS + "IODEF-Document" or root.get("version") != "2.00":
        fail(f"root is {root.tag} version {root.get('version')}")
    if not root.get("{http://www.w3.org/XML/1998/namespace}lang"):
        fail("no xml:lang")
    inc = need(root, NS + "Incident")
    if inc.get("purpose") != "reporting":
        fail("Incident purpose is not reporting")
    iid = need(inc, NS + "IncidentID")
    if iid.text != inc_id or not iid.get("name"):
        fail(f"IncidentID {iid.text} name={iid.get('name')}")
    need(inc, NS + "GenerationTime")
    desc = need(inc, NS + "Description")
    if "<script>&\"x\"" not in (desc.text or ""):
        fail(f"title not intact: {desc.text!r}")
    imp = need(inc, f"{NS}Assessment/{NS}SystemImpact")
    if imp.get("severity") not in ("low", "medium", "high") or not imp.get("type"):
        fail("SystemImpact without severity/type")
    contact = need(inc, NS + "Contact")
    if not contact.get("role") or not contact.get("type"):
        fail("Contact without role/type")
    need(contact, NS + "ContactName")
    ev = inc.findall(NS + "EventData")
    if len(ev) != nalerts:
        fail(f"{len(ev)} EventData, expected {nalerts}")
    addrs = [a.text for a in inc.iter(NS + "Address")]
    if src_ip not in addrs:
        fail(f"source address {src_ip} not in {addrs}")
    # The order of Incident's children is fixed by the schema (RFC 7970, 3.2).
    order = ["IncidentID", "AlternativeID", "RelatedActivity", "DetectTime", "StartTime",
             "EndTime", "RecoveryTime", "ReportTime", "GenerationTime", "Description",
             "Discovery", "Assessment", "Method", "Contact", "EventData", "Indicator",
             "History", "AdditionalData"]
    seen = [order.index(c.tag.replace(NS, "")) for c in inc]
    if seen != sorted(seen):
        fail(f"Incident children out of order: {[c.tag.replace(NS, '') for c in inc]}")
    print(xml)


def uuid7():
    ms = int(time.time() * 1000)
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(f"${len(a)}\r\n".encode() + a + b"\r\n")
    return b"".join(out)


def cmd_add(port, style, sev, n, src_ip):
    ids, cmds = [], []
    for i in range(n):
        aid = uuid7()
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
        if style == "ecs":
            a = {"@timestamp": now, "event": {"id": aid, "severity": sev},
                 "rule": {"id": "test-rule", "name": "Test rule <&>"},
                 "source": {"ip": src_ip}, "host": {"name": "web1"}, "agent": {"id": "web1"}}
        else:
            a = {"id": aid, "time": now, "rule": {"id": "test-rule", "title": "Test rule"},
                 "severity": sev, "agent": {"id": "web1", "host": "web1"}, "src_ip": src_ip}
        ids.append(aid)
        cmds.append(resp("XADD", "minisoc:alerts", "*", "alert", json.dumps(a)))
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"".join(cmds))
        f = s.makefile("rb")
        for _ in range(n):
            line = f.readline()
            if not line.startswith(b"$"):
                fail(f"XADD failed: {line!r}")
            f.readline()
    print("\n".join(ids))


def main():
    if len(sys.argv) in (6, 7) and sys.argv[1] == "add":
        cmd_add(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]),
                sys.argv[6] if len(sys.argv) == 7 else "203.0.113.5")
    elif len(sys.argv) == 3 and sys.argv[1] == "ids":
        cmd_ids(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "iodef":
        cmd_iodef(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
