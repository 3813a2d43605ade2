#!/usr/bin/env python3
"""web_browser.py – drives Debian's headless Chromium through the DevTools
protocol (over --remote-debugging-pipe: no port, standard library only)
against a running minisoc-web, for e2e_web.sh.

usage: web_browser.py URL TOKEN_FILE LOG_FILE OUT_DIR HOST

Signs in through the login form, waits until the live stream is open,
appends two log lines to LOG_FILE (watched by a real agent: one triggers a
"high" rule whose title and line carry HTML/script, one a "low" rule),
and checks within deadlines – never fixed sleeps – that:
  - the high alert's row appears within 2 s of the append (time printed);
  - its attacker-controlled strings are shown as text, nothing ran;
  - unchecking "high" hides that row and keeps the low one; checking it
    again shows it;
  - the alert detail shows the raw log line as text;
  - the agent is listed online, the systems view says no register is
    configured, the chart counts the alerts;
and saves OUT_DIR/dashboard.png (a screenshot) and OUT_DIR/page.html.
Exit status 0 when all hold, 1 with the reason otherwise.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Fail(Exception):
    pass


class Browser:
    """Chromium with the DevTools protocol on fds 3 (to it) and 4 (from it)."""

    def __init__(self, profile):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if exe is None:
            raise Fail("chromium not installed (apt-get install chromium)")
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def child():
            # Out of the way first: a pipe may already be fd 3 or 4 (and
            # close-on-exec, which dup2 onto itself would not clear).
            r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3, inheritable=True)
            os.dup2(w, 4, inheritable=True)

        args = [exe, "--headless", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--mute-audio",
                f"--user-data-dir={profile}", "--window-size=1280,1800", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses its sandbox as root
        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, preexec_fn=child, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_w)
        os.close(self.from_r)
        self.log.close()

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("no answer from chromium in time")
            r, _, _ = select.select([self.from_r], [], [], left)
            if r:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    raise Fail("chromium closed the DevTools pipe (crashed?)")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, timeout=15, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        try:
            os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        except BrokenPipeError:
            raise Fail(f"chromium exited (status {self.proc.poll()}) before {method}")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_msg(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Fail(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def eval(self, expr, timeout=15):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise Fail(f"page script failed: {r['exceptionDetails'].get('text')} in {expr[:80]}")
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout, what):
        """Polls expr until truthy; returns (value, seconds waited)."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            v = self.eval(expr)
            if v:
                return v, time.monotonic() - t0
            if time.monotonic() > deadline:
                raise Fail(f"timed out after {timeout} s waiting for: {what}")
            time.sleep(0.02)


def open_page(b):
    """A new tab in b, attached, with Page and Runtime events and a 1280x1800 viewport."""
    target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)
    att = b.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                 session=False)
    b.session = att["sessionId"]
    b.call("Page.enable")
    b.call("Runtime.enable")
    b.call("Emulation.setDeviceMetricsOverride",
           {"width": 1280, "height": 1800, "deviceScaleFactor": 1, "mobile": False})


def sign_in(b, url, token):
    """Opens url/, which sends us to the login form, and submits the token there."""
    b.call("Page.navigate", {"url": url + "/"})
    b.wait("location.pathname === '/login' && document.readyState === 'complete' && "
           "!!document.getElementById('token')", 15, "redirect to the login form")
    b.eval("document.getElementById('token').value = " + json.dumps(token) +
           "; document.querySelector('form').submit(); true")


def save_page(b, out_dir, png_name, html_name):
    """Saves a full-page screenshot (checked to be a real PNG) and the page's HTML; the PNG's size."""
    shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    png = base64.b64decode(shot["data"])
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 10000:
        raise Fail(f"screenshot is not a plausible PNG ({len(png)} bytes)")
    with open(os.path.join(out_dir, png_name), "wb") as f:
        f.write(png)
    with open(os.path.join(out_dir, html_name), "w") as f:
        f.write(b.eval("document.documentElement.outerHTML"))
    return len(png)


