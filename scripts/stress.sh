#!/usr/bin/env bash
# The exit-while-threads-register scenario many more times than CI runs it
# (200), in an optimized build: bash scripts/stress.sh [runs, default 5000]
set -euo pipefail
cd "$(dirname "$0")/.."
ATEXIT_STRESS_RUNS="${1:-5000}" cargo test --release -p atexit-suite --test scenarios -- stress
