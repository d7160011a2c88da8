#!/usr/bin/env bash
# Runs scripts/windows/cancel-probe.c under Wine (issue 24): can a
# delete-on-close be undone, as a cancelled declaration needs? Needs MinGW
# and wine64 (see scripts/windows.sh); WINEPREFIX of your own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${WINEPREFIX:?set WINEPREFIX to a Wine prefix of your own}"
export WINEDEBUG=-all
work="$(mktemp -d)"
trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
x86_64-w64-mingw32-gcc -O2 -o "$work/cancel-probe.exe" "$here/cancel-probe.c"
/usr/lib/wine/wine64 "$work/cancel-probe.exe"
