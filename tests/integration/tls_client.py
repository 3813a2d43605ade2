#!/usr/bin/env python3
"""tls_client.py – one TLS client of the collector's agent port, for tests
that present certificates the collector must judge.

Connects (client certificate optional), sends a hello and prints what the
collector made of it: "accepted" (it acknowledged the hello), "refused"
(the handshake failed, or the collector closed or sent an ERROR frame) or
"timeout". With --resume-after S it then waits S seconds and connects again
offering the first connection's TLS session (resumption), and prints that
second verdict plus "reused" or "full" (whether TLS resumed). It is test
input, not a second agent.

usage: tls_client.py PORT CA [--cert CRT --key KEY] [--hello-host NAME]
                     [--resume-after S]
"""
import argparse
import socket
import ssl
import struct
import time


def frame(ftype, payload):
    return b"MSOC" + bytes([1, ftype]) + struct.pack(">HI", 0, len(payload)) + payload


def tlv(tag, value):
    return bytes([tag]) + struct.pack(">H", len(value)) + value


def attempt(ctx, port, host, session=None):
    """One connection: (verdict, reused, session)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s = ctx.wrap_socket(raw, server_hostname="collector.minisoc.local", session=session)
    except (ssl.SSLError, OSError):
        raw.close()
        return "refused", False, None
    try:
        s.sendall(frame(1, tlv(1, b"tls_client") + tlv(2, host) + tlv(4, struct.pack(">i", 0))))
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return "refused", s.session_reused, None
            got += chunk
            while len(got) >= 12:
                length = struct.unpack(">I", got[8:12])[0]
                if len(got) < 12 + length:
                    break
                ftype = got[5]
                got = got[12 + length:]
                if ftype == 5:
                    return "refused", s.session_reused, None
                if ftype == 3:
                    sess = s.session
                    # An unknown frame: the collector ends the session itself
                    # (ERROR, close_notify), which leaves its TLS session
                    # resumable, as any session it closes (idle, replaced).
                    s.sendall(frame(9, b""))
                    while s.recv(65536):
                        pass
                    return "accepted", s.session_reused, sess
    except socket.timeout:
        return "timeout", s.session_reused, None
    except (ssl.SSLError, OSError):
        return "refused", s.session_reused, None
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--hello-host", default="tls-client")
    ap.add_argument("--resume-after", type=float)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(a.ca)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    host = a.hello_host.encode()
    verdict, _, sess = attempt(ctx, a.port, host)
    print(verdict, flush=True)
    if a.resume_after is None:
        return
    time.sleep(a.resume_after)
    verdict, reused, _ = attempt(ctx, a.port, host, sess)
    print(verdict, "reused" if reused else "full", flush=True)


if __name__ == "__main__":
    main()
