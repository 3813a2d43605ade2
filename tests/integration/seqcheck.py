#!/usr/bin/env python3
"""seqcheck.py – did every numbered line arrive exactly once?

Reads the alert stream (minisoc:alerts) from Redis and takes, from each
alert of the rule seq_every_line (tests/integration/rules-seq), the line in
its samples: "... MSEQ <run> <n> ..." (written by bench/seqwriter). For one
run it checks the exact set 0..N-1: nothing missing, nothing twice.

usage:
  seqcheck.py PORT RUN N [--wait S] [--allow-dups] [--stream KEY]
      Exit 0 when every number arrived and none twice (with --allow-dups:
      when every number arrived). --wait: poll (reading only new entries)
      until every number is there or S seconds passed, then judge. Prints
      one summary line, then the missing and doubled numbers as ranges.
  seqcheck.py PORT RUN --seen M [--wait S] [--all]
      Exit 0 once a number >= M of RUN has arrived. Looks at the newest 500
      entries and what comes after them (the copytruncate hook of
      e2e_rotation_rate.sh waits on it); --all reads the whole stream.

--missing-out FILE writes the missing numbers there, one per line.

Speaks RESP itself (no redis module needed). Missing numbers are printed as
"missing=K" and ranges; doubled ones as "dups=D" (extra copies) and ranges
with their counts.
"""
import argparse
import json
import re
import socket
import sys
import time

LINE_RE = re.compile(r"MSEQ (\S+) (\d+) ")
RULE = "seq_every_line"


class Redis:
    """A minimal RESP2 client: enough for XRANGE / XREVRANGE / XREAD."""

    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.rf = self.sock.makefile("rb", buffering=1 << 20)
        self.nread = 0      # bytes of replies parsed (call_timed)

    def _read(self):
        line = self.rf.readline()
        self.nread += len(line)
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode(errors="replace"))
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            self.nread += len(data)
            if len(data) != n + 2:
                raise ConnectionError("redis closed the connection")
            return data[:n]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("redis: unexpected reply %r" % line[:40])

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def call(self, *args):
        self.send(*args)
        return self._read()

    def call_timed(self, *args):
        """call(), also returning when (CLOCK_REALTIME ns) the reply was
        there to read: (ns, reply, whole). whole: the whole reply came in
        the first receive, and ns is the time it could be read, before this
        client parsed it; a longer reply (Redis sends one in parts, other
        clients served in between) is timed once it is all read and parsed,
        which counts this client's parse in, as call() does."""
        self.send(*args)
        first = len(self.rf.peek(1))    # waits for the reply's first receive
        t = time.time_ns()
        self.nread = 0
        reply = self._read()
        if self.nread > first:
            return time.time_ns(), reply, False
        return t, reply, True


def entry_line(fields):
    """The sample line of a seq_every_line alert entry, or None."""
    kv = dict(zip(fields[0::2], fields[1::2]))
    raw = kv.get(b"alert")
    if raw is None:
        return None
    try:
        a = json.loads(raw)
    except ValueError:
        return None
    if a.get("rule", {}).get("name") != RULE or not a.get("samples"):
        return None
    return a["samples"][0]


def numbers(entries, run):
    """Yields n for every entry of run."""
    for _id, fields in entries:
        line = entry_line(fields)
        if line is None:
            continue
        m = LINE_RE.search(line)
        if m and m.group(1) == run:
            yield int(m.group(2))


def ranges(nums, limit=40):
    """'3-7, 9, 12-20' for a sorted list (the first limit ranges)."""
    out, i = [], 0
    while i < len(nums) and len(out) < limit:
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else "%d-%d" % (nums[i], nums[j]))
        i = j + 1
    if i < len(nums):
        out.append("...")
    return ", ".join(out)


def check(args):
    r = Redis(args.port)
    counts = {}
    start = "-"
    deadline = time.monotonic() + (args.wait or 0)
    while True:
        while True:
            page = r.call("XRANGE", args.stream, start, "+", "COUNT", 5000)
            if not page:
                break
            for n in numbers(page, args.run):
                counts[n] = counts.get(n, 0) + 1
            start = "(" + page[-1][0].decode()
        have = sum(1 for n in range(args.n) if n in counts)
        if have == args.n or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    missing = [n for n in range(args.n) if n not in counts]
    doubled = sorted(n for n, c in counts.items() if c > 1)
    extra = sum(counts[n] - 1 for n in doubled)
    outside = sorted(n for n in counts if n >= args.n)
    print("seqcheck: run=%s expected=%d received=%d distinct=%d missing=%d dups=%d"
          % (args.run, args.n, sum(counts.values()), len(counts), len(missing), extra))
    if args.missing_out:
        with open(args.missing_out, "w") as f:
            f.write("".join("%d\n" % n for n in missing))
    if missing:
        print("seqcheck: missing: " + ranges(missing))
    if doubled:
        print("seqcheck: doubled: " + ranges(doubled)
              + " (copies: " + ", ".join("%d:%d" % (n, counts[n]) for n in doubled[:20])
              + (" ..." if len(doubled) > 20 else "") + ")")
    if outside:
        print("seqcheck: numbers >= %d: %s" % (args.n, ranges(outside)))
    ok = not missing and not outside and (args.allow_dups or not doubled)
    return 0 if ok else 1


def seen(args):
    r = Redis(args.port)
    deadline = time.monotonic() + (args.wait or 0)
    start = "-"
    if not args.all:
        back = r.call("XREVRANGE", args.stream, "+", "-", "COUNT", 500) or []
        if back:
            start = back[-1][0].decode()
    while True:
        while True:
            page = r.call("XRANGE", args.stream, start, "+", "COUNT", 5000)
            if not page:
                break
            if any(n >= args.seen for n in numbers(page, args.run)):
                return 0
            start = "(" + page[-1][0].decode()
        if time.monotonic() >= deadline:
            print("seqcheck: run=%s number %d not seen" % (args.run, args.seen))
            return 1
        time.sleep(0.01)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("port", type=int)
    p.add_argument("run")
    p.add_argument("n", type=int, nargs="?")
    p.add_argument("--seen", type=int)
    p.add_argument("--wait", type=float, default=0)
    p.add_argument("--allow-dups", action="store_true")
    p.add_argument("--all", action="store_true")
    p.add_argument("--missing-out")
    p.add_argument("--stream", default="minisoc:alerts")
    args = p.parse_args()
    if args.seen is not None:
        return seen(args)
    if args.n is None:
        p.error("N is required")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
