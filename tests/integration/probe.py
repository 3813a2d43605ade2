#!/usr/bin/env python3
"""probe.py – a hostile but authenticated client for the collector.

Connects with a valid agent certificate, sends one crafted byte sequence
and prints what came back: "error CODE REASON", "ack SEQ", "heartbeat",
"closed" or "timeout". Used by e2e_hostile.sh and e2e_health.sh; it is
test input, not a second agent.

usage: probe.py PORT CA CERT KEY CASE
"""
import socket
import ssl
import struct
import sys
import time


def frame(ftype, payload, version=1, flags=0):
    return b"MSOC" + bytes([version, ftype]) + struct.pack(">HI", flags, len(payload)) + payload


def tlv(tag, value):
    return bytes([tag]) + struct.pack(">H", len(value)) + value


HELLO = frame(1, tlv(1, b"probe") + tlv(2, b"probe-host") + tlv(4, struct.pack(">i", 0)))


def event(seq, line, source=b"/var/log/auth.log"):
    return struct.pack(">QqH", seq, int(time.time() * 1000), len(source)) + source + \
        struct.pack(">I", len(line)) + line


def batch(events):
    return frame(2, struct.pack(">I", len(events)) + b"".join(events))


HOSTILE_LINES = [
    b"\x00\x01\x02\xff\xfe garbage %s%s%n%n",
    b"Nov 25 16:34:47 h sshd[1]: Failed password for x from 1.1.1.1 port 2 from 9.9.9.9 port 22 ssh2",
    b"<999999999999>1 9999-99-99T99:99:99Z - - - - [unterminated",
    b"Nov 31 99:99:99 h sshd[1]: Failed password for invalid user " + b"A" * 60000 + b" from ::1 port 1 ssh2",
    b"message repeated 4294967296 times: [ Failed password for root from 1.2.3.4 port 1 ssh2]",
    b"\xef\xbb\xbf<13>1 - - - - - - \xc3\x28 invalid utf8",
    # dated in the future: taken as dated at the collector's clock (+5 s), counted
    b"<38>1 2099-01-01T00:00:00Z evil sshd 1 - - Failed password for root from 203.0.113.250 port 1 ssh2",
]

def item(key, value):
    return bytes([len(key)]) + key + struct.pack(">H", len(value)) + value


def health(items, count=None):
    """A HEALTH frame (type 6); count may lie about the items that follow."""
    n = len(items) if count is None else count
    return frame(6, struct.pack(">H", n) + b"".join(item(k, v) for k, v in items))


HEARTBEAT = frame(4, struct.pack(">q", 0))

# Each is ignored and counted by the collector; the session goes on.
BAD_HEALTH = [
    health([(b"hostname", b"x")], count=2),                      # count lie
    health([(b"Host Name", b"x")]),                              # key bytes
    health([(b"hostname", b"a\nb")]),                            # control byte in a value
    health([(b"k", b"1"), (b"k", b"2")]),                        # duplicate key
    frame(6, struct.pack(">H", 1) + item(b"k", b"v") + b"\x00"),  # trailing byte
    frame(6, struct.pack(">H", 257)),                            # too many items
    health([(b"k", b"v" * 1025)]),                               # value too long
    frame(6, struct.pack(">H", 1) + bytes([1]) + b"k" + struct.pack(">H", 5) + b"v"),  # value length lies
]


def report(rate_limited, uptime):
    return health([(b"hostname", b"probe-host"), (b"agent_uptime_s", str(uptime).encode()),
                   (b"count.rate_limited", str(rate_limited).encode())])


CASES = {
    "oversize": frame(2, b"")[:8] + struct.pack(">I", 0xFFFFFFF0),  # header only, no payload
    "garbage": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "batch_before_hello": batch([event(1, b"x")]),
    "unknown_type": frame(9, b""),
    "bad_version": frame(2, b"", version=2),
    "bad_flags": frame(4, struct.pack(">q", 0), flags=1),
    "count_lie": HELLO + frame(2, struct.pack(">I", 1000) + event(1, b"x")),
    "seq_backwards": HELLO + batch([event(5, b"a"), event(4, b"b")]),
    "ack_from_agent": HELLO + frame(3, struct.pack(">Q", 1)),
    "second_hello": HELLO + HELLO,
    "hostile_lines": HELLO + batch([event(i + 1, l) for i, l in enumerate(HOSTILE_LINES)]),
    "silent": b"",
    "half_frame": HELLO + batch([event(1, b"x" * 100)])[:50],
    # Health reports: a heartbeat answered after them shows the session went on.
    "health_malformed": HELLO + b"".join(BAD_HEALTH) + HEARTBEAT,
    "health_before_hello": health([(b"k", b"v")]),
    # The rate limit applies between the 1st and 2nd report, and again
    # before the 3rd: one flooding alert (the next is due 10 minutes later).
    "health_flooding": HELLO + report(1, 100) + report(7, 101) + report(9, 102) + HEARTBEAT,
}

# Cases whose expected answer is the heartbeat after their frames.
HEARTBEAT_CASES = {"health_malformed", "health_flooding"}


def flood_noread(s):
    """Sends heartbeats and never reads the answers, then holds the socket
    open: the collector must give up on this session by itself."""
    s.settimeout(2)
    hb = frame(4, struct.pack(">q", 0))
    try:
        for _ in range(200000):
            s.sendall(hb)
    except (socket.timeout, OSError, ssl.SSLError):
        pass
    print("holding", flush=True)
    time.sleep(30)


def main():
    port, ca, cert, key, case = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    raw = socket.socket()
    # A small receive buffer: the collector's answers pile up on its side.
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", int(port)))
    s = ctx.wrap_socket(raw, server_hostname="collector.minisoc.local")
    if case == "flood_noread":
        flood_noread(s)
        return
    s.sendall(CASES[case])
    got = b""
    acks = []
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            while len(got) >= 12:
                ftype = got[5]
                length = struct.unpack(">I", got[8:12])[0]
                if len(got) < 12 + length:
                    break
                body, got = got[12:12 + length], got[12 + length:]
                if ftype == 5:
                    code = struct.unpack(">H", body[:2])[0]
                    print("error", code, body[2:].decode(errors="replace"))
                    return
                if ftype == 4 and case in HEARTBEAT_CASES:
                    print("heartbeat")
                    return
                if ftype == 3:
                    acks.append(struct.unpack(">Q", body)[0])
                    # The hello's ack is 0; a later one acknowledges the batch.
                    if case == "hostile_lines" and acks[-1] >= len(HOSTILE_LINES):
                        print("ack", acks[-1])
                        return
            if case == "half_frame":
                break
    except socket.timeout:
        print("timeout")
        return
    except (ConnectionResetError, ssl.SSLError) as e:
        print("closed", type(e).__name__)
        return
    print("closed", "acks=" + ",".join(map(str, acks)))


if __name__ == "__main__":
    main()
