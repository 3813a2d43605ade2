#!/usr/bin/env python3
"""old_collector.py – stands in for a collector older than HEALTH frames.

Takes two agent connections (mutual TLS, like the collector). Each hello is
answered with ACK 0. On the first connection the first HEALTH frame gets
what an older collector answers to an unknown type – ERROR 3
"unknown_type" – and the connection is closed. On the second one it prints
"conn2 first=<type>" for the first frame after the ACK (an agent that
turned its reports off sends a heartbeat, type 4) and exits.

usage: old_collector.py PORT CA CERT KEY
"""
import socket
import ssl
import struct
import sys


def frame(ftype, payload):
    return b"MSOC" + bytes([1, ftype]) + struct.pack(">HI", 0, len(payload)) + payload


def read_frame(s, buf):
    while True:
        if len(buf) >= 12:
            length = struct.unpack(">I", buf[8:12])[0]
            if len(buf) >= 12 + length:
                return buf[5], buf[12 + length:]
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("agent closed")
        buf += chunk


def main():
    port, ca, cert, key = sys.argv[1:5]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(4)
    print("listening", flush=True)
    for conn in (1, 2):
        raw, _ = srv.accept()
        raw.settimeout(20)
        s = ctx.wrap_socket(raw, server_side=True)
        ftype, rest = read_frame(s, b"")
        assert ftype == 1, "expected a hello, got type %d" % ftype
        s.sendall(frame(3, struct.pack(">Q", 0)))
        ftype, rest = read_frame(s, rest)
        if conn == 1:
            while ftype != 6:
                ftype, rest = read_frame(s, rest)
            print("conn1 health", flush=True)
            s.sendall(frame(5, struct.pack(">H", 3) + b"unknown_type"))
            s.close()
        else:
            print("conn2 first=%d" % ftype, flush=True)
            s.close()


if __name__ == "__main__":
    main()
