#!/usr/bin/env bash
# tests/docs/deploy.sh – what the install instructions promise about the
# shipped files holds:
#  1. every `systemctl reload UNIT` in README.md and docs/ reaches a unit
#     with ExecReload= (without it systemd refuses: "Job type reload is not
#     applicable");
#  2. the compliance timer's report (and minisocctl report's default) reads
#     the archive where docs/archive.md puts it, inside what the collector's
#     unit lets it write;
#  3. README.md's "commented examples with every key": each key that
#     `minisoc-collector --help` / `minisoc-agent --help` lists is in
#     deploy/collector.example.yml / deploy/agent.example.yml (set or
#     commented);
#  4. every binary a unit runs is installed there by README.md or
#     docs/operations.md;
#  5. systemd-analyze verify finds nothing wrong in the units (where it
#     exists; only the binaries' absence is tolerated);
#  6. every metric the collector serves at /metrics is in the table of
#     docs/operations.md;
#  7. a step that sets Redis' requirepass in its config file is followed
#     by a restart of redis-server: Debian's package started Redis at
#     install, 'enable --now' leaves a running one as it is (no password),
#     and the daemons given redis.password_file are then refused for ever
#     ('AUTH called without any password configured');
#  8. the agent's run-time libraries that docs/operations.md lists for a
#     server are the Debian packages of every library the built
#     minisoc-agent links (ldd, dpkg -S; libc6 aside): the agent links
#     libevent_core and libevent_extra, and a server given only the
#     listed libevent-2.1-7 got "error while loading shared libraries:
#     libevent_extra-2.1.so.7" (found by booting the units under systemd).
#
#   bash tests/docs/deploy.sh REPO BUILD_DIR
set -uo pipefail
repo=${1:?usage: deploy.sh REPO BUILD_DIR}
build=${2:?usage: deploy.sh REPO BUILD_DIR}
units=$repo/deploy/systemd
docs=("$repo/README.md" "$repo"/docs/*.md)
export ASAN_OPTIONS=detect_leaks=0
rc=0
fail() { echo "FAIL: $*"; rc=1; }
unit_val() { sed -n "s/^$2=//p" "$units/$1" | tail -n1; }

# 1. systemctl reload
while read -r u; do
	[[ -f $units/$u.service ]] || { fail "docs reload $u, which has no unit"; continue; }
	[[ -n $(unit_val "$u.service" ExecReload) ]] ||
		fail "docs say 'systemctl reload $u', but $u.service has no ExecReload="
done < <(grep -ohE 'systemctl reload[[:space:]]+[a-z-]+' "${docs[@]}" | awk '{print $3}' | sort -u)

# 2. the report's archive
arch=$(sed -n 's/^  path: \([^ ]*\).*/\1/p' "$repo/docs/archive.md" | sed -n 1p)
rep=$(sed -n 's/.*--archive \([^ ]*\).*/\1/p' "$units/minisoc-report.service")
rw=$(unit_val minisoc-collector.service ReadWritePaths)
[[ -n $arch ]] || fail "no archive path found in docs/archive.md"
[[ $rep == "$arch" ]] ||
	fail "minisoc-report.service reads --archive $rep, docs/archive.md puts the archive in $arch"
def=$("$build/cli/minisocctl" report --help | tr -s ' \n' ' ' | sed -n 's/.*(default \(\/[^,)]*archive\)[,)].*/\1/p')
[[ $def == "$arch" ]] ||
	fail "minisocctl report's --archive defaults to '$def', docs/archive.md puts the archive in $arch"
[[ $arch == "$rw"/* ]] || fail "docs/archive.md's $arch is outside the collector's ReadWritePaths=$rw"

# 3. example files with every key
for p in collector:collector/minisoc-collector agent:agent/minisoc-agent; do
	name=${p%%:*} bin=$build/${p#*:}
	ex=$repo/deploy/$name.example.yml
	mapfile -t keys < <("$bin" --help | sed -n 's/^  \([a-z_][a-z_]*\(\.[a-z_0-9]*\)*\)  .*/\1/p')
	((${#keys[@]} > 20)) || { fail "$bin --help lists only ${#keys[@]} keys"; continue; }
	missing=$(python3 - "$ex" "${keys[@]}" <<'PY'
import re, sys
# The key paths of the file, set or commented ("#   key: value"), by indentation.
paths, stack = set(), []
for raw in open(sys.argv[1]):
    s = raw.rstrip("\n")
    if s.lstrip().startswith("#"):
        i = s.index("#")
        if i == 0:
            s = s[1:]
            s = s[1:] if s.startswith(" ") else s
        else:
            s = " " * i + s[i + 1:].lstrip()
    m = re.match(r"^( *)(- )?([a-z_][a-z0-9_]*):(\s|$)", s)
    if not m or m.group(2):
        continue
    ind = len(m.group(1))
    while stack and stack[-1][0] >= ind:
        stack.pop()
    stack.append((ind, m.group(3)))
    paths.add(".".join(k for _, k in stack))
print(" ".join(k for k in sys.argv[2:] if k not in paths))
PY
)
	[[ -z $missing ]] || fail "deploy/$name.example.yml lacks keys of --help: $missing"
done

# 4. installed where the units run them
for u in "$units"/*.service; do
	for b in $(grep -hoE '^Exec[A-Za-z]*=[^ ]+' "$u" | cut -d= -f2 | sort -u); do
		# the system's own tools
		[[ $b == /bin/kill || $b == /bin/systemctl ]] && continue
		grep -qE "install .*build/[a-z/]*/$(basename "$b") $(dirname "$b")/?( |\$)" "${docs[@]}" ||
			fail "$(basename "$u") runs $b; README.md and docs/ never install it there"
	done
done

# 6. every metric of /metrics is in docs/operations.md's table
for m in $(grep -ohE '"minisoc_[a-z0-9_]+' "$repo"/collector/*.c | tr -d '"' | sort -u); do
	[[ $m == *_sum || $m == *_count || $m == *_bucket ]] && continue
	grep -qE "(^|[^a-z0-9_])$m([^a-z0-9_]|\$)" "$repo/docs/operations.md" ||
		fail "metric $m is served at /metrics but not in docs/operations.md"
done

# 7. requirepass in redis.conf, then Redis restarted
for f in "${docs[@]}"; do
	awk -v f="$(basename "$f")" '
		/requirepass.*\/etc\/redis\/redis\.conf/ { set = NR; next }
		set && /systemctl .*redis-server/ {
			if ($0 !~ /restart/)
				printf "%s:%d sets requirepass in redis.conf, then line %d starts redis-server without a restart (a running Redis keeps no password)\n", f, set, NR
			set = 0
		}
		END { if (set) printf "%s:%d sets requirepass in redis.conf and never restarts redis-server\n", f, set }
	' "$f" | while read -r l; do echo "FAIL: $l"; done | grep . && rc=1
done

# 8. the agent's run-time libraries (where ldd and dpkg can tell)
agent=$build/agent/minisoc-agent
if [[ -x $agent ]] && command -v ldd >/dev/null && command -v dpkg >/dev/null; then
	listed=$(sed -n '/^Run-time libraries on the server:/,/^$/p' "$repo/docs/operations.md" |
		tr '\n' ' ')
	[[ -n $listed ]] || fail "docs/operations.md: no 'Run-time libraries on the server:' paragraph"
	for lib in $(ldd "$agent" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		pkg=$({ dpkg -S "$lib" || dpkg -S "$(readlink -f "$lib")"; } 2>/dev/null | sed -n '1s/:.*//p')
		# libc6 is on every system; the rest come with a sanitizer build only
		case $pkg in '' | libc6 | libasan* | libubsan* | libgcc-s1 | libstdc++6) continue ;; esac
		[[ " $listed " =~ [\ \`]$pkg[\ \`] ]] ||
			fail "minisoc-agent links $(basename "$lib") ($pkg), not in docs/operations.md's run-time libraries"
	done
fi

# 5. systemd-analyze verify
if command -v systemd-analyze >/dev/null; then
	out=$(cd "$units" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1 |
		grep -v 'is not executable: No such file or directory')
	[[ -z $out ]] || fail "systemd-analyze verify: $out"
fi
((rc == 0)) && echo "deploy: units, examples and install steps agree with the docs"
exit $rc
