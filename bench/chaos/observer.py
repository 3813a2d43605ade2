#!/usr/bin/env python3
"""observer.py – follows the alert stream for the chaos soak.

Reads minisoc:alerts from its first entry on (XREAD, reconnecting while
Redis is down or restarting) and keeps, for each run of the marker lines
(tests/integration/seqcheck.py's format), the highest number seen, in
SEEN_DIR/<run> (rewritten when it grows). The writer waits on these before
a rotation; the soak waits on them at the end. The final verdict is
seqcheck.py's, which reads the whole stream again.

usage: observer.py PORT SEEN_DIR
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration"))
import seqcheck  # noqa: E402


def main():
    port, seen_dir = int(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    high = {}
    last = "0-0"
    while True:
        try:
            r = seqcheck.Redis(port, timeout=5.0)
            while True:
                reply = r.call("XREAD", "COUNT", 5000, "BLOCK", 1000, "STREAMS",
                               "minisoc:alerts", last)
                if not reply:
                    continue
                grown = set()
                for _key, entries in reply:
                    for eid, fields in entries:
                        last = eid.decode()
                        line = seqcheck.entry_line(fields)
                        m = seqcheck.LINE_RE.search(line) if line else None
                        if not m:
                            continue
                        run, n = m.group(1), int(m.group(2))
                        if n > high.get(run, -1):
                            high[run] = n
                            grown.add(run)
                for run in grown:
                    tmp = os.path.join(seen_dir, "." + run)
                    with open(tmp, "w") as f:
                        f.write("%d\n" % high[run])
                    os.rename(tmp, os.path.join(seen_dir, run))
        except (OSError, ConnectionError, RuntimeError):
            time.sleep(0.2)


if __name__ == "__main__":
    main()
