#!/usr/bin/env bash
# Runs the registry workloads in CPython's atexit, in C against glibc's
# atexit, and in this crate, in one run, and prints one table with the
# ratios. Medians; compare within one run only (machines are noisy).
#
#   bash comparisons/compare.sh          # criterion with short measurements
#   bash comparisons/compare.sh --full   # criterion's default measurement times
set -euo pipefail
cd "$(dirname "$0")/.."
# ATEXIT_BENCH_OUT=dir keeps the raw outputs there (then `python3 comparisons/table.py dir`).
if [[ -n "${ATEXIT_BENCH_OUT:-}" ]]; then
    out="$ATEXIT_BENCH_OUT"
    mkdir -p "$out"
else
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
fi

criterion_args=(--warm-up-time 1 --measurement-time 3)
if [[ "${1:-}" == "--full" ]]; then criterion_args=(); fi

echo "==> machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "==> rustc: $(rustc --version); python: $(python3 --version 2>&1); gcc: $(gcc -dumpfullversion)"

echo "==> CPython atexit"
python3 comparisons/cpython_atexit.py | tee "$out/cpython.txt"

echo "==> glibc atexit (gcc -O2)"
gcc -O2 -o "$out/glibc_atexit" comparisons/glibc_atexit.c
: > "$out/glibc.txt"
for _ in 1 2 3 4 5; do
    echo "register_fn $("$out/glibc_atexit" register) ns" >> "$out/glibc.txt"
    echo "run_1m $("$out/glibc_atexit" run) ns" >> "$out/glibc.txt"
done
cat "$out/glibc.txt"

echo "==> Rust (cargo bench)"
cargo bench --quiet -p atexit-suite --bench registry -- --output-format bencher "${criterion_args[@]}" 2>/dev/null \
    | grep '^test ' | tee "$out/rust.txt"
cargo bench --quiet -p atexit-suite --bench memory 2>/dev/null | tee "$out/memory.txt"
cargo bench --quiet -p atexit-suite --bench startup 2>/dev/null | tee "$out/startup.txt"

python3 comparisons/table.py "$out"
