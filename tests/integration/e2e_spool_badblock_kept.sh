#!/usr/bin/env bash
# e2e_spool_badblock.sh with the log file rotated (renamed) instead of
# deleted during the outage: the lines of the bad block are read again from
# it, and every line arrives exactly once. See that script.
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/e2e_spool_badblock.sh" "${1:?usage: e2e_spool_badblock_kept.sh BUILD_DIR}" kept
