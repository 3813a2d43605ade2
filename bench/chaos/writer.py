#!/usr/bin/env python3
"""writer.py – the chaos soak's log writer (bench/chaos/soak.sh).

Appends numbered syslog lines to K files at a steady rate each, one
write(2) per line on an O_APPEND descriptor, as a logging daemon does:

    Nov 29 20:31:01 chaoshost chaosw[7]: MSEQ <RUN>f<i> <n> t=<ns> pad…

(the marker rule tests/integration/rules-seq raises one alert per line;
seqcheck.py reads them back). Rotations are asked for by the soak through
files in CTL_DIR, done between two lines:

  rename-<i>-<ms>   logrotate's "create" with a postrotate reload: FILE
                    renamed to FILE.<k>, an empty FILE created, the writer
                    goes on writing to the renamed file for <ms> ms, then
                    reopens FILE. Done only once a line of the current
                    file has reached Redis (SEEN_DIR/<run> says the highest
                    number seen): a file the agent never opened, rotated
                    away twice while it is down, is lost by any follower.
  copytrunc-<i>     logrotate's copytruncate: writing to FILE pauses until
                    its last line has reached Redis (at most 10 s, else
                    the rotation is skipped), then FILE is copied to
                    FILE.<k> and truncated. What the agent has not read
                    when the file is truncated is lost by any follower, so
                    the soak only truncates a file it has read whole.

Every action done or skipped is one line on stdout. SIGTERM ends it after
the current line; the last numbers written go to DIR/written (one
"<run> <count>" a line), also rewritten every 100 ms while it runs.

usage: writer.py DIR K RATE RUN CTL_DIR SEEN_DIR
"""
import os
import signal
import sys
import time

PAD = "x" * 60
stop = False


def on_term(signum, frame):
    global stop
    stop = True


def seen(seen_dir, run):
    try:
        with open(os.path.join(seen_dir, run)) as f:
            return int(f.read().strip() or -1)
    except (OSError, ValueError):
        return -1


class File:
    def __init__(self, path, run):
        self.path = path
        self.run = run
        self.n = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.gen_start = 0      # first number written to the file under its name now
        self.k = 0              # rotations done
        self.old_until = None   # writing to the renamed file until then (monotonic)
        self.new_fd = None
        self.paused_until = None  # copytruncate: waiting for the last line to reach Redis
        self.next_t = time.monotonic()

    def line(self):
        t = time.time_ns()
        stamp = time.strftime("%b %e %H:%M:%S", time.localtime(t / 1e9))
        s = "%s chaoshost chaosw[%d]: MSEQ %s %d t=%d %s\n" % (
            stamp, os.getpid(), self.run, self.n, t, PAD)
        os.write(self.fd, s.encode())
        self.n += 1


def main():
    d, k, rate, run, ctl, seen_dir = sys.argv[1:7]
    k, rate = int(k), float(rate)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    files = [File(os.path.join(d, "app%d.log" % i), "%sf%d" % (run, i)) for i in range(k)]
    last_progress = 0.0

    def progress():
        tmp = os.path.join(d, "written.tmp")
        with open(tmp, "w") as f:
            for fl in files:
                f.write("%s %d\n" % (fl.run, fl.n))
        os.rename(tmp, os.path.join(d, "written"))

    while not stop:
        now = time.monotonic()
        for name in sorted(os.listdir(ctl)):
            parts = name.split("-")
            os.unlink(os.path.join(ctl, name))
            fl = files[int(parts[1]) % k]
            busy = fl.old_until is not None or fl.paused_until is not None
            if parts[0] == "rename":
                if busy or seen(seen_dir, fl.run) < fl.gen_start or fl.n == fl.gen_start:
                    print("skip rename %s (busy or not read yet)" % fl.run, flush=True)
                    continue
                fl.k += 1
                os.rename(fl.path, "%s.%d" % (fl.path, fl.k))
                fl.new_fd = os.open(fl.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
                fl.old_until = now + int(parts[2]) / 1000.0
                print("rename %s -> .%d at n=%d, old written for %s ms" % (fl.run, fl.k, fl.n, parts[2]),
                      flush=True)
            elif parts[0] == "copytrunc":
                if busy:
                    print("skip copytruncate %s (busy)" % fl.run, flush=True)
                    continue
                fl.paused_until = now + 10.0
        for fl in files:
            if fl.old_until is not None and now >= fl.old_until:
                os.close(fl.fd)
                fl.fd, fl.new_fd, fl.old_until = fl.new_fd, None, None
                fl.gen_start = fl.n
            if fl.paused_until is not None:
                if seen(seen_dir, fl.run) >= fl.n - 1:
                    fl.k += 1
                    with open(fl.path, "rb") as src, open("%s.%d" % (fl.path, fl.k), "wb") as dst:
                        dst.write(src.read())
                    os.ftruncate(fl.fd, 0)
                    fl.gen_start = fl.n
                    fl.paused_until = None
                    print("copytruncate %s -> .%d at n=%d" % (fl.run, fl.k, fl.n), flush=True)
                elif now >= fl.paused_until:
                    fl.paused_until = None
                    print("skip copytruncate %s (line %d not in Redis in 10 s)" % (fl.run, fl.n - 1),
                          flush=True)
                else:
                    continue
            # Paced per file; after a pause (a copytruncate waiting, a
            # stall) at most 100 ms of lines are caught up.
            if now - fl.next_t > 0.1:
                fl.next_t = now - 0.1
            while fl.next_t <= now and not stop:
                fl.line()
                fl.next_t += 1.0 / rate
        if now - last_progress >= 0.1:
            progress()
            last_progress = now
        time.sleep(0.01)
    progress()
    print("written: " + " ".join("%s=%d" % (fl.run, fl.n) for fl in files), flush=True)


if __name__ == "__main__":
    main()
