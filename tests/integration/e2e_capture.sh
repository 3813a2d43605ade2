#!/usr/bin/env bash
# Packet capture end to end: the real agent turns packets into network
# events, ships them through its spool over mutual TLS, the collector's
# rules (rules/) raise alerts in Redis.
#
#  1. capture.file: a pcap written now by tests/net/pcapgen.py (a SYN scan of
#     1000 ports, 11 SSH sessions, DNS, browsing) gives exactly one port-scan
#     and one SSH-guessing alert; the health report counts every packet and
#     event, no drops.
#  2. capture.interface, live, inside a network namespace this test creates
#     (everything – Redis, collector, agent – runs in it): connection attempts
#     from 127.0.0.3 to 150 closed ports of 127.0.0.2 on its loopback give a
#     port-scan alert; the uplink's own traffic is filtered out by BPF.
#  3. the agent, started as root with agent.user: nobody, keeps CAP_NET_RAW
#     and nothing else; the captured interface (a veth pair in the
#     namespace) is deleted: the capture is reported failed in the health
#     report and reopened, by the unprivileged agent, once it is back.
# Parts 2 and 3 need `ip netns` (root); without it they are skipped and
# part 1 still runs.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
BUILD=${1:?usage: e2e_capture.sh BUILD_DIR}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/../.." && pwd)

# Parts 2 and 3 run this script again inside a fresh namespace.
if [[ ${MINISOC_CAPTURE_NS:-} == "" && $(id -u) == 0 ]] && ip netns add "mscap$$" 2>/dev/null; then
	NS=mscap$$
	ip netns exec "$NS" ip link set lo up
	set +e
	MINISOC_CAPTURE_NS=$NS ip netns exec "$NS" bash "${BASH_SOURCE[0]}" "$BUILD"
	rc=$?
	set -e
	ip netns del "$NS"
	exit $rc
fi

it_init "$BUILD"
it_pki "$IT_WORK/pki" sensor1 sensor2 sensor3
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$IT_WORK/pki" "$CPORT"
cat >>"$IT_WORK/collector.yml" <<YML
rules:
  path: $ROOT/rules
YML
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

alerts_of() { # alerts_of RULE_NAME SRC_IP: how many in Redis
	it_redis_raw XRANGE minisoc:alerts - + | grep "\"name\":\"$1\"" | grep -c "\"source\":{\"ip\":\"$2\"}" || true
}
has_alerts() { (($(alerts_of "$1" "$2") >= $3)); }
hget() { it_redis_raw HGET "minisoc:agent:$1:health" "$2"; }
field_is() { [[ $(hget "$1" "$2") == "$3" ]]; }
field_ge() { local v; v=$(hget "$1" "$2"); [[ -n $v ]] && ((v >= $3)); }
capture_agent_conf() { # FILE NAME: an agent with no files, capture keys appended by the caller
	it_agent_conf "$1" "$IT_WORK/pki" "$2" "$CPORT" "$IT_WORK/state-$2" end
	sed -i -e '/^files:$/d' -e 's/^uplink:$/uplink:\n  health_ms: 300/' "$1"
}

