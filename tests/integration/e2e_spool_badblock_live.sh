#!/usr/bin/env bash
# e2e_spool_badblock.sh with the block going bad under a running agent
# while the lines wait on disk: read back, the lost lines are read again
# from the log file, and every line arrives exactly once. See that script.
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/e2e_spool_badblock.sh" "${1:?usage: e2e_spool_badblock_live.sh BUILD_DIR}" live
