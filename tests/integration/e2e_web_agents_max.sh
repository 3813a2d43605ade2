#!/usr/bin/env bash
# /api/agents over web.agents_max: five agents known (minisoc:agents:
# last_seen, as collectors write it), two of them silent, and
# web.agents_max 3. The reply must say how many agents there are (total 5)
# and that the list is cut, and must not leave a silent agent out for an
# online one – before, three of the five came back in hash order, the
# dashboard said "N online of 3", and which were left out was chance.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_web_agents_max.sh BUILD_DIR}"
IT_WEB=$IT_BUILD/collector/web/minisoc-web
[[ -x $IT_WEB ]] || it_fail "minisoc-web not built"
it_start_redis
now=$(($(date +%s%N) / 1000000))
for a in a1 a2 a3 a4 a5; do
	st=online
	[[ $a == a2 || $a == a5 ]] && st=silent
	it_redis HSET minisoc:agents:last_seen "$a" "$now" >/dev/null
	it_redis HSET "minisoc:agent:$a" status "$st" status_since_ms "$now" hostname "$a" >/dev/null
done
it_web_conf "agents_max: 3"
it_start web "$IT_WEB" -c "$IT_WORK/web.yml"
it_wait_for 10 "web listening" it_log_has web "event=listening"
python3 - "$WPORT" "$TOKEN" <<'PY' || it_fail "/api/agents over agents_max"
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/api/agents",
                             headers={"Authorization": "Bearer " + sys.argv[2]})
r = json.load(urllib.request.urlopen(req, timeout=5))
ids = sorted(a["id"] for a in r["agents"])
silent = sorted(a["id"] for a in r["agents"] if a["info"].get("status") == "silent")
print(f"listed {ids}, silent {silent}, total {r.get('total')}, truncated {r.get('truncated')}")
assert len(ids) == 3, ids
assert r.get("total") == 5, "no total: the dashboard cannot say how many agents there are"
assert r.get("truncated") is True, "the cut is not said"
assert silent == ["a2", "a5"], "a silent agent left out for an online one"
PY
it_stop web
it_log "PASS"
