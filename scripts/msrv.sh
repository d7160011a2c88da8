#!/usr/bin/env bash
# The declared `rust-version` (MSRV) builds: the three library crates,
# all features, checked with the oldest Rust Debian's archive has (1.85),
# which is the declared MSRV, for this machine and for every target CI
# type-checks (std built from that Rust's own sources for each, as
# scripts/targets.sh does). Called by .ci/run; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/debian-rust.sh
source scripts/debian-rust.sh
export CARGO_INCREMENTAL=0
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
printf '\n==> msrv: Debian rustc-web %s\n' "$msrv"
use_debian_rust "$msrv."
rustc --version
export CARGO_TARGET_DIR="${ATEXIT_MSRV_TARGET_DIR:-$PWD/target/msrv}"
# Not the tests: their dev-dependencies (criterion, trybuild...) need newer
# Rust, and users build the libraries, not our tests.
cargo check --locked -p atexit -p atexit-core -p atexit-macros --all-features
# Checking std for windows-gnu runs mingw's `dlltool` (std's raw-dylib
# imports) in this Rust; newer ones need no tool for a check.
apt_install binutils-mingw-w64-x86-64
for target in "${ATEXIT_CROSS_TARGETS[@]}"; do
    printf '\n==> msrv: cargo check --target %s\n' "$target"
    cargo check --locked -Zbuild-std=std,panic_unwind --target "$target" \
        -p atexit -p atexit-core -p atexit-macros --all-features
done
