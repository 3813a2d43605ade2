#!/usr/bin/env python3
"""A syslog-over-TLS receiver for tests (RFC 5425 framing): the stand-in for
the national monitoring center. Mutual TLS (client certificate required,
from --ca), octet-counted frames ("LEN SP MSG"), each message appended at
once to --out as one JSON line {"conn": N, "msg": "..."} (flushed before the
next frame is read). A malformed frame closes the connection and is logged.

usage: syslog_sink.py --cert C --key K --ca CA --out FILE --port-file F [--port P]
"""
import argparse
import json
import os
import socket
import ssl
import sys
import threading

MAX_LEN = 16 * 1024 * 1024


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(min(65536, n - len(buf)))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def serve(conn, peer, n, out, lock):
    frames = 0
    try:
        while True:
            digits = b""
            while True:
                c = conn.recv(1)
                if not c:
                    log(f"conn={n} peer={peer} closed frames={frames}")
                    return
                if c == b" ":
                    break
                if not c.isdigit() or len(digits) >= 9 or (not digits and c == b"0"):
                    log(f"conn={n} bad frame length byte {c!r}")
                    return
                digits += c
            length = int(digits)
            if length > MAX_LEN:
                log(f"conn={n} frame too long {length}")
                return
            msg = read_exact(conn, length)
            if msg is None:
                log(f"conn={n} torn frame")
                return
            frames += 1
            line = json.dumps({"conn": n, "msg": msg.decode("utf-8", "replace")}) + "\n"
            with lock:
                out.write(line)
                out.flush()
    except (OSError, ssl.SSLError) as e:
        log(f"conn={n} error {e}")
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(16)
    port = srv.getsockname()[1]
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, a.port_file)
    log(f"listening port={port}")

    out = open(a.out, "a", encoding="utf-8")
    lock = threading.Lock()
    n = 0
    while True:
        raw, addr = srv.accept()
        n += 1
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log(f"conn={n} handshake failed: {e}")
            raw.close()
            continue
        cn = dict(x[0] for x in conn.getpeercert()["subject"]).get("commonName")
        log(f"conn={n} peer={addr} client_cn={cn} tls={conn.version()}")
        threading.Thread(target=serve, args=(conn, addr, n, out, lock), daemon=True).start()


if __name__ == "__main__":
    main()
