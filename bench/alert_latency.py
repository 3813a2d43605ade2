#!/usr/bin/env python3
"""alert_latency.py – time from a line written to its alert in Redis.

An XREAD BLOCK client of the alert stream (what a dashboard does). Lines
written by bench/seqwriter carry "MSEQ <run> <n> t=<ns>", t being the
writer's CLOCK_REALTIME just before write(2); the rule of
tests/integration/rules-seq puts the line in the alert's samples. For each
alert of RUN the latency is the reader's CLOCK_REALTIME when the XREAD reply
arrived minus t (same host, same clock). "Arrived" is when the reply could
be read, before this client parses it: the alert is visible to the client
then, and parsing the reply in Python (tens of microseconds a reply) is this
reader's own work, reported apart as parse_us_p50. A reply that did not come
in one receive (a long one, which Redis sends in parts) is timed after its
last part was read and parsed, as before. An alert stored while the reader
is busy with the previous reply waits for the next XREAD: timed late.

usage: alert_latency.py PORT RUN EXPECTED OUTFILE [--timeout S] [--list KEY]
                        [--expected-file F] [--detail F]

Prints "ready" (stdout, flushed) once it waits behind the stream's last
entry, so the writer can start. Ends when EXPECTED alerts of RUN arrived
(--expected-file F: or, once F exists, the number written in it: for a
writer that says how many it marked only at its end), or S seconds (default 120) after the start, or on SIGTERM (within half a
second); writes one latency in nanoseconds per line to OUTFILE and prints
"received=N last_ns=T cpu_s=C parse_us_p50=P", T being the arrival time
(CLOCK_REALTIME ns) of the last marked line of RUN (0 when none arrived), C
the reader's own CPU time (it shares the machine with what it measures), P
the median time it took to parse a reply with a marked line after its
arrival, over the replies that came in one receive (microseconds; not part
of their latencies).

--detail F also writes, per marked alert, "T X A": T the line's write time
(CLOCK_REALTIME ns), X the stream entry's id time (Redis's clock at XADD,
in whole ms) minus T, and A the arrival minus T, all in ns: where a stall
was (before Redis stored the alert, or between Redis and this reader), and
when (T, to line up with a trace of the collector).

--list KEY reads a Redis list of raw lines instead (what rsyslog's
omhiredis pushes in its "queue" mode; it has no stream mode): the blocking
read is BLMPOP, which takes the lines off the list, and the reply's arrival
is timed the same way. The list should be empty at the start; "popped=N"
adds how many lines of any run were taken.
"""
import argparse
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from seqcheck import Redis, entry_line  # noqa: E402

STAMP_RE = re.compile(r"MSEQ (\S+) (\d+) t=(\d+) ")
stopping = False


def stop_cb(signum, frame):
    global stopping
    stopping = True


def want(a):
    """The number of marked lines to wait for (EXPECTED, or the file's once it exists)."""
    if a.expected_file and os.path.exists(a.expected_file):
        try:
            with open(a.expected_file) as f:
                a.expected = int(f.read().strip())
            a.expected_file = None
        except ValueError:
            pass    # being written: read it again on the next round
    return a.expected


def write_out(a, lat, last, parse):
    with open(a.outfile, "w") as f:
        f.write("".join("%d\n" % x for x in lat))
    parse.sort()
    return "received=%d last_ns=%d cpu_s=%.2f parse_us_p50=%.1f" % (
        len(lat), last, time.process_time(), parse[len(parse) // 2] / 1e3 if parse else 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("run")
    p.add_argument("expected", type=int)
    p.add_argument("outfile")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--stream", default="minisoc:alerts")
    p.add_argument("--list", metavar="KEY")
    p.add_argument("--expected-file", metavar="F")
    p.add_argument("--detail", metavar="F")
    a = p.parse_args()

    signal.signal(signal.SIGTERM, stop_cb)
    r = Redis(a.port, timeout=a.timeout + 10)
    if a.list:
        return read_list(r, a)
    last = r.call("XREVRANGE", a.stream, "+", "-", "COUNT", 1)
    last_id = last[0][0] if last else b"0-0"
    print("ready", flush=True)
    lat = []
    detail = []
    parse = []
    seen = set()
    last = 0
    deadline = time.monotonic() + a.timeout
    while len(seen) < want(a) and time.monotonic() < deadline and not stopping:
        now, reply, whole = r.call_timed("XREAD", "COUNT", 1000, "BLOCK", 500, "STREAMS",
                                         a.stream, last_id)
        parsed = time.time_ns()
        if not reply:
            continue
        n0 = len(lat)
        for eid, fields in reply[0][1]:
            last_id = eid
            # Other rules' alerts can outnumber the marked ones: no JSON for them.
            if not any(b"MSEQ" in v for v in fields[1::2]):
                continue
            line = entry_line(fields)
            m = STAMP_RE.search(line or "")
            if m is None or m.group(1) != a.run or m.group(2) in seen:
                continue
            seen.add(m.group(2))
            t = int(m.group(3))
            lat.append(now - t)
            if a.detail:
                detail.append("%d %d %d\n" % (t, int(eid.split(b"-")[0]) * 1000000 - t, now - t))
            last = now
        if len(lat) > n0 and whole:
            parse.append(parsed - now)
    if a.detail:
        with open(a.detail, "w") as f:
            f.write("".join(detail))
    print(write_out(a, lat, last, parse), flush=True)
    return 0


def read_list(r, a):
    """The --list mode: BLMPOP (Redis 7) of up to 1000 lines at a time."""
    print("ready", flush=True)
    lat = []
    parse = []
    seen = set()
    popped = 0
    last = 0
    deadline = time.monotonic() + a.timeout
    while len(seen) < want(a) and time.monotonic() < deadline and not stopping:
        now, reply, whole = r.call_timed("BLMPOP", "0.5", 1, a.list, "LEFT", "COUNT", 1000)
        parsed = time.time_ns()
        if not reply:
            continue
        n0 = len(lat)
        for line in reply[1]:
            popped += 1
            m = STAMP_RE.search(line.decode(errors="replace"))
            if m is None or m.group(1) != a.run or m.group(2) in seen:
                continue
            seen.add(m.group(2))
            lat.append(now - int(m.group(3)))
            last = now
        if len(lat) > n0 and whole:
            parse.append(parsed - now)
    print(write_out(a, lat, last, parse) + " popped=%d" % popped, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
