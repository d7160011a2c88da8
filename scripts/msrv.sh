#!/usr/bin/env bash
# The declared `rust-version` (MSRV) builds: the three library crates,
# all features, checked with the oldest Rust Debian's archive has (1.85),
# which is the declared MSRV. Called by .ci/run; runs alone too.
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
