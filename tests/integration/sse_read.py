#!/usr/bin/env python3
"""sse_read.py PORT TOKEN COUNT TIMEOUT_S [LAST_EVENT_ID] [READY_FILE]

Reads GET /api/stream (with Last-Event-ID when given and not "-") until
COUNT "alert" events came, the server closed the stream or TIMEOUT_S passed
(COUNT 0: until the id a new stream starts from, an id without an event).
Writes READY_FILE once the stream's hello is read. Prints one line:
alerts=N gaps=G first=ID last=ID ordered=0|1 closed=0|1 start=ID and exits
0 only with COUNT alerts whose ids increase (COUNT 0: with a start id).
"""
import http.client
import sys
import time


def idkey(s):
    a, b = s.split("-")
    return (int(a), int(b))


def main():
    port, token, count, timeout = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    last = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else None
    ready = sys.argv[6] if len(sys.argv) > 6 else None
    deadline = time.monotonic() + timeout
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    headers = {"Authorization": "Bearer " + token}
    if last:
        headers["Last-Event-ID"] = last
    conn.request("GET", "/api/stream", headers=headers)
    resp = conn.getresponse()
    if resp.status != 200:
        print(f"status={resp.status}")
        return 1
    ids, gaps, closed, ordered, start = [], 0, False, True, None
    ev_id, ev_type = None, None
    while (len(ids) < count or (count == 0 and start is None)) and time.monotonic() < deadline:
        try:
            line = resp.readline()
        except TimeoutError:
            continue
        except OSError:
            closed = True
            break
        if not line:
            closed = True
            break
        line = line.rstrip(b"\n").decode()
        if line == "":
            if ev_type == "alert" and ev_id:
                if ids and idkey(ev_id) <= idkey(ids[-1]):
                    ordered = False
                ids.append(ev_id)
            elif ev_type == "gap":
                gaps += 1
            elif ev_type is None and ev_id and not ids:
                start = ev_id
            ev_id, ev_type = None, None
        elif line.startswith("id: "):
            ev_id = line[4:]
        elif line.startswith("event: "):
            ev_type = line[7:]
        elif line.startswith(": hello") and ready:
            open(ready, "w").write("open\n")
    print(f"alerts={len(ids)} gaps={gaps} first={ids[0] if ids else '-'} "
          f"last={ids[-1] if ids else '-'} ordered={int(ordered)} closed={int(closed)} "
          f"start={start or '-'}")
    if count == 0:
        return 0 if start else 1
    return 0 if len(ids) == count and ordered else 1


sys.exit(main())
