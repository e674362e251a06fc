#!/usr/bin/env bash
# Prepares a Wine prefix for running Windows builds of Terrain (tests
# under Wine, docs/windows.md): builds the stand-in bcryptprimitives.dll
# (tools/wine) with mingw-w64 into the prefix's system32. Prints the
# prefix; use it as WINEPREFIX. Wine 8 (Debian 12) is what was tried.
#   prefix=$(scripts/wine-setup.sh) && WINEPREFIX=$prefix wine64 prog.exe
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${WINEPREFIX:-/tmp/terrain-wine}
export WINEPREFIX=$prefix WINEDEBUG=${WINEDEBUG:--all} WINEDLLOVERRIDES="mscoree,mshtml="
if [[ ! -d "$prefix/drive_c/windows/system32" ]]; then
	wineboot -i >/dev/null 2>&1 || true
	wineserver -w || true
fi
x86_64-w64-mingw32-gcc -O2 -shared -o "$prefix/drive_c/windows/system32/bcryptprimitives.dll" \
	tools/wine/bcryptprimitives.c tools/wine/bcryptprimitives.def -ladvapi32
echo "$prefix"
