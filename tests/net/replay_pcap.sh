#!/usr/bin/env bash
# net_replay – pcap files written now by tests/net/pcapgen.py, replayed with
# `minisocctl replay --rules rules/ FILE.pcap`: the exact alerts (one port
# scan, one host sweep, one SYN flood, one SSH-guessing alert, none for
# browsing or a few SSH sessions), the exact DNS/HTTP/TLS/SSH events on every
# link type and in pcapng, and truncated or corrupt packets counted and
# survived.
#
#   tests/net/replay_pcap.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: replay_pcap.sh BUILD_DIR}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/../.." && pwd)
CTL=$BUILD/cli/minisocctl
GEN=$HERE/pcapgen.py
WORK=$(mktemp -d "${TMPDIR:-/tmp}/net_replay.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# replay NAME [pcapgen options]: WORK/NAME.alerts, .events, .err; exit code in WORK/NAME.rc
replay() {
	local name=$1 scen=$2
	shift 2
	python3 "$GEN" "$scen" "$WORK/$name.pcap" "$@"
	set +e
	"$CTL" replay --rules "$ROOT/rules" --events "$WORK/$name.events" "$WORK/$name.pcap" \
		>"$WORK/$name.alerts" 2>"$WORK/$name.err"
	echo $? >"$WORK/$name.rc"
	set -e
}

for s in portscan probescan sshguess ssh_few sweep synflood synflood_spoofed flood_flags web apps \
	malformed; do
	replay "$s" "$s"
done
for link in ether vlan2 sll sll2 raw; do
	replay "dns_$link" dns --link "$link"
done
replay dns_pcapng dns --pcapng --link sll2
replay apps_pcapng apps --pcapng --link vlan2
# public Zeek Sigma rules (SigmaHQ, when the corpus is beside the checkout)
# apply to the events as they are: the mining-pool DNS rule fires once
ZEEK=${MINISOC_SIGMAHQ:-$ROOT/../shared/corpora/sigmahq}/network/network/zeek
if [[ -d $ZEEK ]]; then
	"$CTL" replay -B --rules "$ZEEK" "$WORK/dns_ether.pcap" >"$WORK/sigmahq.alerts" 2>/dev/null
	got=$(grep -c '"title":"DNS Events Related To Mining Pools"' "$WORK/sigmahq.alerts" || true)
	total=$(wc -l <"$WORK/sigmahq.alerts")
	[[ $got == 1 && $total == 1 ]] || fail "SigmaHQ zeek rules: $total alerts, $got from the mining-pool rule, want 1 and 1"
else
	echo "net_replay: SigmaHQ corpus not found, public Zeek rules not tried"
fi
# a file cut in the middle of a record: the packets before count, exit 2
python3 "$GEN" sshguess "$WORK/cut.pcap"
head -c 3000 "$WORK/cut.pcap" >"$WORK/cutshort.pcap"
set +e
"$CTL" replay --rules "$ROOT/rules" --events "$WORK/cutshort.events" "$WORK/cutshort.pcap" \
	>"$WORK/cutshort.alerts" 2>"$WORK/cutshort.err"
echo $? >"$WORK/cutshort.rc"
set -e

python3 - "$WORK" <<'EOF'
import json, sys, re
W = sys.argv[1]
bad = []

def load(name, kind):
    with open("%s/%s.%s" % (W, name, kind)) as f:
        return [json.loads(l) for l in f if l.strip()]

def rc(name):
    return int(open("%s/%s.rc" % (W, name)).read())

def stats(name):
    err = open("%s/%s.err" % (W, name)).read()
    m = re.search(r"packets=.*", err)
    return dict(kv.split("=") for kv in m.group(0).split()) if m else {}

def check(cond, what):
    if not cond:
        bad.append(what)

def alerts(name):
    return [(a["rule"]["name"], a.get("source", {}).get("ip", "")) for a in load(name, "alerts")]

# exact alerts
want = {
    "portscan": [("net_port_scan", "203.0.113.50")],
    "probescan": [("net_port_scan", "203.0.113.51")],
    "sshguess": [("net_ssh_guessing", "203.0.113.60")],
    "ssh_few": [],
    "sweep": [("net_host_sweep", "203.0.113.80")],
    "synflood": [("net_syn_flood", "203.0.113.70")],
    "synflood_spoofed": [("net_syn_flood_distributed", "")],
    "flood_flags": [("net_syn_flood_distributed", "")],
    "web": [],
}
for name, exp in want.items():
    check(rc(name) == 0, "%s: exit %d" % (name, rc(name)))
    got = alerts(name)
    check(got == exp, "%s: alerts %s, want %s" % (name, got, exp))

# floods and scans are a handful of events, not one per packet
for name, most in (("portscan", 103), ("probescan", 101), ("synflood", 102)):
    ev = load(name, "events")
    check(len(ev) <= most, "%s: %d events" % (name, len(ev)))
    scans = [e for e in ev if e["_path"] == "scan"]
    check(len(scans) == 1, "%s: %d scan events" % (name, len(scans)))
# a flood from 5000 sources in 1 s: the global budget (200 a second, a
# second's worth at once) holds the conn events to at most 400, the
# target's summary counts every attempt
ev = load("synflood_spoofed", "events")
check(len(ev) <= 401, "synflood_spoofed: %d events" % len(ev))
tg = [e for e in ev if e["_path"] == "scan" and e.get("scope") == "target"]
check(len(tg) == 1 and tg[0]["id.resp_h"] == "198.51.100.10" and tg[0]["attempts"] == 5000 and
      tg[0]["distinct_sources"] == 256 and tg[0]["attempts_suppressed"] == 5000 - (len(ev) - 1),
      "synflood_spoofed target summary %s" % tg)
# the same without SYN (FIN, NULL, XMAS, ACK probes), and a flood of any
# flags or of DNS answers nobody asked for
ps = ([e for e in load("probescan", "events") if e["_path"] == "scan"] or [{}])[0]
check(ps.get("probes") == 1000 and ps.get("distinct_ports") == 1000 and ps.get("syn") == 0 and
      ps.get("attempts_suppressed") == 900, "probescan summary %s" % ps)
ev = load("flood_flags", "events")
check(len(ev) <= 401, "flood_flags: %d events" % len(ev))
tg = [e for e in ev if e["_path"] == "scan" and e.get("scope") == "target"]
check(len(tg) == 1 and tg[0]["attempts"] == 5000 and tg[0]["distinct_sources"] == 256,
      "flood_flags target summary %s" % tg)
ps = [e for e in load("portscan", "events") if e["_path"] == "scan"][0]
check(ps["distinct_ports"] == 1000 and ps["syn"] == 1000 and ps["syn_ack"] == 2 and
      ps["rst_in"] == 998, "portscan summary %s" % ps)
ssh = [e for e in load("sshguess", "events") if e["_path"] == "ssh"]
check(len(ssh) == 11 and all(e["client"] == "SSH-2.0-libssh_0.9.6" and
      e["server"] == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" for e in ssh), "ssh events %s" % ssh[:1])
conns = [e for e in load("sshguess", "events") if e["_path"] == "conn"]
check(len(conns) == 11 and all(c["conn_state"] == "SF" and c["service"] == "ssh" and
      c["orig_pkts"] == 5 and c["resp_pkts"] == 4 for c in conns), "ssh conns %s" % conns[:1])

# DNS: the same answers on every link type and in pcapng
want_dns = [
    ("udp", "example.com", "A", "NOERROR", ["93.184.216.34", "93.184.216.35"]),
    ("udp", "example.com", "AAAA", "NOERROR", ["2001:db8::34"]),
    ("udp", "nonexistent.example", "A", "NXDOMAIN", None),
    ("udp", "www.example.org", "A", "NOERROR", ["web.example.org", "192.0.2.80"]),
    ("udp", "pool.supportxmr.com", "A", "NOERROR", ["192.0.2.99"]),
    ("tcp", "example.net", "TXT", "NOERROR", ["v=spf1 -all"]),
    ("udp", "lost.example", "MX", None, None),   # unanswered: at the end of its flow
]
for link in ("ether", "vlan2", "sll", "sll2", "raw", "pcapng"):
    name = "dns_" + link
    check(rc(name) == 0, "%s: exit %d" % (name, rc(name)))
    got = [(e["proto"], e["query"], e["qtype_name"], e.get("rcode_name"), e.get("answers"))
           for e in load(name, "events") if e["_path"] == "dns"]
    check(got == want_dns, "%s: dns %s" % (name, got))
    check(all(e["id.orig_h"] == "192.0.2.10" and e["id.resp_p"] == 53
              for e in load(name, "events")), "%s: orig/resp" % name)
    check(alerts(name) == [], "%s: alerts %s" % (name, alerts(name)))

# HTTP, TLS, SSH over IPv6 with extension headers
for name in ("apps", "apps_pcapng"):
    ev = load(name, "events")
    http = [e for e in ev if e["_path"] == "http"]
    check(len(http) == 1 and http[0]["method"] == "GET" and http[0]["host"] == "intranet.example"
          and http[0]["uri"] == "/admin/login.php?x=1" and http[0]["user_agent"] == "sqlmap/1.7",
          "%s: http %s" % (name, http))
    ssl = [e for e in ev if e["_path"] == "ssl"]
    check([e.get("server_name") for e in ssl] == ["secure.example.com"], "%s: ssl %s" % (name, ssl))
    ssh6 = [e for e in ev if e["_path"] == "ssh"]
    check(len(ssh6) == 1 and ssh6[0]["id.orig_h"] == "2001:db8::20" and
          ssh6[0]["client"] == "SSH-2.0-PuTTY_0.78" and ssh6[0]["server"] == "SSH-2.0-OpenSSH_9.2",
          "%s: ssh over IPv6 %s" % (name, ssh6))
    rst = [e for e in ev if e["_path"] == "conn" and e["id.resp_h"] == "2001:db8::22"]
    check(len(rst) == 1 and rst[0]["conn_state"] == "RSTO", "%s: v6 conn %s" % (name, rst))

# truncated and corrupt packets: counted, and what follows them is decoded
st = stats("malformed")
check(rc("malformed") == 0, "malformed: exit %d" % rc("malformed"))
check(st.get("truncated") == "5" and st.get("malformed") == "5" and st.get("fragments") == "2"
      and st.get("packets") == "23", "malformed: stats %s" % st)
after = [e for e in load("malformed", "events") if e["_path"] == "conn" and e["id.resp_p"] == 8080]
check(len(after) == 1 and after[0]["conn_state"] == "SF" and after[0]["orig_bytes"] == 5,
      "malformed: the connection after the damage %s" % after)

# a file cut short: exit 2, the packets before the cut still replayed
check(rc("cutshort") == 2, "cutshort: exit %d" % rc("cutshort"))
check(len(load("cutshort", "events")) >= 1, "cutshort: no events before the cut")

if bad:
    print("\n".join("FAIL: " + b for b in bad))
    sys.exit(1)
print("net_replay: all checks passed")
EOF