def save_failure(b, out_dir):
    """What the page looked like when a check failed (best effort)."""
    if b is None:
        return
    try:
        with open(os.path.join(out_dir, "page-at-failure.html"), "w") as f:
            f.write(b.eval("document.documentElement.outerHTML", timeout=5) or "")
        shot = b.call("Page.captureScreenshot", {"format": "png"}, timeout=10)
        with open(os.path.join(out_dir, "failure.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    except Exception:
        pass


def finish(b, profile, out_dir):
    """Closes the browser, keeps its log in out_dir, removes its profile."""
    if b is not None:
        b.close()
        shutil.copy(os.path.join(profile, "chromium.log"), os.path.join(out_dir, "chromium.log"))
    shutil.rmtree(profile, ignore_errors=True)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    url, token_file, log_file, out_dir, host = sys.argv[1:]
    token = open(token_file).read().strip()
    os.makedirs(out_dir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="minisoc-chromium.")
    b = None
    try:
        b = Browser(profile)
        open_page(b)

        # Without the cookie the page sends us to the login form.
        sign_in(b, url, token)
        b.wait("location.pathname === '/' && document.readyState === 'complete' && "
               "document.getElementById('conn') && "
               "document.getElementById('conn').textContent === 'live'", 15,
               "the dashboard with its live stream open")
        print("signed in, live stream open")

        # ECS-style alerts written before the page opened (history).
        ecs = ("[...document.querySelectorAll('#alerts tbody tr')].find(tr => "
               "tr.textContent.includes('ECS shaped alert'))")
        b.wait(f"!!({ecs})", 10, "the ECS-style alert from the history")
        got = b.eval(f"[({ecs}).getAttribute('data-severity'), ({ecs}).textContent]")
        if got[0] != "critical" or not all(s in got[1] for s in ("198.51.100.23", "db7", "crm (level 3)")):
            raise Fail(f"ECS-style alert misread: {got!r}")
        num = ("[...document.querySelectorAll('#alerts tbody tr')].find(tr => "
               "tr.textContent.includes('ecs_numeric_only'))")
        got = b.eval(f"({num}) && ({num}).getAttribute('data-severity')")
        if got != "high":
            raise Fail(f"numeric event.severity 4 shown as {got!r}, expected high")
        print("ECS-style alerts read (rule.level, event.severity, host.name, source.ip, system)")

        # An alert through the real pipeline: agent -> collector -> Redis -> page.
        ts = time.strftime("%b %e %H:%M:%S")
        evil = '<img src=x onerror="window.__pwned=2"><b>BOLD</b>'
        with open(log_file, "a") as f:
            f.write(f"{ts} {host} app[42]: WEBCANARY-HIGH {evil}\n"
                    f"{ts} {host} app[43]: WEBCANARY-LOW plain\n")
            f.flush()
        row_high = ("[...document.querySelectorAll('#alerts tbody tr')].find(tr => "
                    "tr.textContent.includes('Web canary high'))")
        row_low = ("[...document.querySelectorAll('#alerts tbody tr')].find(tr => "
                   "tr.textContent.includes('Web canary low'))")
        _, took = b.wait(f"!!({row_high})", 10, "the high alert's row")
        print(f"alert row appeared {took * 1000:.0f} ms after the line was written")
        if took > 2.0:
            raise Fail(f"the alert took {took:.2f} s to appear (limit 2 s)")
        b.wait(f"!!({row_low})", 5, "the low alert's row")

        # Attacker-controlled strings stay text.
        title = b.eval(f"({row_high}).querySelector('td.rule').textContent")
        if "<script>" not in title:
            raise Fail(f"rule title not shown literally: {title!r}")
        if b.eval("window.__pwned !== undefined"):
            raise Fail("a script from an alert ran in the page")
        if b.eval("document.querySelectorAll('#alerts script, #alerts img, #alerts b').length"):
            raise Fail("alert text became markup in the table")
        print("rule title with <script> shown as text")

        # The severity filter.
        sev = b.eval(f"({row_high}).getAttribute('data-severity')")
        if sev != "high":
            raise Fail(f"high alert shown with severity {sev!r}")
        visible_high = f"(({row_high}).offsetParent !== null)"
        visible_low = f"(({row_low}).offsetParent !== null)"
        if not (b.eval(visible_high) and b.eval(visible_low)):
            raise Fail("alerts not visible before filtering")
        b.eval("document.getElementById('sev-high').click(); true")
        b.wait(f"!{visible_high}", 2, "the high alert hidden by the filter")
        if not b.eval(visible_low):
            raise Fail("unchecking 'high' hid the low alert too")
        b.call("Page.bringToFront")
        shot_filtered = b.call("Page.captureScreenshot", {"format": "png"})
        with open(os.path.join(out_dir, "dashboard-filtered.png"), "wb") as f:
            f.write(base64.b64decode(shot_filtered["data"]))
        b.eval("document.getElementById('sev-high').click(); true")
        b.wait(visible_high, 2, "the high alert shown again")
        print("severity filter hides high, keeps low, and shows high again")

        # The detail with the raw event, as text.
        b.eval(f"({row_high}).click(); true")
        raw = b.wait("(() => { const p = document.querySelector('#detail-body pre.raw-event'); "
                     "return p && p.textContent; })()", 5, "the alert detail's raw event")[0]
        if "WEBCANARY-HIGH" not in raw or evil not in raw:
            raise Fail(f"raw event not shown literally: {raw!r}")
        if b.eval("document.querySelectorAll('#detail img, #detail b, #detail script').length"):
            raise Fail("the raw event became markup in the detail")
        if b.eval("window.__pwned !== undefined"):
            raise Fail("a script from a raw event ran in the page")
        print("detail shows the raw log line as text")

        # Agents, systems, chart.
        b.wait("[...document.querySelectorAll('#agents tbody tr')].some(tr => "
               "tr.getAttribute('data-agent') === " + json.dumps(host) +
               " && tr.querySelector('.status-online'))", 15, "the agent listed online")
        b.wait("!!document.getElementById('no-register')", 10, "'no register configured'")
        total = b.wait("(() => { let n = 0; for (const g of document.querySelectorAll("
                       "'#chart-svg g.bar')) n += +g.getAttribute('data-total'); return n; })()",
                       10, "the chart counting the alerts")[0]
        if total < 2:
            raise Fail(f"chart counts {total} alerts, expected at least 2")
        print(f"agent online, no register configured, chart counts {total}")

        n = save_page(b, out_dir, "dashboard.png", "page.html")
        print(f"screenshot: {os.path.join(out_dir, 'dashboard.png')} ({n} bytes)")
    except Fail as e:
        print(f"FAIL: {e}")
        save_failure(b, out_dir)
        return 1
    finally:
        finish(b, profile, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
