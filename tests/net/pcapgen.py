#!/usr/bin/env python3
"""pcapgen - writes the test captures of the network tests (no binary
captures are checked in): real packet bytes, built field by field with
struct, in pcap or pcapng files.

usage: pcapgen.py SCENARIO OUT [--link ether|vlan2|sll|sll2|raw] [--pcapng]
                              [--count N]
       pcapgen.py --seeds DIR     (the seed corpus of tests/fuzz/fuzz_net.c)

Scenarios (addresses from the documentation ranges):
  portscan   203.0.113.50 SYN-scans ports 1..1000 of 198.51.100.10 in 1 s;
             22 and 80 answer SYN-ACK (the scanner resets), the rest RST.
  sshguess   11 short SSH connections 203.0.113.60 -> 198.51.100.10:22,
             banners both ways, 2 s apart.
  ssh_few    the same with 5 connections (below the rule).
  sweep      203.0.113.80 pings 20 hosts of 198.51.100.0/24 and SYNs 445
             on them, no answers.
  synflood   3000 SYNs 203.0.113.70 -> 198.51.100.10:80, random source
             ports, no answers.
  synflood_spoofed  5000 SYNs to 198.51.100.10:80 from random sources.
  probescan  203.0.113.51 scans ports 1..1000 of 198.51.100.10 in 1 s
             without SYN: FIN, NULL, XMAS and ACK probes in turn; closed
             ports answer RST (22 and 80 only the ACK probes).
  flood_flags  5000 packets to 198.51.100.10 in 1 s from random sources:
             FIN, SYN|FIN, ACK with an HTTP request, NULL, and DNS answers
             from port 53 nobody asked for, in turn.
  dns        UDP and TCP DNS: A (2 answers), AAAA, NXDOMAIN, TXT over TCP,
             a CNAME chain; each query answered.
  apps       an HTTP request, a TLS ClientHello with SNI, an SSH session,
             over IPv6 with hop-by-hop and destination-options headers too.
  malformed  truncated and corrupt packets (see the comments) between
             valid ones: one complete TCP connection at the end.
  web        browsing: one client, 30 servers on 443, all answered.
  mixed      portscan, sshguess, dns and web one after the other.
  bench      COUNT packets (default 1000000) of many short TCP connections
             and DNS lookups, for bench/pcap.
"""
import random
import struct
import sys

BASE_TS = 1764064800.0  # 2025-11-25 10:00:00 UTC


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


class Pkt:
    """One packet: L3 bytes, addresses, family."""

    def __init__(self, l3, v6=False):
        self.l3 = l3
        self.v6 = v6


def ipv4(src, dst, proto, payload, ident=1, frag=0, ttl=64, ihl=5, total=None,
         version=4):
    tot = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tot, ident, frag, ttl,
                      proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return Pkt(hdr + payload)


def ipv6(src, dst, nh, payload, ext=b""):
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(ext) + len(payload), nh, 64,
                      ip6(src), ip6(dst))
    return Pkt(hdr + ext + payload, v6=True)


def tcp(sp, dp, flags, seq=0, ack=0, data=b"", off=5):
    f = 0
    for c, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16), ("U", 32)):
        if c in flags:
            f |= bit
    return struct.pack("!HHIIBBHHH", sp, dp, seq, ack, off << 4, f, 65535, 0, 0) + data


def udp(sp, dp, data):
    return struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data


def icmp_echo(ident, seq, reply=False, v6=False):
    t = (129 if reply else 128) if v6 else (0 if reply else 8)
    return struct.pack("!BBHHH", t, 0, 0, ident, seq) + b"minisoc-ping...."


def tcp4(src, dst, sp, dp, flags, data=b"", seq=0, ack=0):
    return ipv4(src, dst, 6, tcp(sp, dp, flags, seq, ack, data))


def udp4(src, dst, sp, dp, data):
    return ipv4(src, dst, 17, udp(sp, dp, data))


