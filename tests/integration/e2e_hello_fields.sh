#!/usr/bin/env bash
# The hello's host name and version are said by the agent and go into the
# collector's log lines (event=hello ... host=... version=...) and an
# alert's host: an authenticated agent web1 saying its host name is
# "x agent=web2 version=9" wrote a hello line naming a second agent, web2,
# for whoever reads the log by key. Only host-name bytes are kept.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_hello_fields.sh BUILD_DIR}"

PKI=$IT_WORK/pki
it_pki "$PKI" web1
it_start_redis
CPORT=$(it_free_port)
it_collector_conf "$IT_WORK/collector.yml" "$PKI" "$CPORT"
it_start collector "$IT_COLLECTOR" -c "$IT_WORK/collector.yml"
it_wait_for 10 "collector listening" it_log_has collector "event=listening"

out=$(python3 "$IT_ROOT/tests/integration/tls_client.py" "$CPORT" "$PKI/ca.crt" \
	--cert "$PKI/agent-web1.crt" --key "$PKI/agent-web1.key" \
	--hello-host 'x agent=web2 version="9" peer=10.9.9.9')
[[ $out == accepted ]] || it_fail "the hello was not acknowledged: $out"
it_wait_for 5 "hello logged" it_log_has collector "event=hello .*agent=web1"
line=$(grep 'event=hello ' "$IT_WORK/logs/collector.log" | tail -n1)
it_log "$line"
n=$(grep -o ' agent=' <<<"$line" | wc -l)
((n == 1)) || it_fail "the hello line names $n agents: $line"
n=$(grep -o ' peer=' <<<"$line" | wc -l)
((n == 1)) || it_fail "the hello line has $n peers: $line"
[[ $(it_redis_raw HGET minisoc:agent:web1 hostname) =~ ^[A-Za-z0-9._?-]+$ ]] ||
	it_fail "host name stored as $(it_redis_raw HGET minisoc:agent:web1 hostname)"
it_stop collector
it_log "PASS"
