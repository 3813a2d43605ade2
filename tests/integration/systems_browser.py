#!/usr/bin/env python3
"""systems_browser.py – the dashboard's information systems in Debian's
headless Chromium (through web_browser.Browser), for e2e_systems.sh.

usage: systems_browser.py URL TOKEN_FILE OUT_DIR EVIL_NAME

Signs in with the token and checks, within deadlines, the systems table
that e2e_systems.sh set up (register published by the collector,
compliance published by minisocctl report, agents web1 and app1 online):
  - SYS-001: level 3, compliance "partial 10/12", judged 2026-11-20,
    clock-sync and independent-inspection named on hover (title) and in
    the detail, 1/2 agents online, its name (EVIL_NAME, full of HTML)
    shown literally with no element made of it and no script run;
  - SYS-002: level 2, "pass 9/9", 1/1 online; SYS-003: level 1,
    "fail 0/5", 0/0 online;
and saves OUT_DIR/systems.png and OUT_DIR/systems.html.
Exit status 0 when all hold, 1 with the reason otherwise.
"""
import base64
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_browser import Browser, Fail  # noqa: E402


def row(sid):
    return f"document.querySelector('#systems tr[data-system={json.dumps(sid)}]')"


def cells(b, sid):
    """The row's cells as texts, plus the compliance cell's title, status, text
    without its detail, and the failed requirements listed in the detail."""
    return b.eval(f"(() => {{ const r = {row(sid)}; if (!r) return null; const c = r.querySelector('td.comp');"
                  " return { cells: [...r.children].map(td => td.textContent),"
                  " title: c.getAttribute('title'), status: c.getAttribute('data-compliance'),"
                  " comp: [...c.childNodes].filter(n => n.nodeName !== 'DETAILS').map(n => n.textContent).join(''),"
                  " failed: [...c.querySelectorAll('li')].map(li => li.getAttribute('data-requirement')),"
                  " detail: c.querySelector('details') ? c.querySelector('details').textContent : '' }; })()")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    url, token_file, out_dir, evil = sys.argv[1:]
    token = open(token_file).read().strip()
    os.makedirs(out_dir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="minisoc-chromium.")
    b = None
    try:
        b = Browser(profile)
        target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)
        att = b.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                     session=False)
        b.session = att["sessionId"]
        b.call("Page.enable")
        b.call("Runtime.enable")
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 1800, "deviceScaleFactor": 1, "mobile": False})
        b.call("Page.navigate", {"url": url + "/"})
        b.wait("location.pathname === '/login' && document.readyState === 'complete' && "
               "!!document.getElementById('token')", 15, "the login form")
        b.eval("document.getElementById('token').value = " + json.dumps(token) +
               "; document.querySelector('form').submit(); true")
        b.wait("location.pathname === '/' && document.readyState === 'complete'", 15, "the dashboard")
        b.wait(f"!!{row('SYS-003')}", 15, "the systems table")
        if b.eval("!!document.getElementById('no-register')"):
            raise Fail("'no register configured' shown with a register published")

        # columns: system, name, level, compliance, judged, layers, agents
        want = {
            "SYS-001": ("3", "partial", "partial 10/12", "1/2 online",
                        ["clock-sync", "independent-inspection"]),
            "SYS-002": ("2", "pass", "pass 9/9", "1/1 online", []),
            "SYS-003": ("1", "fail", "fail 0/5", "0/0 online",
                        ["agent-reporting", "clock-sync", "antimalware", "mfa-admin", "idle-accounts"]),
        }
        for sid, (level, status, comp, agents, failed) in want.items():
            # Agents' status may still be on its way: the table reloads every minute, the
            # collector wrote it before the page opened, so the first load is final.
            got = cells(b, sid)
            c = got["cells"]
            if c[0] != sid or c[2] != level or got["status"] != status or got["comp"] != comp \
                    or c[6] != agents or got["failed"] != failed:
                raise Fail(f"{sid}: row {c!r} status {got['status']!r} failed {got['failed']!r}, "
                           f"want level {level}, {comp}, {agents}, {failed}")
            if "2026-11-20" not in c[4] or "2026-11-20T12:00:00.000Z" not in got["title"]:
                raise Fail(f"{sid}: judged time not shown: {c[4]!r} / {got['title']!r}")
            if failed and ("failed: " + ", ".join(failed)) not in got["title"]:
                raise Fail(f"{sid}: failed requirements not on hover: {got['title']!r}")
            print(f"{sid}: level {level}, {got['comp']}, judged {c[4]}, {agents}")
        d = cells(b, "SYS-001")["detail"]
        if "db1" not in d or "expired on 2026-06-30" not in d:
            raise Fail(f"SYS-001 detail lacks the reasons: {d!r}")
        b.eval(f"{row('SYS-001')}.querySelector('details').open = true; true")
        # The inspection's attestation ran out on 2026-06-30: active but expired.
        if cells(b, "SYS-001")["cells"][5] != "3/4 active, 1 expired":
            raise Fail(f"SYS-001 layers: {cells(b, 'SYS-001')['cells'][5]!r}")

        # Operator data stays text.
        name = b.eval(f"{row('SYS-001')}.children[1].textContent")
        if name != evil:
            raise Fail(f"system name not shown literally: {name!r}")
        if b.eval("document.querySelectorAll('#systems img, #systems b, #systems script').length"):
            raise Fail("a system name became markup")
        if b.eval("window.__pwned !== undefined"):
            raise Fail("a script from the register ran in the page")
        print("system name with HTML shown as text")

        b.eval("document.getElementById('systems-box').scrollIntoView(); true")
        shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        png = base64.b64decode(shot["data"])
        if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 10000:
            raise Fail(f"screenshot is not a plausible PNG ({len(png)} bytes)")
        with open(os.path.join(out_dir, "systems.png"), "wb") as f:
            f.write(png)
        with open(os.path.join(out_dir, "systems.html"), "w") as f:
            f.write(b.eval("document.documentElement.outerHTML"))
    except Fail as e:
        print(f"FAIL: {e}")
        if b is not None:
            try:
                with open(os.path.join(out_dir, "page-at-failure.html"), "w") as f:
                    f.write(b.eval("document.documentElement.outerHTML", timeout=5) or "")
                shot = b.call("Page.captureScreenshot", {"format": "png"}, timeout=10)
                with open(os.path.join(out_dir, "failure.png"), "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
            except Exception:
                pass
        return 1
    finally:
        if b is not None:
            b.close()
            shutil.copy(os.path.join(profile, "chromium.log"), os.path.join(out_dir, "chromium.log"))
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
