#!/usr/bin/env bash
# The collector says on its start line whether PCRE2's JIT runs:
# pcre2_jit=on in a plain process, pcre2_jit=off where executable memory is
# refused – its systemd unit's MemoryDenyWriteExecute=yes, stood in for here
# by the kernel's own switch (prctl PR_SET_MDWE, Linux 6.3). There the
# rules' regular expressions run in PCRE2's interpreter: the collector
# starts, loads a regex rule and listens all the same. Before, the JIT's
# failure was silent (found booting the units under systemd). The second
# half is skipped where the kernel has no PR_SET_MDWE.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_pcre2_jit.sh BUILD_DIR}"

it_pki "$IT_WORK/pki" web1
it_start_redis
mkdir -p "$IT_WORK/rules"
cat >"$IT_WORK/rules/re.yml" <<'Y'
title: A regex rule
id: 3b1d5c0e-0000-4000-8000-000000000001
status: test
logsource:
  product: linux
detection:
  sel:
    message|re: 'Failed password for .+ from \d+\.\d+\.\d+\.\d+'
  condition: sel
level: low
Y
started() { it_log_has "$1" "event=start .*pcre2_jit=(on|off)"; }
for run in plain mdwe; do
	port=$(it_free_port)
	it_collector_conf "$IT_WORK/$run.yml" "$IT_WORK/pki" "$port"
	printf 'rules:\n  path: %s\n' "$IT_WORK/rules" >>"$IT_WORK/$run.yml"
	if [[ $run == plain ]]; then
		it_start c-$run "$IT_COLLECTOR" -c "$IT_WORK/$run.yml"
	else
		# PR_SET_MDWE (65), PR_MDWE_REFUSE_EXEC_GAIN (1), then exec.
		if ! python3 -c 'import ctypes, sys; sys.exit(ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0)'; then
			it_log "SKIP: this kernel has no PR_SET_MDWE"
			break
		fi
		it_start c-$run python3 -c 'import ctypes, os, sys
if ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_MDWE) failed")
os.execv(sys.argv[1], sys.argv[1:])' "$IT_COLLECTOR" -c "$IT_WORK/$run.yml"
	fi
	it_wait_for 20 "$run: the start line" started c-$run
	it_wait_for 10 "$run: listening" it_log_has c-$run "event=listening"
	it_log_has c-$run "event=rules_loaded .* rules=1 " || it_fail "$run: the regex rule did not load"
	want=on
	[[ $run == mdwe ]] && want=off
	it_log_has c-$run "event=start .*pcre2_jit=$want" ||
		it_fail "$run: the start line does not say pcre2_jit=$want: $(grep 'event=start' "$IT_WORK/logs/c-$run.log")"
	it_log "$run: pcre2_jit=$want"
done
it_log "PASS: the collector says whether PCRE2's JIT runs, and runs without it"
