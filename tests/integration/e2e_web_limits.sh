#!/usr/bin/env bash
# minisoc-web under a connection flood (review): started with 256 open
# files, 300 connections from one address that send a request's start and
# then a byte every second. Beyond web.max_connections_per_ip they are
# closed right after accept, logged at most once a second; a request with
# the token from another address is answered at once; the tricklers are
# cut at web.request_timeout though they keep sending; accept() never
# spins. Before, the 300 took every descriptor, accept() failed with EMFILE
# in a busy loop (a log line each time) and the token request timed out.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_web_limits.sh BUILD_DIR}"
IT_WEB=$IT_BUILD/collector/web/minisoc-web
[[ -x $IT_WEB ]] || it_fail "minisoc-web not built"

it_start_redis
it_web_conf "request_timeout: 6"
# The open-file limit of the daemon alone, set before it starts.
it_start web bash -c 'ulimit -n 256 && exec "$0" "$@"' "$IT_WEB" -c "$IT_WORK/web.yml"
it_wait_for 10 "web listening" it_log_has web "event=listening"
it_wait_for 10 "web on Redis" it_log_has web "event=redis_connected role=live"

# 300 tricklers from 127.0.0.2; writes how many were open and when all
# were closed by the daemon.
python3 - "$WPORT" "$IT_WORK/loris" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
socks = []
for i in range(300):
    try:
        s = socket.socket()
        s.settimeout(0.5)
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nX-a: ")
        s.setblocking(False)
        socks.append(s)
    except OSError:
        pass
open(out + ".open", "w").write(f"{len(socks)}\n")
t0 = time.monotonic()
while socks and time.monotonic() - t0 < 60:
    time.sleep(1)
    alive = []
    for s in socks:
        try:
            if s.recv(64) == b"":
                continue
        except BlockingIOError:
            pass
        except OSError:
            continue
        try:
            s.sendall(b"a")
            alive.append(s)
        except OSError:
            pass
    socks = alive
open(out + ".done", "w").write(f"{len(socks)} open after {time.monotonic() - t0:.0f}s\n")
time.sleep(60)
PY
LORIS=$!
IT_PIDS+=("$LORIS")
it_wait_for 30 "the tricklers connected" test -s "$IT_WORK/loris.open"
it_log "tricklers connected: $(cat "$IT_WORK/loris.open")"

# The token request, from 127.0.0.1, within 5 s.
python3 - "$WPORT" "$TOKEN" <<'PY' || it_fail "the token request was not answered while flooded"
import sys, time, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/alerts",
                             headers={"Authorization": "Bearer " + sys.argv[2]})
t0 = time.monotonic()
print(urllib.request.urlopen(req, timeout=5).status, f"{time.monotonic() - t0:.2f}s")
PY
it_wait_for 5 "refusals logged" it_log_has web "event=connection_refused peer=127.0.0.2 reason=max_connections_per_ip"

# The tricklers are cut at request_timeout (6 s) though each sends a byte
# a second: all closed within 6 s and a sweep, not restarted by each byte.
it_wait_for 20 "the tricklers cut" test -s "$IT_WORK/loris.done"
it_log "tricklers: $(cat "$IT_WORK/loris.done")"
grep -q "^0 open" "$IT_WORK/loris.done" || it_fail "tricklers left open: $(cat "$IT_WORK/loris.done")"

# A few log lines, not one per refusal nor per accept retry.
kill -USR1 "$IT_PID_web"
it_wait_for 5 "the counters" it_log_has web "event=stats"
it_log "$(grep -o 'connections=.*' "$IT_WORK/logs/web.log" | tail -1)"
lines=$(grep -c -E "event=(connection_refused|accept_failed)" "$IT_WORK/logs/web.log" || true)
((lines <= 10)) || it_fail "$lines refusal/accept lines in the log"
grep -q -E "conn_refused=(23[0-9]|2[0-9][0-9])" "$IT_WORK/logs/web.log" ||
	it_fail "the refusals were not counted"
it_stop web
it_log "PASS"
