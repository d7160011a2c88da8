#!/usr/bin/env bash
# Windows (x86_64-pc-windows-gnu): builds the library, its examples and the
# Windows test set with Debian's Rust and MinGW, and runs them under Wine.
# Called by .ci/run; runs alone too. Needs root (apt) on Debian 12.
#
# Why Wine: on Windows `std::process::exit` skips the C runtime's exit list
# (rust-lang/rust#104816), which is why `atexit::exit` exists; this is where
# that is checked. See README.md, "Platforms", for what runs and what not.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/debian-rust.sh
source scripts/debian-rust.sh

export CARGO_INCREMENTAL=0
start=$SECONDS
step() { printf '\n==> [%ss] windows: %s\n' "$((SECONDS - start))" "$*"; }

step "packages: MinGW (linker), Wine, Debian's Rust with std's sources"
apt_install gcc-mingw-w64-x86-64 wine64 bsdutils
use_debian_rust ""
rustc --version

TARGET=x86_64-pc-windows-gnu
# A target directory of its own: another compiler, and a std built from
# source, share nothing with the host build.
export CARGO_TARGET_DIR="${ATEXIT_WINDOWS_TARGET_DIR:-$PWD/target/windows}"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
# `cargo test` runs the test programs through Wine's 64-bit loader (the plain
# `wine` wrapper wants 32-bit Wine too); test programs start the examples,
# which Wine then runs as Windows processes.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64
export WINEPREFIX="$ATEXIT_CROSS_DIR/wine-prefix"
export WINEDEBUG=-all
BUILD=(-Zbuild-std=std,panic_unwind --target "$TARGET")

step "Wine prefix, with a ProcessPrng for Wine 8.0"
# Our own wineserver ends with this script, whatever happens.
trap 'wineserver -k 2>/dev/null || true' EXIT
if [ ! -e "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$WINEPREFIX"
    /usr/lib/wine/wine64 wineboot --init
fi
# Wine 8.0 lacks `ProcessPrng`, which std imports: without this stand-in
# every Rust program ends with status 53 before `main`.
x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    scripts/windows/processprng.c -ladvapi32
export WINEDLLOVERRIDES="bcryptprimitives=n"

step "build: std, the library, its examples, the Windows test set"
cargo build "${BUILD[@]}" -p atexit --examples
cargo test "${BUILD[@]}" --no-run -p atexit --test examples --test windows --test windows_children \
    --test windows_last_words --test windows_console
cargo test "${BUILD[@]}" --no-run -p atexit-suite --test model --test scenarios

step "run under Wine: every example (tests/examples.rs)"
cargo test "${BUILD[@]}" -p atexit --test examples

step "run under Wine: console control events (tests/windows.rs)"
# Each Ctrl+C test gives its process a console and sends Ctrl+C to it: one
# process per test (see that file). Ctrl+Break is left out: Wine 8 has none.
for name in ctrl_c_runs_the_handlers_and_ends_with_status_control_c_exit \
    ctrl_c_in_request_mode_drains_then_ends_with_status_control_c_exit; do
    cargo test "${BUILD[@]}" -p atexit --test windows -- --ignored --exact "$name"
done

step "run under Wine: tied children end with the program (tests/windows_children.rs)"
cargo test "${BUILD[@]}" -p atexit --test windows_children

step "run under Wine: declared removals after TerminateProcess and exit_now (tests/windows_last_words.rs)"
cargo test "${BUILD[@]}" -p atexit --test windows_last_words

step "run under Wine, on a terminal: the console's mode given back (tests/windows_console.rs)"
# Wine gives a program a console only when a Unix terminal backs it:
# `script` provides one. Wine draws on it with cursor escapes, taken out
# of the log here; `script -e` ends with the tests' status.
script -qfec "cargo test ${BUILD[*]} -p atexit --test windows_console -- --ignored --test-threads=1" /dev/null |
    sed -E $'s/\x1b\\[K\x1b\\[1C/ /g; s/\x1b\\[[0-9;?]*[A-Za-z]//g; s/\x1b[(][AB0]//g; s/\r//g'

step "run under Wine: the model test"
cargo test "${BUILD[@]}" -p atexit-suite --test model

step "run under Wine: the scenarios (those that do not need Unix)"
# Skipped: scenarios that start their exit with `std::process::exit` to
# test something else (a deadline, a panicking handler, threads racing to
# exit...). On Windows that call runs no handler at all (pinned by
# `exit_paths::process_exit`), so they would test nothing; the same
# behaviours are covered through `atexit::exit` and the return from `main`.
skip=(
    exit_paths::atexit_exit_in_handler
    exit_paths::process_exit_in_handler_during_atexit_exit
    exit_paths::reason_on_process_exit
    exit_paths::a_thread_named_main_is_not_main
    deadline::deadline_on_process_exit
    deadline::handler_waits_for_a_lock_the_exiting_thread_holds
    deadline::a_tiny_deadline_starts_no_handler
    threads::two_threads_process_exit_at_once
    threads::atexit_exit_on_another_thread_during_an_exit
    async_handlers::async_handler_panics
    async_handlers::async_handler_calls_exit
    async_handlers::async_handler_calls_process_exit
    async_handlers::async_handler_calls_process_exit_during_atexit_exit
    async_handlers::async_handler_past_the_deadline
    faults::panicking_handler_keeps_status
    data_loss::process_exit::
)
args=()
for name in "${skip[@]}"; do args+=(--skip "$name"); done
cargo test "${BUILD[@]}" -p atexit-suite --test scenarios -- "${args[@]}"

step "windows: done"
