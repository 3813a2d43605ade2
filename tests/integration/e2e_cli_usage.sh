#!/usr/bin/env bash
# The command line as an operator who never saw minisoc meets it: --help
# answers with status 0 on stdout, a mistake (an unknown command or option,
# a missing or extra argument) is status 1 with one line saying what was
# wrong, and each program's exit statuses are the ones its help lists.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_cli_usage.sh BUILD_DIR}"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run WANT_RC PROGRAM ARGS...: stdout in OUT, stderr in ERR.
run() {
	local want=$1 rc=0
	shift
	"$@" >"$IT_WORK/out" 2>"$IT_WORK/err" || rc=$?
	OUT=$(cat "$IT_WORK/out")
	ERR=$(cat "$IT_WORK/err")
	[[ $rc == "$want" ]] || it_fail "$*: exit $rc, want $want (stdout: ${OUT:0:300}; stderr: ${ERR:0:300})"
}
# says TEXT WHERE DESCRIPTION
says() { [[ $2 == *"$1"* ]] || it_fail "$3: no \"$1\" in: ${2:0:400}"; }

# minisocctl rules: its help is an answer, not a usage error; both commands listed.
for h in --help -h; do
	run 0 "$IT_CLI" rules "$h"
	says "rules check" "$OUT" "rules $h"
	says "rules test" "$OUT" "rules $h"
	says "--placeholders" "$OUT" "rules $h"
done
run 0 "$IT_CLI" rules check --help
says "Exit status" "$OUT" "rules check --help"
run 1 "$IT_CLI" rules
run 1 "$IT_CLI" rules chek
says 'unknown command "chek"' "$ERR" "rules chek"
# rules test: an option is not a folder to look for.
run 1 "$IT_CLI" rules test --verbose
says 'unknown option "--verbose"' "$ERR" "rules test --verbose"
run 1 "$IT_CLI" rules test "$IT_ROOT/rules" "$IT_ROOT/rules/tests" extra
says '"extra"' "$ERR" "rules test with three folders"
run 2 "$IT_CLI" rules test "$IT_WORK/none"
run 2 "$IT_CLI" rules check "$IT_WORK/none"

# A known section given a value ("redis: 6379", "tls: [...]") is named as a
# section, not called an unknown key; an unknown key or a wrong type is named.
printf 'redis: 6379\n' >"$IT_WORK/section.yml"
printf 'tls:\n  - ca.crt\n' >"$IT_WORK/tls_list.yml"
printf 'redis:\n  prot: 6379\n' >"$IT_WORK/unknown.yml"
printf 'redis:\n  port: six\n' >"$IT_WORK/type.yml"
for d in "$IT_COLLECTOR" "$IT_BUILD/collector/web/minisoc-web" "$IT_BUILD/collector/minisoc-forward"; do
	run 1 "$d" -t -c "$IT_WORK/section.yml"
	says "redis is a section" "$ERR" "$(basename "$d") with 'redis: 6379'"
	run 1 "$d" -t -c "$IT_WORK/unknown.yml"
	says 'line 2: unknown key "redis.prot"' "$ERR" "$(basename "$d"): an unknown key"
	run 1 "$d" -t -c "$IT_WORK/type.yml"
	says 'line 2: redis.port: expected an integer' "$ERR" "$(basename "$d"): a wrong type"
	run 1 "$d" -t -c "$IT_WORK/none.yml"
	says "none.yml: No such file or directory" "$ERR" "$(basename "$d"): a missing config"
done
run 1 "$IT_AGENT" -t -c "$IT_WORK/tls_list.yml"
says "tls is a section" "$ERR" "minisoc-agent with a list for tls"

# Ages: alerts --since took "30m" only and search --from "-30m" only, each
# refusing the other's form; both take both. (Redis on a closed port: the
# time is read before connecting.)
NOPORT=$(it_free_port)
for age in 30m -30m 2h -7d; do
	run 2 "$IT_CLI" alerts -r "127.0.0.1:$NOPORT" --since "$age"
	says "cannot connect to Redis" "$ERR" "alerts --since $age"
