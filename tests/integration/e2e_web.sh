#!/usr/bin/env bash
# The dashboard in a real browser: a real agent, collector and Redis, the
# real minisoc-web, and Debian's headless Chromium driven through the
# DevTools protocol (web_browser.py). Signs in with the token, sees an
# alert injected through the pipeline within 2 s, checks that HTML and
# script in alerts stay text, that the severity filter hides what it
# should, and saves screenshots in BUILD_DIR/test-output/e2e_web/.
# Before the browser: the API refuses requests without the token or with a
# wrong one, and a live stream past web.max_clients is refused.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_web.sh BUILD_DIR}"
IT_WEB=$IT_BUILD/collector/web/minisoc-web
[[ -x $IT_WEB ]] || it_fail "minisoc-web not built"
if ! command -v chromium >/dev/null; then
	it_log "SKIP: chromium not installed (deploy/install-deps.sh installs it)"
	exit 77
fi
OUT=$IT_BUILD/test-output/e2e_web
rm -rf "$OUT"
mkdir -p "$OUT"

PKI=$IT_WORK/pki
it_pki "$PKI" web1
it_start_redis
CPORT=$(it_free_port)
WPORT=$(it_free_port)
RULES=$IT_WORK/rules
mkdir -p "$RULES"
cat >"$RULES/web.yml" <<'YML'
title: 'Web canary high <script>window.__pwned=1</script>'
id: 00000000-0000-4000-8000-0000000000e1
name: webcanary_high
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'WEBCANARY-HIGH'
  condition: keywords
level: high
---
title: Web canary low
id: 00000000-0000-4000-8000-0000000000e2
name: webcanary_low
status: test
logsource:
  product: linux
detection:
  keywords:
    - 'WEBCANARY-LOW'
  condition: keywords
level: low
YML
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $RULES
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"
AUTH=$IT_WORK/auth.log
: >"$AUTH"
it_agent_conf "$IT_WORK/agent.yml" "$PKI" web1 "$CPORT" "$IT_WORK/state" end "$AUTH"
it_start agent "$IT_AGENT" -c "$IT_WORK/agent.yml"
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"

openssl rand -hex 24 >"$IT_WORK/web.token"
cat >"$IT_WORK/web.yml" <<YML
web:
  port: $WPORT
  token_file: $IT_WORK/web.token
  max_clients: 2
  client_buffer: 65536
  log_level: debug
redis:
  port: $IT_REDIS_PORT
YML
"$IT_WEB" --check -c "$IT_WORK/web.yml" >/dev/null || it_fail "--check refused a good config"
echo short >"$IT_WORK/short.token"
sed "s|$IT_WORK/web.token|$IT_WORK/short.token|" "$IT_WORK/web.yml" >"$IT_WORK/bad.yml"
"$IT_WEB" --check -c "$IT_WORK/bad.yml" >/dev/null 2>&1 && it_fail "a 5-character token was accepted"
it_start web "$IT_WEB" -c "$IT_WORK/web.yml"
it_wait_for 10 "web listening" it_log_has web "event=listening"
it_wait_for 10 "web on Redis" it_log_has web "event=redis_connected role=live"

# status PATH [TOKEN]: the HTTP status of GET PATH (with the bearer token).
status() {
	python3 - "$WPORT" "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}")
