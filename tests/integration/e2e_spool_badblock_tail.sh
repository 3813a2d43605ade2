#!/usr/bin/env bash
# e2e_spool_badblock.sh with the segment's last block damaged (as a power
# cut tears the sector being written) and the log file renamed during the
# outage: the agent starts all the same, keeps the segment, and reads the
# lines after its last record read again from the file; every line arrives
# exactly once. See that script.
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/e2e_spool_badblock.sh" "${1:?usage: e2e_spool_badblock_tail.sh BUILD_DIR}" tail
