#!/usr/bin/env bash
# Runs scripts/windows/console-probe.c under Wine (issue 24): can a
# detached watchdog give a killed program's console its mode back, through
# a duplicated handle or AttachConsole? Once with a console Wine backs by a
# Unix tty (`script`), once without a terminal (the CI case, where Wine
# gives no console). Needs MinGW, wine64 and `script` (util-linux);
# WINEPREFIX of your own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${WINEPREFIX:?set WINEPREFIX to a Wine prefix of your own}"
export WINEDEBUG=-all
work="$(mktemp -d)"
trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
# Not "con.exe": CON is a device name on Windows.
x86_64-w64-mingw32-gcc -O2 -o "$work/cprobe.exe" "$here/console-probe.c"
probe="$WINEPREFIX/drive_c/console-probe"
mkdir -p "$probe"
cp "$work/cprobe.exe" "$probe/"
for way in duplicate attach; do
    echo "== with a tty ($way)"
    script -qfec "/usr/lib/wine/wine64 'C:\\console-probe\\cprobe.exe' shell 'C:\\console-probe' $way" /dev/null |
        # Wine's tty console draws each character with cursor escapes.
        sed -E $'s/\x1b\\[K\x1b\\[1C/ /g; s/\x1b\\[[0-9;?]*[A-Za-z]//g; s/\r//g'
    echo "== without a terminal ($way)"
    /usr/lib/wine/wine64 'C:\console-probe\cprobe.exe' shell 'C:\console-probe' "$way" </dev/null 2>&1 | cat
done
rm -rf "$probe"
