#!/usr/bin/env python3
"""alert_latency.py – time from a line written to its alert in Redis.

An XREAD BLOCK client of the alert stream (what a dashboard does). Lines
written by bench/seqwriter carry "MSEQ <run> <n> t=<ns>", t being the
writer's CLOCK_REALTIME just before write(2); the rule of
tests/integration/rules-seq puts the line in the alert's samples. For each
alert of RUN the latency is the reader's CLOCK_REALTIME when the XREAD reply
arrived minus t (same host, same clock).

usage: alert_latency.py PORT RUN EXPECTED OUTFILE [--timeout S]

Prints "ready" (stdout, flushed) once it waits behind the stream's last
entry, so the writer can start. Ends when EXPECTED alerts of RUN arrived,
or S seconds (default 120) after the start; writes one latency in
nanoseconds per line to OUTFILE and prints "received=N".
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from seqcheck import Redis, entry_line  # noqa: E402

STAMP_RE = re.compile(r"MSEQ (\S+) (\d+) t=(\d+) ")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("run")
    p.add_argument("expected", type=int)
    p.add_argument("outfile")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--stream", default="minisoc:alerts")
    a = p.parse_args()

    r = Redis(a.port, timeout=a.timeout + 10)
    last = r.call("XREVRANGE", a.stream, "+", "-", "COUNT", 1)
    last_id = last[0][0] if last else b"0-0"
    print("ready", flush=True)
    lat = []
    seen = set()
    deadline = time.monotonic() + a.timeout
    while len(seen) < a.expected and time.monotonic() < deadline:
        reply = r.call("XREAD", "COUNT", 1000, "BLOCK", 500, "STREAMS", a.stream, last_id)
        now = time.time_ns()
        if not reply:
            continue
        for eid, fields in reply[0][1]:
            last_id = eid
            line = entry_line(fields)
            m = STAMP_RE.search(line or "")
            if m is None or m.group(1) != a.run or m.group(2) in seen:
                continue
            seen.add(m.group(2))
            lat.append(now - int(m.group(3)))
    with open(a.outfile, "w") as f:
        f.write("".join("%d\n" % x for x in lat))
    print("received=%d" % len(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