if len(sys.argv) > 3:
    req.add_header("Authorization", "Bearer " + sys.argv[3])
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
try:
    print(urllib.request.build_opener(NoRedirect).open(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
TOKEN=$(cat "$IT_WORK/web.token")
[[ $(status /api/alerts) == 401 ]] || it_fail "/api/alerts answered without a token"
[[ $(status /api/alerts "${TOKEN}x") == 401 ]] || it_fail "/api/alerts answered a wrong token"
[[ $(status /api/alerts "${TOKEN:0:10}") == 401 ]] || it_fail "/api/alerts answered a token prefix"
[[ $(status /api/stream) == 401 ]] || it_fail "/api/stream answered without a token"
[[ $(status /) == 303 ]] || it_fail "/ without a token did not send to /login"
[[ $(status /api/alerts "$TOKEN") == 200 ]] || it_fail "/api/alerts refused the right token"
[[ $(status "/api/alert?id=nonsense" "$TOKEN") == 400 ]] || it_fail "a bad stream id was not refused"
# Signing in gives a session of its own, not the token; signing out ends it
# for every copy of the cookie; the token itself is no cookie.
python3 - "$WPORT" "$TOKEN" <<'PY' || it_fail "sessions"
import http.client, re, sys, urllib.parse
port, token = int(sys.argv[1]), sys.argv[2]
def req(method, path, cookie=None, body=None, extra={}):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = {"Cookie": f"minisoc_web={cookie}"} if cookie else {}
    h.update(extra)
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    r.read()
    return r.status, r.getheader("Set-Cookie") or ""
st, sc = req("POST", "/login", body=urllib.parse.urlencode({"token": token}))
assert st == 303, st
m = re.match(r"minisoc_web=([0-9a-f]{64}); Path=/; HttpOnly; SameSite=Strict; Max-Age=43200$", sc)
assert m and m.group(1) != token, sc
sid = m.group(1)
assert req("GET", "/api/alerts", sid)[0] == 200
assert req("GET", "/api/alerts", token)[0] == 401, "the token taken as a cookie"
assert req("GET", "/api/alerts", sid[:-1] + ("0" if sid[-1] != "0" else "1"))[0] == 401
st2, sc2 = req("POST", "/login", body=urllib.parse.urlencode({"token": token}))
sid2 = re.match(r"minisoc_web=([0-9a-f]{64})", sc2).group(1)
assert sid2 != sid
assert req("GET", "/logout", sid)[0] == 303
assert req("GET", "/api/alerts", sid)[0] == 401, "a session alive after logout"
assert req("GET", "/api/alerts", sid2)[0] == 200, "logout ended another session"
# Through a TLS proxy (web.secure_cookie: auto), the cookie is Secure: the
# browser never sends it over plain HTTP.
for hdr in ({"X-Forwarded-Proto": "https"}, {"Forwarded": "for=192.0.2.1;proto=https"}):
    st3, sc3 = req("POST", "/login", body=urllib.parse.urlencode({"token": token}), extra=hdr)
    assert st3 == 303 and sc3.endswith("; Max-Age=43200; Secure"), (hdr, sc3)
    sid3 = re.match(r"minisoc_web=([0-9a-f]{64})", sc3).group(1)
    st4, sc4 = req("GET", "/logout", sid3, extra=hdr)
    assert st4 == 303 and sc4.endswith("; Secure"), sc4
st5, sc5 = req("POST", "/login", body=urllib.parse.urlencode({"token": token}),
               extra={"X-Forwarded-Proto": "http"})
assert "Secure" not in sc5, sc5
PY
ss -ltnH "sport = :$WPORT" >"$IT_WORK/ss.txt"
grep -q "127.0.0.1:$WPORT" "$IT_WORK/ss.txt" || it_fail "dashboard not on 127.0.0.1: $(cat "$IT_WORK/ss.txt")"

# Live streams are bounded (max_clients: 2): a third is refused with 503.
# HEAD /api/stream answers the head alone and takes no stream's place,
# though its connections stay open.
python3 - "$WPORT" "$TOKEN" <<'PY' || it_fail "the live-stream bound does not hold"
import socket, sys
port, token = int(sys.argv[1]), sys.argv[2]
def open_stream(method="GET"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(f"{method} /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    if method == "HEAD":
        assert b"text/event-stream" in head, head
    return s, head.split(b"\r\n")[0].decode()
heads = [open_stream("HEAD") for _ in range(3)]
assert all(" 200 " in st for _, st in heads), [st for _, st in heads]
a, sa = open_stream()
b, sb = open_stream()
c, sc = open_stream()
print(sa, "|", sb, "|", sc)
sys.exit(0 if " 200 " in sa and " 200 " in sb and " 503 " in sc else 1)
PY
it_wait_for 10 "the two streams closed" bash -c \
	"[[ \$(grep -c 'event=stream_closed' '$IT_WORK/logs/web.log') -ge 2 ]]"

# Alerts in the ECS-style schema (docs/alerts.md on the alert-bus branch),
# as another collector version would write them: the page reads both.
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
it_redis XADD minisoc:alerts '*' alert "{\"@timestamp\":\"$now\",\"event\":{\"kind\":\"alert\",\"severity\":5},\"rule\":{\"id\":\"e-1\",\"name\":\"ecs_one\",\"title\":\"ECS shaped alert\",\"level\":\"critical\"},\"host\":{\"name\":\"db7\"},\"agent\":{\"id\":\"db7\"},\"source\":{\"ip\":\"198.51.100.23\"},\"system\":{\"id\":\"crm\",\"level\":3}}" >/dev/null
it_redis XADD minisoc:alerts '*' alert "{\"@timestamp\":\"$now\",\"event\":{\"severity\":4},\"rule\":{\"name\":\"ecs_numeric_only\"},\"host\":{\"name\":\"db8\"}}" >/dev/null
python3 "$IT_ROOT/tests/integration/web_browser.py" "http://127.0.0.1:$WPORT" \
	"$IT_WORK/web.token" "$AUTH" "$OUT" web1 || it_fail "browser checks failed (see $OUT)"
[[ -s $OUT/dashboard.png ]] || it_fail "no screenshot"
it_log "screenshot in $OUT/dashboard.png"

# A live client that stops reading is disconnected once 64 KiB wait for it
# (past what the kernel buffers) and it took in nothing for a keepalive
# tick (15 s): about 8 MiB of alerts go by meanwhile.
python3 - "$WPORT" "$TOKEN" "$IT_WORK/slow.open" <<'PY' &
import socket, sys, time
port, token, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(f"GET /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
open(marker, "w").write(head.decode().split("\r\n")[0])
time.sleep(60)  # holds the connection without reading; killed by the test
PY
SLOW=$!
IT_PIDS+=("$SLOW")
it_wait_for 10 "the slow stream open" test -s "$IT_WORK/slow.open"
grep -q " 200 " "$IT_WORK/slow.open" || it_fail "slow stream refused: $(cat "$IT_WORK/slow.open")"
python3 - <<'PY' | redis-cli -p "$IT_REDIS_PORT" --pipe >/dev/null
import sys
pad = "x" * 2000
out = []
for i in range(4000):
    args = ["XADD", "minisoc:alerts", "*", "alert", '{"severity":"low","samples":["%s"]}' % pad]
    out.append("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args))
sys.stdout.write("".join(out))
PY
it_wait_for 45 "the slow reader dropped" it_log_has web "event=stream_dropped .*reason=slow_reader"
kill "$SLOW" 2>/dev/null || true
[[ $(status /healthz) == 200 ]] || it_fail "the daemon is not healthy after dropping a slow client"

it_stop web
it_stop agent
it_stop collector
it_log "PASS"
