#!/usr/bin/env bash
# Runs scripts/windows/last-words-probe.c under Wine (issue 24): the program
# is ended by a Linux `kill -9` of its Wine process; prints whether the
# delete-on-close file went and what the watchdog did with the lock, plainly
# and with a second instance's lock put in its place before the kill.
# Needs MinGW and wine64 (see scripts/windows.sh); WINEPREFIX of your own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${WINEPREFIX:?set WINEPREFIX to a Wine prefix of your own}"
export WINEDEBUG=-all
work="$(mktemp -d)"
trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
x86_64-w64-mingw32-gcc -O2 -o "$work/probe.exe" "$here/last-words-probe.c"
cp "$work/probe.exe" "$WINEPREFIX/drive_c/lw-probe.exe"
for scenario in plain recreate recreate-pin; do
    for run in 1 2 3; do
        name="lw-$scenario-$run"
        dir="$WINEPREFIX/drive_c/$name"
        rm -rf "$dir"; mkdir -p "$dir"
        pin=$([ "$scenario" = recreate-pin ] && echo pin || true)
        /usr/lib/wine/wine64 'C:\lw-probe.exe' program "C:\\$name" $pin &
        program=$!
        for _ in $(seq 600); do [ -e "$dir/ready" ] && break; sleep 0.05; done
        [ -e "$dir/ready" ] || { echo "$name: never ready"; kill -9 "$program"; continue; }
        if [ "$scenario" != plain ]; then
            rm "$dir/app.lock"; printf 'second instance' > "$dir/app.lock"
        fi
        kill -9 "$program"; wait "$program" 2>/dev/null || true
        for _ in $(seq 300); do [ -e "$dir/watchdog.txt" ] && break; sleep 0.05; done
        doc=$([ -e "$dir/doc.tmp" ] && echo "left" || echo "gone")
        lock=$([ -e "$dir/app.lock" ] && echo "kept ($(cat "$dir/app.lock"))" || echo "gone")
        echo "$scenario run $run: kill -9; delete-on-close file $doc; lock $lock; $(cat "$dir/watchdog.txt" 2>/dev/null || echo 'watchdog: no report')"
        rm -rf "$dir"
    done
done
