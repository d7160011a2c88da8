#!/usr/bin/env bash
# Runs scripts/windows/pin-probe.c under Wine (issue 24) in a directory on
# the disk (ext4 here) and, if there is one, on a tmpfs (/dev/shm): what the
# Windows watchdog's identity check may rely on. Needs MinGW and wine64 (see
# scripts/windows.sh); WINEPREFIX of your own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${WINEPREFIX:?set WINEPREFIX to a Wine prefix of your own}"
export WINEDEBUG=-all
work="$(mktemp -d)"
trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
x86_64-w64-mingw32-gcc -O2 -o "$work/probe.exe" "$here/pin-probe.c"
disk="$WINEPREFIX/drive_c/pin-probe"
mkdir -p "$disk"
echo "== C:\\pin-probe ($(stat -f -c %T "$disk"))"
/usr/lib/wine/wine64 "$work/probe.exe" 'C:\pin-probe'
rm -rf "$disk"
if [ -d /dev/shm ]; then
    shm="$(mktemp -d /dev/shm/pin-probe.XXXXXX)"
    echo "== Z:$(echo "$shm" | tr / '\\') ($(stat -f -c %T "$shm"))"
    /usr/lib/wine/wine64 "$work/probe.exe" "Z:$(echo "$shm" | tr / '\\')"
    rm -rf "$shm"
fi
