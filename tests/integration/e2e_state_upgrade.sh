#!/usr/bin/env bash
# Upgrading over a state file of the old format (one text file, as agents
# before 2026-11-26 wrote it): the new agent reads its positions and
# reserved numbers and goes on where the old one stopped. Every line
# written before and after the upgrade arrives exactly once (positions
# lost would send the first run again from the file's start), numbering
# goes on at the old file's reservation, and the file is in the slot
# format afterwards. The spool is removed with the upgrade (agents before
# the spool had none), so the positions can come from the file alone.
# `minisoc-agent state` prints the text of the old format, which is how the
# old file is made here.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
it_init "${1:?usage: e2e_state_upgrade.sh BUILD_DIR}"
source "$(dirname -- "${BASH_SOURCE[0]}")/seqlib.sh"

N=3000
seq_setup "$IT_WORK/app/app.log"
seq_start_collector
seq_start_agent
it_wait_for 10 "agent hello" it_log_has collector "event=hello .*agent=web1"
seq_writer -n "$N" -r 5000 -R up1$$
seq_writer_wait
seq_verify up1$$ "$N" 60
it_stop agent

STATE=$IT_WORK/state/state
[[ $(head -c 8 "$STATE") == MSSTATE2 ]] || it_fail "the agent did not write the slot format"
old=$("$IT_AGENT" state -c "$IT_WORK/agent.yml") || it_fail "minisoc-agent state failed"
grep -q -E '^pos [0-9]+ [0-9]+ [1-9][0-9]* ' <<<"$old" || it_fail "no position saved: $old"
# What an agent of the old format left: the text alone, put in place by rename.
printf '%s\n' "$old" >"$STATE.old"
mv "$STATE.old" "$STATE"
[[ $(head -n 1 "$STATE") == "minisoc-agent-state 1" ]] || it_fail "not the old format"
# And no spool, as agents before the spool had (or one with nothing left):
# the positions must come from the state file alone.
rm -rf "$IT_WORK/state/spool"
reserved=$(awk '$1 == "seq_reserved" { print $2 }' <<<"$old")

# Lines written while no agent runs, then more once the new one is up.
seq_writer -n "$N" -r 5000 -R up2$$
seq_writer_wait
seq_start_agent
# (the collector's log holds the first agent's hello: the second one counted)
hellos() { (($(grep -c 'event=hello .*agent=web1' "$IT_WORK/logs/collector.log" || true) >= 2)); }
it_wait_for 10 "agent hello again" hellos
seq_verify up2$$ "$N" 60
# The first run once only: the new agent did not read the file from its start.
seq_verify up1$$ "$N" 10
# Numbering goes on from the old file's reservation, or from the clock above it.
first=$(grep -o 'event=start .* first_seq=[0-9]*' "$IT_WORK/logs/agent.log" | tail -n1 | sed 's/.*first_seq=//')
[[ -n $first ]] && ((first >= reserved)) ||
	it_fail "first_seq $first is below the old file's seq_reserved $reserved"
it_stop agent
[[ $(head -c 8 "$STATE") == MSSTATE2 ]] || it_fail "the old file was not rewritten in the slot format"
new=$("$IT_AGENT" state -c "$IT_WORK/agent.yml")
grep -q -E '^pos ' <<<"$new" || it_fail "no position after the upgrade: $new"
it_stop collector
it_log "PASS"
