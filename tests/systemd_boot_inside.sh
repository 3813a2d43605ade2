#!/bin/bash
# tests/systemd_boot_inside.sh – run by tests/systemd_boot.sh inside the
# booted container (systemd is PID 1): installs minisoc as README.md and
# docs/operations.md say, from /root/src (deploy/, rules/, build/ with the
# five binaries), then checks each unit. One "ok:" or "FAIL:" line a check;
# exits 1 when one failed.
set -uo pipefail
SRC=/root/src
rc=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; rc=1; }
step() { echo "== $*"; }
# wait_for SECONDS WHAT CMD...: CMD until it succeeds, 0.2 s apart.
wait_for() {
	local t=$1 what=$2 i
	shift 2
	for ((i = 0; i < t * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	fail "$what (not within ${t}s)"
	return 1
}
as_minisoc() { setpriv --reuid=minisoc --regid=minisoc --init-groups -- "$@"; }
R() { redis-cli --no-auth-warning "$@"; }
mainpid() { systemctl show -p MainPID --value "$1"; }
journal_has() { [[ $(journalctl -u "$1" --no-pager -o cat 2>/dev/null) == *"$2"* ]]; }
active() { [[ $(systemctl is-active "$1") == active ]]; }

step "install (README.md 'Installing with systemd', docs/operations.md)"
# A step that fails ends the run: nothing after it would mean anything.
trap 'echo "FAIL: install step failed: $BASH_COMMAND"' ERR
set -e
cd "$SRC"
install -m 0755 build/minisoc-collector build/minisoc-web build/minisoc-forward \
	build/minisoc-agent /usr/sbin/
install -m 0755 build/minisocctl /usr/bin/
install -d -m 0755 /etc/minisoc/rules /usr/local/share/minisoc
cp -r rules/linux rules/web rules/network /etc/minisoc/rules/
cp -r rules/compliance /usr/local/share/minisoc/
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin minisoc
install -d -m 0755 /etc/minisoc
install -m 0640 -o root -g minisoc /dev/null /etc/minisoc/redis.password
openssl rand -hex 32 >/etc/minisoc/redis.password
echo "requirepass $(cat /etc/minisoc/redis.password)" >>/etc/redis/redis.conf
printf 'REDISCLI_AUTH=%s\n' "$(cat /etc/minisoc/redis.password)" |
	install -m 0640 -o root -g minisoc /dev/stdin /etc/minisoc/redis.env
systemctl restart redis-server
set -a; . /etc/minisoc/redis.env; set +a
minisocctl pki init /etc/minisoc/pki >/dev/null
minisocctl pki collector /etc/minisoc/pki --name collector.minisoc.local --dns localhost \
	--ip 127.0.0.1 >/dev/null
chgrp minisoc /etc/minisoc/pki/{collector,enroll-ca}.key
chmod 0640 /etc/minisoc/pki/{collector,enroll-ca}.key
# collector.yml: the example, with the CRL, Redis' password, enrolment,
# rules, archive, register and metrics switched on
c=/etc/minisoc/collector.yml
install -m 0644 deploy/collector.example.yml $c
sed -i -e 's|^  # crl: /etc/minisoc/pki/crl.pem.*|  crl: /etc/minisoc/pki/crl.pem|' \
	-e 's|^  # password_file: /etc/minisoc/redis.password|  password_file: /etc/minisoc/redis.password|' $c
cat >>$c <<'EOF'
enroll:
  port: 6515
  address: 127.0.0.1
  ca_cert: /etc/minisoc/pki/enroll-ca.crt
  ca_key: /etc/minisoc/pki/enroll-ca.key
rules:
  path: /etc/minisoc/rules
archive:
  path: /var/lib/minisoc-collector/archive
  profiles: /usr/local/share/minisoc/compliance
register:
  path: /etc/minisoc/register.yml
metrics:
  address: 127.0.0.1
  port: 9514
EOF
install -m 0644 deploy/examples/register.yml /etc/minisoc/register.yml
as_minisoc minisoc-collector --check -c $c >/dev/null
install -m 0644 deploy/systemd/*.service deploy/systemd/*.timer /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now redis-server minisoc-collector
set +e
trap - ERR
set -a; . /etc/minisoc/redis.env; set +a
wait_for 20 "minisoc-collector listening" journal_has minisoc-collector "event=listening" || exit 1

# agent.yml with its TLS files under the state folder, made by enroll
agent_conf() { # FILE STATE_DIR
	install -m 0640 -g minisoc "$SRC/deploy/agent.example.yml" "$1"
	sed -i -e "s|^  state_dir: /var/lib/minisoc-agent|  state_dir: $2|" \
		-e "s|^  ca: /etc/minisoc/pki/ca.crt|  ca: $2/tls/ca.crt|" \
		-e "s|^  cert: /etc/minisoc/pki/agent.crt|  cert: $2/tls/agent.crt|" \
		-e "s|^  key: /etc/minisoc/pki/agent.key|  key: $2/tls/agent.key|" "$1"
}
enroll() { # ID CONFIG
	local tok
	tok=$(minisocctl pki token --agent "$1" --system SYS-001 2>/dev/null) &&
		minisoc-agent enroll -c "$2" --collector 127.0.0.1:6515 --owner minisoc --token "$tok" >/dev/null
}
step "agent"
install -m 0640 -o root -g adm /dev/null /var/log/auth.log
agent_conf /etc/minisoc/agent.yml /var/lib/minisoc-agent
if enroll web1 /etc/minisoc/agent.yml && as_minisoc minisoc-agent --check -c /etc/minisoc/agent.yml >/dev/null &&
	systemctl enable --now minisoc-agent; then
	ok "minisoc-agent enrolled (token, enrolment port) and started"
else
	fail "minisoc-agent: enrol, --check or start"
fi
step "capture agent (lo)"
f=/etc/minisoc/agent-capture.yml
agent_conf $f /var/lib/minisoc-agent-capture
python3 - $f <<'EOF'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'(?ms)^files:\n(  .*?\n)+', '', s)
# scan_window_s: the scan summary (net_port_scan) comes at the window's end
open(p, 'w').write(s + 'capture:\n  interface: lo\n  filter: "not port 6514 and not port 6379"\n'
                   '  scan_window_s: 5\n')
EOF
if enroll web1-net $f && as_minisoc minisoc-agent --check -c $f >/dev/null &&
	systemctl enable --now minisoc-agent-capture; then
	ok "minisoc-agent-capture enrolled and started"
else
	fail "minisoc-agent-capture: enrol, --check or start"
fi
step "dashboard"
install -m 0644 $SRC/deploy/web.example.yml /etc/minisoc/web.yml
sed -i 's|^  # password_file: /etc/minisoc/redis.password|  password_file: /etc/minisoc/redis.password|' /etc/minisoc/web.yml
install -m 0640 -g minisoc /dev/null /etc/minisoc/web.token
openssl rand -hex 32 >/etc/minisoc/web.token
systemctl enable --now minisoc-web || fail "minisoc-web did not start"
step "forwarder (a stand-in center on 127.0.0.1:16514)"
fd=/etc/minisoc/forward
bash $SRC/deploy/pki.sh $fd soc >/dev/null 2>&1
cp $fd/ca.crt $fd/center-ca.crt
cp $fd/agent-soc.crt $fd/soc.crt
install -m 0640 -g minisoc $fd/agent-soc.key $fd/soc.key
cat >/root/center.py <<'EOF'
import socket, ssl, sys, threading
d = '/etc/minisoc/forward/'
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + 'collector.crt', d + 'collector.key')
ctx.load_verify_locations(d + 'ca.crt')
ctx.verify_mode = ssl.CERT_REQUIRED
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 16514))
s.listen(8)
def serve(c):
    with open(sys.argv[1], 'ab', buffering=0) as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)
while True:
    c, _ = s.accept()
    try:
        threading.Thread(target=serve, args=(ctx.wrap_socket(c, server_side=True),), daemon=True).start()
    except (ssl.SSLError, OSError) as e:
        print('handshake failed:', e, flush=True)
EOF
: >/root/center.log
systemd-run --quiet --unit=center python3 /root/center.py /root/center.log
install -m 0640 -o root -g minisoc $SRC/deploy/forward.example.yml /etc/minisoc/forward.yml
sed -i -e 's|^  host: siem.national-center.example.vn|  host: 127.0.0.1\n  server_name: collector.minisoc.local|' \
	-e 's|^  port: 6514|  port: 16514|' \
	-e 's|^  # password_file: /etc/minisoc/redis.password|  password_file: /etc/minisoc/redis.password|' \
	/etc/minisoc/forward.yml
center_up() { [[ $(ss -Hltn 'sport = :16514') == *LISTEN* ]]; }
wait_for 10 "the stand-in center listening" center_up
systemctl enable --now minisoc-forward || fail "minisoc-forward did not start"
step "timers"
systemctl enable --now minisoc-report.timer minisoc-crl.timer || fail "timers not enabled"

step "every daemon up"
for u in minisoc-collector minisoc-agent minisoc-agent-capture minisoc-web minisoc-forward; do
	wait_for 10 "$u active" active "$u" && ok "$u active"
done
wait_for 10 "minisoc-agent connected" journal_has minisoc-agent "event=connected"
wait_for 10 "minisoc-agent-capture connected" journal_has minisoc-agent-capture "event=connected"
wait_for 10 "minisoc-forward connected to the center" journal_has minisoc-forward "event=upstream_connected"
wait_for 10 "minisoc-forward reading the stream" journal_has minisoc-forward "event=redis_ready"

step "sshd brute force in /var/log/auth.log -> alerts in Redis"
h=$(hostname)
for i in $(seq 1 12); do
	printf '%s %s sshd[%d]: Failed password for invalid user admin%d from 203.0.113.77 port %d ssh2\n' \
		"$(date '+%b %e %H:%M:%S')" "$h" $((4000 + i)) "$i" $((50000 + i)) >>/var/log/auth.log
done
alerted() { [[ $(R XRANGE minisoc:alerts - +) == *'"ssh_bruteforce"'*203.0.113.77* ]]; }
wait_for 20 "an ssh_bruteforce alert for 203.0.113.77 in minisoc:alerts" alerted &&
	ok "brute force alerted: $(R XLEN minisoc:alerts) alerts in the stream"
forwarded() { [[ $(cat /root/center.log) == *'"ssh_bruteforce"'* ]]; }
wait_for 20 "the high alert at the stand-in center" forwarded && ok "minisoc-forward delivered it to the center"

step "scan on lo -> network alert from the capture agent"
python3 - <<'EOF'
import socket
for p in range(20000, 20150):
    s = socket.socket()
    s.settimeout(0.05)
    try:
        s.connect(('127.0.0.1', p))
    except OSError:
        pass
    s.close()
EOF
scanned() { [[ $(R XRANGE minisoc:alerts - +) == *net_port_scan*web1-net* ]]; }
wait_for 40 "a net_port_scan alert from web1-net" scanned && ok "capture agent: port scan alerted"

step "dashboard"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat /etc/minisoc/web.token)" \
	http://127.0.0.1:8514/api/alerts)
[[ $code == 200 ]] && ok "minisoc-web /api/alerts: 200" || fail "minisoc-web /api/alerts: $code"

step "health reports under the agents' units"
for a in web1 web1-net; do
	has_health() { [[ -n $(R HGET "minisoc:agent:$1:health" boot_id) ]]; }
	wait_for 20 "$a: a health report" has_health $a || continue
	for k in clock.esterror_us uptime_s boot_id; do
		[[ -n $(R HGET "minisoc:agent:$a:health" $k) ]] && ok "$a health $k=$(R HGET "minisoc:agent:$a:health" $k)" ||
			fail "$a: health field $k missing (a system call its unit refuses?)"
	done
done

step "systemctl reload minisoc-collector"
p=$(mainpid minisoc-collector)
n=$(journalctl -u minisoc-collector -o cat | grep -c 'event=reload result=ok')
systemctl reload minisoc-collector || fail "systemctl reload minisoc-collector"
reloaded() { (($(journalctl -u minisoc-collector -o cat | grep -c 'event=reload result=ok') > n)); }
wait_for 10 "event=reload result=ok after systemctl reload" reloaded &&
	[[ $(mainpid minisoc-collector) == "$p" ]] && ok "collector reloaded in place (pid $p)"

step "minisoc-crl.service (ExecStartPost reloads the collector)"
before=$(md5sum </etc/minisoc/pki/crl.pem)
n=$(journalctl -u minisoc-collector -o cat | grep -c 'event=tls_reload result=ok')
if systemctl start minisoc-crl.service; then
	[[ $(md5sum </etc/minisoc/pki/crl.pem) != "$before" ]] && ok "crl.pem signed again" || fail "crl.pem unchanged"
	tls_reloaded() { (($(journalctl -u minisoc-collector -o cat | grep -c 'event=tls_reload result=ok') > n)); }
	wait_for 10 "the collector reloaded by ExecStartPost" tls_reloaded && ok "ExecStartPost reloaded the collector"
	[[ $(mainpid minisoc-collector) == "$p" ]] || fail "the collector was restarted, not reloaded"
else
	fail "minisoc-crl.service failed: $(journalctl -u minisoc-crl -o cat | tail -n 5)"
fi

step "minisoc-report.service"
if systemctl start minisoc-report.service && journal_has minisoc-report "published"; then
	ok "report: $(journalctl -u minisoc-report -o cat | grep published | tail -n1)"
else
	fail "minisoc-report.service: $(journalctl -u minisoc-report -o cat | tail -n 5)"
fi
for t in minisoc-report.timer minisoc-crl.timer; do
	next=$(systemctl show -p NextElapseUSecRealtime --value $t)
	active $t && [[ -n $next && $next != 0 ]] && ok "$t active, next $next" || fail "$t not scheduled"
done

step "Restart=on-failure and ExecStartPre --check"
kill -9 "$(mainpid minisoc-collector)"
restarted() { active minisoc-collector && [[ $(mainpid minisoc-collector) != "$p" && $(mainpid minisoc-collector) != 0 ]]; }
wait_for 15 "the killed collector restarted" restarted && ok "killed collector restarted"
cp /etc/minisoc/collector.yml /root/collector.yml.good
echo "no_such_key: 1" >>/etc/minisoc/collector.yml
if systemctl restart minisoc-collector 2>/dev/null; then
	fail "a broken collector.yml was not refused"
else
	ok "a broken collector.yml refused by ExecStartPre"
fi
cp /root/collector.yml.good /etc/minisoc/collector.yml
systemctl reset-failed minisoc-collector
systemctl restart minisoc-collector || fail "the collector did not come back"

step "PCRE2 JIT under MemoryDenyWriteExecute=yes"
wait_for 10 "collector back" journal_has minisoc-collector "event=listening"
p=$(mainpid minisoc-collector)
x=$(awk '$2 ~ /x/ && $6 == ""' /proc/$p/maps | wc -l)
jit=$(journalctl -u minisoc-collector -o cat | grep 'event=start ' | tail -n1 | grep -o 'pcre2_jit=[a-z]*')
# docs/operations.md: the unit refuses executable memory, the interpreter runs
if [[ $jit == pcre2_jit=off && $x == 0 ]]; then
	ok "collector: $jit, no anonymous executable mapping (PCRE2's interpreter)"
else
	fail "collector: start line says '${jit:-nothing}', $x anonymous executable mappings; want pcre2_jit=off, 0"
fi

step "journal: errors, refused calls, restarts"
for u in minisoc-collector minisoc-agent minisoc-agent-capture minisoc-web minisoc-forward \
	minisoc-crl minisoc-report; do
	bad=$(journalctl -u $u -o cat | grep -E 'level=error|Operation not permitted|status=31/SYS|Bad system call' |
		grep -v no_such_key)
	[[ -z $bad ]] && ok "$u: no error in the journal" || fail "$u: $bad"
done
for u in minisoc-agent minisoc-agent-capture minisoc-web minisoc-forward; do
	n=$(systemctl show -p NRestarts --value $u)
	[[ $n == 0 ]] && ok "$u: never restarted" || fail "$u restarted $n times"
done

step "systemd-analyze verify"
out=$(cd /etc/systemd/system && systemd-analyze verify minisoc-*.service minisoc-*.timer 2>&1)
[[ -z $out ]] && ok "systemd-analyze verify: clean" || fail "systemd-analyze verify: $out"

failed=$(systemctl --failed --plain --no-legend)
[[ -z $failed ]] || fail "failed units: $failed"
exit $rc
