#!/usr/bin/env bash
# tests/docs/agent_events.sh – every event the agent logs is named in
# docs/operations.md, so a sysadmin who finds "event=NAME" in the journal
# finds what it means there. Fails listing the names that are missing.
#
#   bash tests/docs/agent_events.sh [REPO]
set -euo pipefail
repo=${1:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
doc=$repo/docs/operations.md
[[ -r $doc ]] || { echo "agent_events: $doc not readable" >&2; exit 1; }
# The names of the agent's log lines: each is the start of a format string.
mapfile -t names < <(grep -rhoE '"event=[a-z0-9_]+' "$repo/agent" | sed 's/^"event=//' | sort -u)
# A bound below which the search above has stopped finding them (a change of
# the logging calls), rather than a pass with nothing checked.
if ((${#names[@]} < 50)); then
	echo "agent_events: only ${#names[@]} event names found under $repo/agent" >&2
	exit 1
fi
missing=()
for n in "${names[@]}"; do
	grep -qE "(^|[^a-z0-9_])${n}([^a-z0-9_]|\$)" "$doc" || missing+=("$n")
done
if ((${#missing[@]} > 0)); then
	echo "agent_events: logged by the agent but not in docs/operations.md: ${missing[*]}" >&2
	exit 1
fi
echo "agent_events: all ${#names[@]} event names of the agent are in docs/operations.md"
