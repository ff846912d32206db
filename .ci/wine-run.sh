#!/usr/bin/env bash
# Runs the Windows build of lamport-sim under Wine: 3 VMs for 3 s (20-40
# ticks/s) into a Linux temp folder, then checks their logs with the native
# `verify`.
#
#   .ci/wine-run.sh [WINDOWS_EXE [NATIVE_BIN]]
#
# Defaults: target/x86_64-pc-windows-gnu/release/lamport-sim.exe and
# target/release/lamport-sim (build them first). Needs wine (Debian's
# `wine64`, 8.0) and mingw-w64 (`gcc-mingw-w64-x86-64`). Wine 8 has no
# bcryptprimitives.dll, whose ProcessPrng Rust's std imports: a stand-in
# built from .ci/wine/ goes next to the exe. The Wine prefix is a fresh temp
# folder, removed at the end, as are the logs unless KEEP_LOGS=1.
set -euo pipefail
cd "$(dirname "$0")/.."

exe=${1:-target/x86_64-pc-windows-gnu/release/lamport-sim.exe}
native=${2:-target/release/lamport-sim}
for f in "$exe" "$native"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "wine-run: $f is not built" >&2; exit 1; }
done
wine=$(command -v wine64 || true)
[ -n "$wine" ] || [ ! -x /usr/lib/wine/wine64 ] || wine=/usr/lib/wine/wine64
[ -n "$wine" ] || wine=$(command -v wine || true)
[ -n "$wine" ] || { echo "wine-run: no wine64 or wine on this machine" >&2; exit 1; }

x86_64-w64-mingw32-gcc -shared -O2 -o "$(dirname "$exe")/bcryptprimitives.dll" \
    .ci/wine/bcryptprimitives.c .ci/wine/bcryptprimitives.def -ladvapi32

work=$(mktemp -d "${TMPDIR:-/tmp}/lamport-sim-wine.XXXXXX")
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
cleanup() {
    wineserver -k >/dev/null 2>&1 || true
    if [ "${KEEP_LOGS:-0}" = 1 ]; then
        rm -rf "$WINEPREFIX"
        echo "wine-run: logs kept in $work/logs"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

echo "wine-run: making a Wine prefix ($("$wine" --version 2>/dev/null || echo wine))"
timeout 300 wineboot -i </dev/null >/dev/null 2>&1 || { echo "wine-run: wineboot failed" >&2; exit 1; }

logs="$work/logs"
mkdir -p "$logs"
winlogs="Z:${logs//\//\\}"
echo "wine-run: $exe run --vms 3 --runtime 3 --min-rate 20 --max-rate 40 --base-port 0 --logs $winlogs"
timeout 120 "$wine" "$exe" run --vms 3 --runtime 3 --min-rate 20 --max-rate 40 --base-port 0 --logs "$winlogs" </dev/null
wineserver -w 2>/dev/null || true
"$native" verify "$logs"