# --- DNS -------------------------------------------------------------------

def dns_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}


def dns_msg(ident, name, qtype, response=False, rcode=0, answers=()):
    flags = 0x0100
    if response:
        flags |= 0x8080 | rcode
    msg = struct.pack("!HHHHHH", ident, flags, 1, len(answers) if response else 0, 0, 0)
    msg += dns_name(name) + struct.pack("!HH", QTYPES[qtype], 1)
    for atype, value in answers if response else ():
        if atype == "A":
            rdata = ip4(value)
        elif atype == "AAAA":
            rdata = ip6(value)
        elif atype == "CNAME":
            rdata = dns_name(value)
        else:
            rdata = bytes([len(value)]) + value.encode()
        # owner name as a pointer to the question (offset 12)
        msg += struct.pack("!HHHIH", 0xC00C, QTYPES[atype], 1, 300, len(rdata)) + rdata
    return msg


# --- TLS, SSH, HTTP ----------------------------------------------------------

def client_hello(sni):
    name = sni.encode()
    sni_ext = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    exts = struct.pack("!HH", 0, len(sni_ext)) + sni_ext
    exts += struct.pack("!HH", 43, 3) + b"\x02\x03\x04"  # supported_versions
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!H", 4) + b"\x13\x01\x13\x02"
    body += b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


# --- sessions ----------------------------------------------------------------

class Capture:
    def __init__(self):
        self.pkts = []  # (ts, Pkt or raw-l2 bytes, caplen-cut or None)

    def add(self, ts, pkt, cut=None):
        self.pkts.append((ts, pkt, cut))


def tcp_session(cap, t, c, s, cp, sp, c_data=(), s_data=(), v6=False, step=0.001,
                client_first=True):
    """A complete connection: handshake, data both ways, FINs, last ACK."""
    mk = (lambda a, b, p1, p2, fl, d=b"", seq=0, ack=0:
          ipv6(a, b, 6, tcp(p1, p2, fl, seq, ack, d))) if v6 else tcp4
    cseq, sseq = 1000, 5000
    cap.add(t, mk(c, s, cp, sp, "S", seq=cseq)); t += step
    cap.add(t, mk(s, c, sp, cp, "SA", seq=sseq, ack=cseq + 1)); t += step
    cap.add(t, mk(c, s, cp, sp, "A", seq=cseq + 1, ack=sseq + 1)); t += step
    cseq += 1
    sseq += 1
    for i in range(max(len(c_data), len(s_data))):
        for side in ((0, 1) if client_first else (1, 0)):
            if side == 1 and i < len(s_data):
                cap.add(t, mk(s, c, sp, cp, "PA", s_data[i], seq=sseq, ack=cseq)); t += step
                sseq += len(s_data[i])
            if side == 0 and i < len(c_data):
                cap.add(t, mk(c, s, cp, sp, "PA", c_data[i], seq=cseq, ack=sseq)); t += step
                cseq += len(c_data[i])
    cap.add(t, mk(c, s, cp, sp, "FA", seq=cseq, ack=sseq)); t += step
    cap.add(t, mk(s, c, sp, cp, "FA", seq=sseq, ack=cseq + 1)); t += step
    cap.add(t, mk(c, s, cp, sp, "A", seq=cseq + 1, ack=sseq + 1)); t += step
    return t


def sc_portscan(cap, args):
    t = BASE_TS
    a, b = "203.0.113.50", "198.51.100.10"
    for port in range(1, 1001):
        cap.add(t, tcp4(a, b, 40000, port, "S", seq=77)); t += 0.0005
        if port in (22, 80):
            cap.add(t, tcp4(b, a, port, 40000, "SA", seq=9, ack=78)); t += 0.0005
            cap.add(t, tcp4(a, b, 40000, port, "R", seq=78)); t += 0.0005
        else:
            cap.add(t, tcp4(b, a, port, 40000, "RA", ack=78)); t += 0.0005