# --- 1. a pcap file --------------------------------------------------------
PCAP=$IT_WORK/mixed.pcap
python3 "$ROOT/tests/net/pcapgen.py" mixed "$PCAP"
NPKT=$(python3 -c "
import struct,sys
d=open(sys.argv[1],'rb').read(); o=24; n=0
while o<len(d):
    n+=1; o+=16+struct.unpack('<I',d[o+8:o+12])[0]
print(n)" "$PCAP")
capture_agent_conf "$IT_WORK/agent1.yml" sensor1
cat >>"$IT_WORK/agent1.yml" <<YML
capture:
  file: $PCAP
YML
"$IT_AGENT" --check -c "$IT_WORK/agent1.yml" >/dev/null || it_fail "--check refused the capture config"
sed 's/^capture:$/capture:\n  filter: "tcp port nonsense"/' "$IT_WORK/agent1.yml" >"$IT_WORK/bad.yml"
"$IT_AGENT" --check -c "$IT_WORK/bad.yml" >"$IT_WORK/bad.out" 2>&1 && it_fail "--check accepted a bad BPF filter"
grep -q "capture.filter 'tcp port nonsense'" "$IT_WORK/bad.out" || it_fail "bad filter not explained: $(cat "$IT_WORK/bad.out")"
it_start agent1 "$IT_AGENT" -c "$IT_WORK/agent1.yml"
it_wait_for 20 "the whole file read" field_is sensor1 capture.packets "$NPKT"
it_wait_for 20 "port-scan alert" has_alerts net_port_scan 203.0.113.50 1
it_wait_for 20 "ssh-guessing alert" has_alerts net_ssh_guessing 203.0.113.60 1
# every event acknowledged: nothing more can come
events_done() { local e a; e=$(hget sensor1 capture.events); a=$(hget sensor1 count.events_acked);
	[[ -n $e && $e == "$a" && $(hget sensor1 capture.running) == 0 ]]; }
it_wait_for 20 "every event acknowledged" events_done
# docs/compliance.md: a sensor says capture.state=running while it captures
# (the report's sensor_alive check reads it); a finished file is not.
state=$(hget sensor1 capture.state)
[[ -n $state && $state != running ]] || it_fail "finished file: capture.state '$state'"
((($(alerts_of net_port_scan 203.0.113.50)) == 1)) || it_fail "port scan: $(alerts_of net_port_scan 203.0.113.50) alerts, want 1"
((($(alerts_of net_ssh_guessing 203.0.113.60)) == 1)) || it_fail "ssh guessing: want exactly 1 alert"
n_all=$(it_redis_raw XLEN minisoc:alerts)
((n_all == 2)) || it_fail "$n_all alerts, want exactly 2: $(it_redis_raw XRANGE minisoc:alerts - + | grep -o '"name":"[a-z_]*"' | sort | uniq -c)"
for k in capture.agent_drops capture.kernel_drops capture.decode_errors capture.pending; do
	[[ $(hget sensor1 "$k") == 0 ]] || it_fail "health $k=$(hget sensor1 "$k"), want 0"
done
[[ $(hget sensor1 capture.source) == "pcap:$PCAP" ]] || it_fail "capture.source $(hget sensor1 capture.source)"
it_log "file capture: $NPKT packets, $(hget sensor1 capture.events) events, 2 alerts"
# libpcap is loaded on demand (agent/net/net_libpcap.c): this agent has it.
maps=$(cat "/proc/$IT_PID_agent1/maps")
grep -q libpcap <<<"$maps" || it_fail "the capture agent has no libpcap mapped"
it_stop agent1

if [[ -z ${MINISOC_CAPTURE_NS:-} ]]; then
	it_stop collector
	it_log "PASS (live capture skipped: no network namespace, needs root)"
	exit 0
fi

# --- 2. live on the namespace's loopback ------------------------------------
capture_agent_conf "$IT_WORK/agent2.yml" sensor2
cat >>"$IT_WORK/agent2.yml" <<YML
capture:
  interface: lo
  filter: host 127.0.0.2 and host 127.0.0.3
  scan_window_s: 2
YML
it_start agent2 "$IT_AGENT" -c "$IT_WORK/agent2.yml"
it_wait_for 10 "capture open" it_log_has agent2 "event=capture_open source=pcap:lo"
it_wait_for 10 "first health report" field_is sensor2 capture.running 1
[[ $(hget sensor2 capture.state) == running ]] ||
	it_fail "live capture: capture.state '$(hget sensor2 capture.state)', want running (sensor_alive)"
python3 - <<'EOF'
import socket
# 150 connection attempts from 127.0.0.3 to closed ports of 127.0.0.2 (RST back)
for port in range(20000, 20150):
    s = socket.socket()
    s.bind(("127.0.0.3", 0))
    s.settimeout(1)
    try:
        s.connect(("127.0.0.2", port))
    except OSError:
        pass
    s.close()
EOF
it_wait_for 20 "live port-scan alert" has_alerts net_port_scan 127.0.0.3 1
it_wait_for 10 "packets counted" field_ge sensor2 capture.packets 300
[[ -n $(hget sensor2 capture.kernel_drops) && -n $(hget sensor2 capture.kernel_received) ]] ||
	it_fail "no kernel counters in the health report"
it_log "live capture: $(hget sensor2 capture.packets) packets, kernel_drops=$(hget sensor2 capture.kernel_drops)"
it_stop agent2

# --- 3. the interface goes away and comes back ------------------------------
ip link add mscap0 type veth peer name mscap1
ip link set mscap0 up
ip link set mscap1 up
capture_agent_conf "$IT_WORK/agent3.yml" sensor3
sed -i 's/^agent:$/agent:\n  user: nobody/' "$IT_WORK/agent3.yml"
chmod 755 "$IT_WORK"
cat >>"$IT_WORK/agent3.yml" <<YML
capture:
  interface: mscap0
  retry_ms: 200
YML
it_start agent3 "$IT_AGENT" -c "$IT_WORK/agent3.yml"
it_wait_for 10 "capture running" field_is sensor3 capture.running 1
it_log_has agent3 "event=privileges_dropped user=nobody" || it_fail "agent3 did not drop root"
it_log_has agent3 "event=capabilities_kept caps=cap_net_raw" || it_fail "CAP_NET_RAW not kept"
# nothing but CAP_NET_RAW (bit 13 = 0x2000) in the running agent
caps=$(awk '/^CapEff|^CapPrm/ {print $2}' "/proc/$IT_PID_agent3/status" | sort -u)
[[ $caps == 0000000000002000 ]] || it_fail "agent3 capabilities: $caps, want CAP_NET_RAW only"
ip link del mscap0
it_wait_for 10 "failure logged" it_log_has agent3 "event=capture_failed source=pcap:mscap0"
it_wait_for 10 "failure reported" field_is sensor3 capture.running 0
[[ $(hget sensor3 capture.state) != running ]] || it_fail "failed capture: capture.state running"
field_ge sensor3 capture.failures 1 || it_fail "capture.failures not counted"
ip link add mscap0 type veth peer name mscap1
ip link set mscap0 up
ip link set mscap1 up
it_wait_for 10 "capture reopened" it_log_has agent3 "event=capture_reopened source=pcap:mscap0"
it_wait_for 10 "running again" field_is sensor3 capture.running 1
field_ge sensor3 capture.reopens 1 || it_fail "capture.reopens not counted"
it_stop agent3
ip link del mscap0 2>/dev/null || true
it_stop collector
it_log "PASS"
