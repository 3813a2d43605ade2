#!/usr/bin/env bash
# tests/docs/collector_events.sh – every event minisoc-collector,
# minisoc-web and minisoc-forward log is in the table of section 9 of
# docs/operations.md, so an operator who finds "event=NAME" in the journal
# finds what it means there; those of the code they share with the agent
# (common/) are in one of its tables. Fails listing the names that are
# missing, per program, and any name put together at run time
# (event=%s...), which this search could not check.
#
#   bash tests/docs/collector_events.sh [REPO]
set -euo pipefail
repo=${1:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
doc=$repo/docs/operations.md
[[ -r $doc ]] || { echo "collector_events: $doc not readable" >&2; exit 1; }
# Section 9's table rows, and every table row of the file.
table=$(awk '/^## 9\. Log events/ { on = 1; next } /^## / { on = 0 } on && /^\| `/' "$doc")
rows=$(grep -E '^\| `' "$doc")
[[ -n $table ]] || { echo "collector_events: no section 9 table in $doc" >&2; exit 1; }
rc=0
# The names of log lines under the paths given: the start of a format
# string, or of one after a subsystem's word ("sigma event=eval_skipped").
names_of() { grep -rhoE --include='*.c' '"([a-z]+ )?event=[a-z0-9_%]+' "$@" |
	sed -E 's/^"([a-z]+ )?event=//' | sort -u; }
# check PROGRAM MIN PATH...: MIN is a bound below which the search has
# stopped finding the names (a change of the logging calls), rather than a
# pass with nothing checked.
check() {
	local prog=$1 min=$2 n missing=() dynamic=()
	shift 2
	mapfile -t names < <(names_of "$@")
	if ((${#names[@]} < min)); then
		echo "collector_events: only ${#names[@]} event names found for $prog" >&2
		rc=1
		return
	fi
	for n in "${names[@]}"; do
		if [[ $n == *%* ]]; then
			dynamic+=("$n")
		elif ! grep -qF "\`$n\`" <<<"$table"; then
			missing+=("$n")
		fi
	done
	if ((${#dynamic[@]} > 0)); then
		echo "collector_events: $prog builds event names at run time (event=${dynamic[*]}): write each out" >&2
		rc=1
	fi
	if ((${#missing[@]} > 0)); then
		echo "collector_events: logged by $prog but not in section 9 of docs/operations.md: ${missing[*]}" >&2
		rc=1
	fi
	echo "collector_events: $prog: ${#names[@]} event names"
}
c=$repo/collector
check minisoc-collector 80 "$c"/*.c "$c/decoders" "$c/sigma"
check minisoc-web 15 "$c/web" "$c/connlimit.c"
check minisoc-forward 20 "$c/forward"
# common/: linked by the agent too, so its names may be in the agent's table.
missing=()
mapfile -t names < <(names_of "$repo/common")
((${#names[@]} >= 5)) || { echo "collector_events: only ${#names[@]} event names in common/" >&2; rc=1; }
for n in "${names[@]}"; do
	[[ $n == *%* ]] && { echo "collector_events: common/ builds event=$n at run time" >&2; rc=1; continue; }
	grep -qF "\`$n\`" <<<"$rows" || missing+=("$n")
done
if ((${#missing[@]} > 0)); then
	echo "collector_events: logged by common/ but in no table of docs/operations.md: ${missing[*]}" >&2
	rc=1
fi
exit $rc