def sc_sshguess(cap, args, n=11):
    t = BASE_TS
    for i in range(n):
        tcp_session(cap, t, "203.0.113.60", "198.51.100.10", 50000 + i, 22,
                    c_data=[b"SSH-2.0-libssh_0.9.6\r\n", b"\x00" * 48],
                    s_data=[b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", b"\x00" * 64],
                    client_first=False)
        t += 2.0


def sc_ssh_few(cap, args):
    sc_sshguess(cap, args, 5)


def sc_sweep(cap, args):
    t = BASE_TS
    for h in range(1, 21):
        cap.add(t, ipv4("203.0.113.80", "198.51.100.%d" % h, 1, icmp_echo(77, h))); t += 0.01
        cap.add(t, tcp4("203.0.113.80", "198.51.100.%d" % h, 41000, 445, "S")); t += 0.01


def sc_synflood(cap, args):
    rnd = random.Random(5)
    t = BASE_TS
    for i in range(3000):
        cap.add(t, tcp4("203.0.113.70", "198.51.100.10", rnd.randrange(1024, 65535), 80, "S",
                        seq=rnd.randrange(1 << 32)))
        t += 0.0002


def sc_synflood_spoofed(cap, args):
    rnd = random.Random(6)
    t = BASE_TS
    for i in range(5000):
        src = "10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
        cap.add(t, tcp4(src, "198.51.100.10", rnd.randrange(1024, 65535), 80, "S",
                        seq=rnd.randrange(1 << 32)))
        t += 0.0002


def sc_probescan(cap, args):
    t = BASE_TS
    a, b = "203.0.113.51", "198.51.100.10"
    for port in range(1, 1001):
        flags = ("F", "", "FPU", "A")[port % 4]
        cap.add(t, tcp4(a, b, 40000, port, flags, seq=77, ack=5 if flags == "A" else 0))
        t += 0.0005
        if flags == "A":
            cap.add(t, tcp4(b, a, port, 40000, "R", seq=5)); t += 0.0005
        elif port not in (22, 80):
            cap.add(t, tcp4(b, a, port, 40000, "RA", ack=78)); t += 0.0005


def sc_flood_flags(cap, args):
    rnd = random.Random(7)
    t = BASE_TS
    answer = dns_msg(0x4242, "www.example.com", "A", response=True,
                     answers=[("A", "192.0.2.1")])
    for i in range(5000):
        src = "10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
        sp = rnd.randrange(1024, 65535)
        kind = i % 5
        if kind == 4:
            cap.add(t, udp4(src, "198.51.100.10", 53, sp, answer))
        else:
            flags, data = (("F", b""), ("SF", b""), ("PA", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                           ("", b""))[kind]
            cap.add(t, tcp4(src, "198.51.100.10", sp, 80, flags, data=data,
                            seq=rnd.randrange(1 << 32)))
        t += 0.0002


def sc_dns(cap, args):
    t = BASE_TS
    c, s = "192.0.2.10", "192.0.2.53"
    q = [
        (0x1111, "example.com", "A", 0, [("A", "93.184.216.34"), ("A", "93.184.216.35")]),
        (0x2222, "example.com", "AAAA", 0, [("AAAA", "2001:db8::34")]),
        (0x3333, "nonexistent.example", "A", 3, []),
        (0x4444, "www.example.org", "A", 0, [("CNAME", "web.example.org"), ("A", "192.0.2.80")]),
        (0x4545, "pool.supportxmr.com", "A", 0, [("A", "192.0.2.99")]),
    ]
    for i, (ident, name, qt, rc, ans) in enumerate(q):
        cap.add(t, udp4(c, s, 33000 + i, 53, dns_msg(ident, name, qt))); t += 0.01
        cap.add(t, udp4(s, c, 53, 33000 + i, dns_msg(ident, name, qt, True, rc, ans))); t += 0.01
    # a query nobody answers
    cap.add(t, udp4(c, s, 33100, 53, dns_msg(0x4646, "lost.example", "MX"))); t += 0.01
    qm = dns_msg(0x5555, "example.net", "TXT")
    rm = dns_msg(0x5555, "example.net", "TXT", True, 0, [("TXT", "v=spf1 -all")])
    tcp_session(cap, t, c, s, 34000, 53, c_data=[struct.pack("!H", len(qm)) + qm],
                s_data=[struct.pack("!H", len(rm)) + rm], step=0.01)


def sc_apps(cap, args):
    t = BASE_TS
    t = tcp_session(cap, t, "192.0.2.20", "198.51.100.80", 45000, 80,
                    c_data=[b"GET /admin/login.php?x=1 HTTP/1.1\r\nHost: intranet.example\r\n"
                            b"User-Agent: sqlmap/1.7\r\nAccept: */*\r\n\r\n"],
                    s_data=[b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"][:0])
    t = tcp_session(cap, t + 1, "192.0.2.20", "198.51.100.81", 45001, 443,
                    c_data=[client_hello("secure.example.com")], s_data=[b"\x16\x03\x03\x00\x01\x02"])
    # IPv6: hop-by-hop (8 bytes) then destination options (8 bytes) before TCP
    ext = bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([6, 0, 1, 4, 0, 0, 0, 0])
    a, b = "2001:db8::20", "2001:db8::22"
    cap.add(t + 2, ipv6(a, b, 0, tcp(46000, 22, "S", 1), ext))
    cap.add(t + 2.001, ipv6(b, a, 6, tcp(22, 46000, "SA", 9, 2)))
    cap.add(t + 2.002, ipv6(a, b, 6, tcp(46000, 22, "A", 2, 10)))
    cap.add(t + 2.003, ipv6(b, a, 6, tcp(22, 46000, "PA", 10, 2, b"SSH-2.0-OpenSSH_9.2\r\n")))
    cap.add(t + 2.004, ipv6(a, b, 6, tcp(46000, 22, "PA", 2, 31, b"SSH-2.0-PuTTY_0.78\r\n")))
    cap.add(t + 2.005, ipv6(a, b, 6, tcp(46000, 22, "RA", 22, 31)))


def sc_malformed(cap, args):
    t = BASE_TS
    a, b = "192.0.2.30", "192.0.2.31"
    good = tcp4(a, b, 1234, 80, "S")
    cap.add(t, good, cut=10); t += 0.001                   # cut inside the IP header
    cap.add(t, good, cut=30); t += 0.001                   # cut inside the TCP header
    cap.add(t, ipv4(a, b, 6, tcp(1, 2, "S"), version=5)); t += 0.001   # IP version 5
    cap.add(t, ipv4(a, b, 6, tcp(1, 2, "S"), ihl=3)); t += 0.001       # header shorter than 20
    cap.add(t, ipv4(a, b, 6, tcp(1, 2, "S"), total=12)); t += 0.001    # total < header
    cap.add(t, ipv4(a, b, 6, tcp(1, 2, "S", off=2))); t += 0.001       # TCP offset < 5
    cap.add(t, ipv4(a, b, 6, tcp(1, 2, "S", off=15))); t += 0.001      # TCP offset past the end
    cap.add(t, ipv4(a, b, 17, struct.pack("!HHHH", 1, 53, 4, 0))); t += 0.001  # UDP length < 8
    # IPv6 hop-by-hop header claiming 256 bytes
    cap.add(t, ipv6("2001:db8::1", "2001:db8::2", 0, b"", bytes([6, 31, 0, 0, 0, 0, 0, 0]))); t += 0.001
    # fragments: first (MF) and a later one
    cap.add(t, ipv4(a, b, 17, udp(5000, 9999, b"x" * 32), frag=0x2000)); t += 0.001
    cap.add(t, ipv4(a, b, 17, b"y" * 32, frag=4)); t += 0.001
    # DNS answer with a compression loop and a label past the end
    bad = bytearray(dns_msg(0x6666, "loop.example", "A", True, 0, [("A", "1.2.3.4")]))
    bad[-16:-14] = b"\xC0\x30"
    cap.add(t, udp4("192.0.2.53", a, 53, 33333, bytes(bad))); t += 0.001
    cap.add(t, udp4("192.0.2.53", a, 53, 33334, b"\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x3fabc")); t += 0.001
    # a TLS record announcing more than the packet holds
    cap.add(t, tcp4(a, b, 1300, 443, "PA", b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03")); t += 0.001
    cap.add(t, Pkt(b""), cut=0); t += 0.001                # empty
    tcp_session(cap, t, a, b, 1400, 8080, c_data=[b"hello"], s_data=[b"world"])


def sc_web(cap, args):
    t = BASE_TS
    for i in range(30):
        t = tcp_session(cap, t, "192.0.2.40", "198.51.100.%d" % (100 + i), 47000 + i, 443,
                        c_data=[client_hello("site%d.example" % i)], s_data=[b"\x16\x03\x03\x00\x00"])


def sc_mixed(cap, args):
    """portscan, then sshguess, dns and web, 100 s apart (for the agent test)."""
    for i, sc in enumerate((sc_portscan, sc_sshguess, sc_dns, sc_web)):
        sub = Capture()
        sc(sub, args)
        cap.pkts += [(ts + 100 * i, p, cut) for ts, p, cut in sub.pkts]


def bench_unit():
    """Many short connections and DNS lookups: 4096+ packets, replicated by write_bench."""
    unit = Capture()
    t = BASE_TS
    rnd = random.Random(7)
    while len(unit.pkts) < 4096:
        c = "10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
        s = "172.16.%d.%d" % (rnd.randrange(256), rnd.randrange(1, 255))
        if rnd.random() < 0.2:
            ident = rnd.randrange(65536)
            q = dns_msg(ident, "host%d.example" % ident, "A")
            r = dns_msg(ident, "host%d.example" % ident, "A", True, 0, [("A", s)])
            unit.add(t, udp4(c, "172.16.0.53", 30000 + ident % 30000, 53, q))
            unit.add(t + 0.00002, udp4("172.16.0.53", c, 53, 30000 + ident % 30000, r))
        else:
            tcp_session(unit, t, c, s, rnd.randrange(1024, 65535), rnd.choice((80, 443, 8080)),
                        c_data=[bytes(200)], s_data=[bytes(1200), bytes(1200)], step=0.00001)
        t += 0.0001
    return unit


def write_bench(path, count, link):
    """COUNT packets: the unit again and again, each copy 0.5 s later with
    other client ports (so every copy makes new connections) from the same
    few hundred hosts, as on a busy server."""
    unit = bench_unit()
    frames = []
    for ts, p, cut in unit.pkts:
        frames.append((ts, bytearray(frame(p, link))))
    l3 = len(frame(Pkt(b""), link))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPES[link]))
        n = rep = 0
        while n < count:
            buf = []
            for ts, fr in frames:
                d = bytearray(fr)
                # the 10.x client is the source or the destination: move its port
                # (kept above 1023, checksums are not checked by anyone here)
                off = l3 + 20 if d[l3 + 12] == 10 else l3 + 22
                port = (d[off] << 8) | d[off + 1]
                port = 1024 + (port - 1024 + rep * 61) % 64512
                d[off] = port >> 8
                d[off + 1] = port & 0xFF
                t = ts + rep * 0.5
                sec = int(t)
                buf.append(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(d), len(d)) + bytes(d))
                n += 1
                if n >= count:
                    break
            f.write(b"".join(buf))
            rep += 1


SCENARIOS = {k[3:]: v for k, v in globals().items() if k.startswith("sc_")}

# --- link layers and files ---------------------------------------------------

LINKTYPES = {"ether": 1, "vlan2": 1, "sll": 113, "sll2": 276, "raw": 101}
MAC_A = bytes.fromhex("525400123456")
MAC_B = bytes.fromhex("5254000abcde")


def frame(p, link):
    et = 0x86DD if p.v6 else 0x0800
    if link == "ether":
        return MAC_A + MAC_B + struct.pack("!H", et) + p.l3
    if link == "vlan2":  # 802.1ad outer, 802.1Q inner
        return (MAC_A + MAC_B + struct.pack("!HHHH", 0x88A8, 100, 0x8100, 200) +
                struct.pack("!H", et) + p.l3)
    if link == "sll":
        return struct.pack("!HHH", 0, 1, 6) + MAC_A + b"\0\0" + struct.pack("!H", et) + p.l3
    if link == "sll2":
        return struct.pack("!HHIHBB", et, 0, 2, 1, 0, 6) + MAC_A + b"\0\0" + p.l3
    return p.l3


def write_pcap(path, cap, link):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPES[link])]
    for ts, p, cut in cap.pkts:
        data = frame(p, link)
        wire = len(data)
        if cut is not None:
            data = data[:cut + len(frame(Pkt(b"", p.v6), link))]
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        out.append(struct.pack("<IIII", sec, usec, len(data), wire) + data)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def write_pcapng(path, cap, link):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack("<HHI", LINKTYPES[link], 0, 65535))]
    for ts, p, cut in cap.pkts:
        data = frame(p, link)
        wire = len(data)
        if cut is not None:
            data = data[:cut + len(frame(Pkt(b"", p.v6), link))]
        us = int(round(ts * 1e6))
        out.append(block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(data), wire) + data))
    with open(path, "wb") as f:
        f.write(b"".join(out))


