#!/usr/bin/env bash
# Clippy, warnings denied, for the targets CI cannot run: Windows, macOS
# (x86_64 and aarch64), FreeBSD and musl. A type-check needs no linker, and
# `-Zbuild-std` checks std from Debian's sources, so no target's std has to
# be installed. Called by .ci/run; runs alone too. Needs root (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/debian-rust.sh
source scripts/debian-rust.sh

export CARGO_INCREMENTAL=0
start=$SECONDS
step() { printf '\n==> [%ss] targets: %s\n' "$((SECONDS - start))" "$*"; }

step "Debian's Rust with clippy and std's sources"
use_debian_rust ""
cargo clippy --version

# One target directory for all: each target's std lands in its own
# `<target>/` folder inside it anyway.
export CARGO_TARGET_DIR="${ATEXIT_TARGETS_TARGET_DIR:-$PWD/target/targets}"
for target in "${ATEXIT_CROSS_TARGETS[@]}"; do
    step "cargo clippy --target $target (the three library crates, all features)"
    cargo clippy -Zbuild-std=std,panic_unwind --target "$target" \
        -p atexit -p atexit-core -p atexit-macros --all-features -- -D warnings
done
step "targets: done"
