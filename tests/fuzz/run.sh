#!/usr/bin/env bash
# tests/fuzz/run.sh – runs every fuzz target (or those named) under
# libFuzzer with ASan+UBSan for SECONDS each, starting from its seed corpus,
# and prints one line per target: executions, new corpus size, crashes.
# Crashing inputs are kept in build-fuzz/crashes/ (add them to the seed
# corpus once fixed). Needs clang and its runtime: apt-get install clang
# libclang-rt-14-dev (Debian 12).
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]     default: 60 s, every target
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_EACH=${1:-60}
shift || true
BUILD=${MINISOC_FUZZ_BUILD:-$ROOT/build-fuzz}
# The targets whose input is a file (spool, state, journal, archive, config)
# write and sync it for every input: on a disk that is 20 times slower than
# in memory (fuzz_journal: 57,472 executions in 180 s, 1,176,119 in 150 s).
if [[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]]; then
	export TMPDIR=/dev/shm
fi
command -v clang >/dev/null || { echo "run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DMINISOC_FUZZ=ON -DMINISOC_SANITIZE=ON -DBUILD_TESTING=ON -DMINISOC_INTEGRATION=OFF >/dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
	mapfile -t targets < <(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
fi
cmake --build "$BUILD" -j2 --target "${targets[@]}" >/dev/null
mkdir -p "$BUILD/crashes" "$BUILD/corpus"
printf '%-18s %12s %10s %8s\n' target executions corpus crashes
rc=0
for t in "${targets[@]}"; do
	work=$BUILD/corpus/$t
	mkdir -p "$work"
	log=$BUILD/$t.log
	set +e
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$BUILD/tests/$t" -max_total_time="$SECONDS_EACH" \
		-print_final_stats=1 -artifact_prefix="$BUILD/crashes/$t-" "$work" "$ROOT/tests/fuzz/corpus/$t" \
		>"$log" 2>&1
	trc=$?
	set -e
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
	crashes=$(ls "$BUILD/crashes" | grep -c "^$t-" || true)
	printf '%-18s %12s %10s %8s\n' "$t" "$execs" "$(ls "$work" | wc -l)" "$crashes"
	if ((trc != 0 || crashes > 0)); then
		rc=1
		echo "  see $log" >&2
	fi
done
exit "$rc"
