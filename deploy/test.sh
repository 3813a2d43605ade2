#!/usr/bin/env bash
# test.sh - build minisoc with sanitizers and run every test: unit (cmocka),
# fuzz corpus replay and integration (real redis-server, real TLS, the real
# agent and collector).
#
# Usage: deploy/test.sh [CTEST_ARGS ...]
#   deploy/test.sh              everything
#   deploy/test.sh -L unit      only the unit tests (any ctest option works)
#
# Environment: MINISOC_BUILD_DIR (default build-test), MINISOC_JOBS (default 2),
# MINISOC_SKIP_DEPS=1 to skip deploy/install-deps.sh.
# The exit code is ctest's.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$ROOT"

BUILD=${MINISOC_BUILD_DIR:-build-test}
JOBS=${MINISOC_JOBS:-2}

step() { printf '\n==> %s\n' "$*"; }

if [[ "${MINISOC_SKIP_DEPS:-0}" != 1 ]]; then
  step "dependencies"
  bash deploy/install-deps.sh
fi

step "configure $BUILD (Debug, ASan+UBSan, unit + fuzz replay + integration tests)"
cmake -S . -B "$BUILD" \
  -DCMAKE_BUILD_TYPE=Debug \
  -DMINISOC_SANITIZE=ON \
  -DBUILD_TESTING=ON \
  -DMINISOC_INTEGRATION=ON

step "build"
cmake --build "$BUILD" -j "$JOBS"

step "test"
# Sanitizer reports fail the test (ASan and LSan exit non-zero by default);
# UBSan should show where it happened.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
set +e
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" "$@"
rc=$?
set -e
if ((rc == 0)); then
  step "all tests passed"
else
  step "tests FAILED (ctest exit code $rc)"
fi
exit "$rc"