done
run 1 "$IT_CLI" alerts -r "127.0.0.1:$NOPORT" --since 30x
says '"30x" is neither' "$ERR" "alerts --since 30x"
mkdir -p "$IT_WORK/archive"
for age in 30m -30m 2h -7d; do
	run 1 "$IT_CLI" search -A "$IT_WORK/archive" --from "$age"
	says "0 of 0 events matched" "$ERR" "search --from $age"
done
for bad in 30x -30 30 - -m 2026-02-30; do
	run 2 "$IT_CLI" search -A "$IT_WORK/archive" --from "$bad"
	says "bad time $bad" "$ERR" "search --from $bad"
done

# minisocctl pki: a mistake is said in one line before the usage.
run 1 "$IT_CLI" pki tokn
says 'unknown command "tokn"' "$ERR" "pki tokn"
run 1 "$IT_CLI" pki init
says "pki init: an argument is missing" "$ERR" "pki init without DIR"
run 1 "$IT_CLI" pki init "$IT_WORK/a" "$IT_WORK/b"
says "pki init: too many arguments" "$ERR" "pki init with two folders"
run 1 "$IT_CLI" pki list extra
says "pki list: too many arguments" "$ERR" "pki list extra"
run 1 "$IT_CLI" pki revoke
says "pki revoke: an argument is missing" "$ERR" "pki revoke without ID"

# Errors name the command they come from, and say why.
run 1 "$IT_CLI" alerts --bogus
says "minisocctl alerts: unrecognized option '--bogus'" "$ERR" "alerts --bogus"
run 2 "$IT_CLI" search --bogus
says "minisocctl search: unrecognized option '--bogus'" "$ERR" "search --bogus"
run 1 "$IT_CLI" report --register "$IT_WORK/none.yml" --format csv
says "minisocctl report: $IT_WORK/none.yml" "$ERR" "report with a missing register"
mkdir -p "$IT_WORK/conf.d"
run 1 "$IT_COLLECTOR" -c "$IT_WORK/conf.d" -t
says "conf.d: Is a directory" "$ERR" "a folder given as the config"
# A title too long is refused, not cut (inside a character of Vietnamese).
long=$(printf 'Sự cố %.0s' $(seq 1 100))
run 1 "$IT_CLI" incident new --title "$long" --severity low
says "--title is longer than" "$ERR" "incident new with a 900-byte title"

# rules test takes --placeholders as rules check does: a rule with |expand
# is tested with the site's values (without them it cannot load).
mkdir -p "$IT_WORK/ph/tests"
cat >"$IT_WORK/ph/admin_login.yml" <<'YML'
title: Admin SSH login
name: admin_login
logsource: {product: linux, service: sshd}
detection:
  sel:
    outcome: success
    user|expand: '%admins%'
  condition: sel
level: medium
YML
cat >"$IT_WORK/ph/tests/admin_login.yml" <<'YML'
rule: admin_login
cases:
  - name: an admin logs in
    input: |
      Nov 25 10:00:00 web1 sshd[1]: Accepted password for ops1 from 192.0.2.1 port 1 ssh2
    expect:
      - severity: medium
  - name: another user
    input: |
      Nov 25 10:00:00 web1 sshd[1]: Accepted password for alice from 192.0.2.1 port 1 ssh2
    expect: []
YML
printf 'admins:\n  - ops1\n  - ops2\n' >"$IT_WORK/ph.yml"
run 0 "$IT_CLI" rules test --placeholders "$IT_WORK/ph.yml" "$IT_WORK/ph"
says "2 passed, 0 failed" "$OUT" "rules test --placeholders"
run 1 "$IT_CLI" rules test "$IT_WORK/ph"

# Every program says its version to -V and --version, as its help lists them.
for p in "$IT_CLI" "$IT_COLLECTOR" "$IT_AGENT" "$IT_BUILD/collector/web/minisoc-web" \
	"$IT_BUILD/collector/minisoc-forward"; do
	for v in -V --version; do
		run 0 "$p" "$v"
		[[ $OUT =~ ^$(basename "$p")\ [0-9]+\.[0-9]+ ]] || it_fail "$(basename "$p") $v: '$OUT'"
	done
done
it_log "PASS"
