# shellcheck shell=bash
# systemd_filter.sh – sourced: what a unit's SystemCallFilter= lines let
# through, as systemd reads them (systemd.exec(5)): the first line decides
# the mode (an allow list, or with "~" a deny list), each later line adds
# to or takes from that set in order, an empty line starts again; groups
# (@system-service) are expanded with systemd-analyze syscall-filter, nested
# groups too. ProtectClock=yes is a filter of its own that denies @clock.
# Needs systemd-analyze: sc_available says whether it is there.

sc_available() {
	command -v systemd-analyze >/dev/null && systemd-analyze syscall-filter @clock >/dev/null 2>&1
}

# sc_expand ITEM: the system calls ITEM names, one a line (groups expanded).
sc_expand() {
	local w
	if [[ $1 != @* ]]; then
		printf '%s\n' "$1"
		return
	fi
	systemd-analyze syscall-filter "$1" 2>/dev/null | sed -n '2,$p' |
		sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | while read -r w; do
		[[ -n $w ]] && sc_expand "$w"
	done
}

# sc_matches CALL ITEM...: 0 when one of the ITEMs names CALL.
sc_matches() {
	local call=$1 it
	shift
	for it in "$@"; do
		[[ $'\n'$(sc_expand "$it")$'\n' == *$'\n'"$call"$'\n'* ]] && return 0
	done
	return 1
}

# sc_allowed UNIT_FILE CALL: 0 when the unit's filters let CALL through.
sc_allowed() {
	local unit=$1 call=$2 line mode="" ok=1 deny v
	local -a items
	v=$(sed -n 's/^ProtectClock=//p' "$unit" | tail -n1)
	if [[ $v == yes || $v == true ]] && sc_matches "$call" @clock; then
		return 1
	fi
	while IFS= read -r line; do
		if [[ -z $line ]]; then
			mode="" ok=1
			continue
		fi
		deny=0
		if [[ $line == "~"* ]]; then
			deny=1
			line=${line#\~}
		fi
		read -r -a items <<<"$line"
		if [[ -z $mode ]]; then
			# The first line: an allow list denies everything else.
			if ((deny)); then mode=deny ok=1; else mode=allow ok=0; fi
		fi
		if sc_matches "$call" "${items[@]}"; then
			if ((deny)); then ok=0; else ok=1; fi
		fi
	done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
	((ok))
}
