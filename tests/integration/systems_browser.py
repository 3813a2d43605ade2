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
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_browser import Browser, Fail, finish, open_page, save_failure, save_page, sign_in  # noqa: E402


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
        open_page(b)
        sign_in(b, url, token)
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
        save_page(b, out_dir, "systems.png", "systems.html")
    except Fail as e:
        print(f"FAIL: {e}")
        save_failure(b, out_dir)
        return 1
    finally:
        finish(b, profile, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
