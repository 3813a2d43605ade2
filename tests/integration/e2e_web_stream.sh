#!/usr/bin/env bash
# The dashboard's live stream under big batches (review): a reconnecting
# browser 600 alerts of 3 KB behind (1.8 MB, over web.client_buffer's
# 1 MiB) gets all 600 in order, event by event; a reader gets every entry
# of a 200-alert MULTI/EXEC burst of 6 KB each (one XREAD of 1.2 MB); a
# browser further behind than web.stream_catchup gets a "gap" event and
# the newest ones. Neither is logged or counted as a slow reader. Only
# Redis and minisoc-web: no collector.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_web_stream.sh BUILD_DIR}"
IT_WEB=$IT_BUILD/collector/web/minisoc-web
[[ -x $IT_WEB ]] || it_fail "minisoc-web not built"
SSE=$IT_ROOT/tests/integration/sse_read.py

it_start_redis
it_web_conf "stream_catchup: 700" "log_level: debug"
it_start web "$IT_WEB" -c "$IT_WORK/web.yml"
it_wait_for 10 "web listening" it_log_has web "event=listening"
it_wait_for 10 "web on Redis" it_log_has web "event=redis_connected role=live"

# xadd N PAD: N alerts of about PAD bytes, in one MULTI/EXEC when $MULTI=1.
xadd() {
	python3 - "$1" "$2" "${MULTI:-0}" <<'PY' | redis-cli -p "$IT_REDIS_PORT" --pipe >/dev/null
import sys
n, pad, multi = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
def cmd(*args):
    return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)
out = [cmd("MULTI")] if multi else []
for i in range(n):
    a = '{"severity":"low","rule":{"title":"big %d"},"samples":["%s"]}' % (i, "x" * pad)
    out.append(cmd("XADD", "minisoc:alerts", "*", "alert", a, "severity", "low"))
if multi:
    out.append(cmd("EXEC"))
sys.stdout.write("".join(out))
PY
}

# 1. A reconnect 600 entries of 3 KB behind: all of them, in order.
FIRST=$(it_redis_raw XADD minisoc:alerts '*' alert '{"severity":"low"}')
xadd 600 3000
python3 "$SSE" "$WPORT" "$TOKEN" 600 30 "$FIRST" >"$IT_WORK/catchup.txt" ||
	it_fail "catch-up of 600 x 3 KB: $(cat "$IT_WORK/catchup.txt")"
it_log "catch-up: $(cat "$IT_WORK/catchup.txt")"
grep -q "gaps=0" "$IT_WORK/catchup.txt" || it_fail "a gap within web.stream_catchup"

# 2. A burst of 200 x 6 KB in one transaction (one XREAD of 1.2 MB) to a
# reader already live: every entry.
rm -f "$IT_WORK/live.ready"
python3 "$SSE" "$WPORT" "$TOKEN" 200 30 - "$IT_WORK/live.ready" >"$IT_WORK/live.txt" &
LIVE=$!
IT_PIDS+=("$LIVE")
it_wait_for 10 "the live stream open" test -s "$IT_WORK/live.ready"
it_wait_for 10 "the live stream registered" it_log_has web "event=stream_open .*clients=1"
MULTI=1 xadd 200 6000
wait "$LIVE" || it_fail "burst of 200 x 6 KB: $(cat "$IT_WORK/live.txt")"
it_log "burst: $(cat "$IT_WORK/live.txt")"

# 3. Further behind than web.stream_catchup (700 of 801): a gap, then the
# newest 700.
python3 "$SSE" "$WPORT" "$TOKEN" 700 30 0-1 >"$IT_WORK/gap.txt" ||
	it_fail "catch-up past stream_catchup: $(cat "$IT_WORK/gap.txt")"
it_log "past the cap: $(cat "$IT_WORK/gap.txt")"
grep -q "gaps=1" "$IT_WORK/gap.txt" || it_fail "no gap event past web.stream_catchup"
NEWEST=$(it_redis_raw XREVRANGE minisoc:alerts + - COUNT 1 | sed -n 1p)
grep -q "last=$NEWEST " "$IT_WORK/gap.txt" || it_fail "the newest entry was not the last sent"

# 4. A new stream is told where it starts (an id with no event): a browser
# whose stream drops before its first alert resumes from there and gets
# what came meanwhile (it had no Last-Event-ID to send before).
python3 "$SSE" "$WPORT" "$TOKEN" 0 10 >"$IT_WORK/start.txt" ||
	it_fail "a new stream was not told its start: $(cat "$IT_WORK/start.txt")"
grep -q "start=$NEWEST\$" "$IT_WORK/start.txt" || it_fail "start is not the newest entry: $(cat "$IT_WORK/start.txt")"
xadd 5 100
python3 "$SSE" "$WPORT" "$TOKEN" 5 10 "$NEWEST" >"$IT_WORK/resumed.txt" ||
	it_fail "resumed from the start id: $(cat "$IT_WORK/resumed.txt")"

if it_log_has web "reason=slow_reader"; then
	it_fail "a reader that keeps reading was dropped as slow"
fi
it_stop web
it_log "PASS"