def write_seeds(outdir):
    """Fuzz seeds for tests/fuzz/fuzz_net.c: each scenario's packets as
    [link index][length][frame] records, a few hundred bytes per seed."""
    import os
    os.makedirs(outdir, exist_ok=True)
    link_index = {"ether": 0, "vlan2": 0, "sll": 1, "sll2": 2, "raw": 3}
    for name in ("dns", "apps", "malformed", "sshguess", "sweep"):
        cap = Capture()
        SCENARIOS[name](cap, {})
        for link in ("ether", "vlan2", "sll", "sll2", "raw"):
            recs = b""
            for ts, p, cut in cap.pkts[:24]:
                data = frame(p, link)
                if cut is not None:
                    data = data[:cut + len(frame(Pkt(b"", p.v6), link))]
                recs += struct.pack("!BH", link_index[link], len(data)) + data
            with open(os.path.join(outdir, "%s_%s" % (name, link)), "wb") as f:
                f.write(recs)


def main(argv):
    if len(argv) == 3 and argv[1] == "--seeds":
        write_seeds(argv[2])
        return 0
    if len(argv) < 3 or (argv[1] not in SCENARIOS and argv[1] != "bench"):
        sys.stderr.write(__doc__)
        return 1
    args = {"link": "ether", "pcapng": False}
    i = 3
    while i < len(argv):
        if argv[i] == "--link":
            args["link"] = argv[i + 1]
            i += 2
        elif argv[i] == "--pcapng":
            args["pcapng"] = True
            i += 1
        elif argv[i] == "--count":
            args["count"] = int(argv[i + 1])
            i += 2
        else:
            sys.stderr.write(__doc__)
            return 1
    if argv[1] == "bench":
        write_bench(argv[2], args.get("count", 1000000), args["link"])
        return 0
    cap = Capture()
    SCENARIOS[argv[1]](cap, args)
    (write_pcapng if args["pcapng"] else write_pcap)(argv[2], cap, args["link"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
