#!/usr/bin/env bash
# `make coldstart`: how long the real app takes from process start to its
# main window, on a demo profile, under Xvfb. Builds the binary, makes the
# profile once (that first run is not counted), then starts the app RUNS
# times and reads the `since_start=` of its "main window ready" log line
# and, from outside, when its window is first on screen (xwininfo).
#
# Settings, all optional:
#   RUNS      runs counted, default 9
#   SIZE      the display, default 1280x800
#   PROFILE   an existing profile to open instead of a fresh demo one
#             (TERRAIN_PASSPHRASE must then open it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${RUNS:-9}"
size="${SIZE:-1280x800}"
work="$(mktemp -d "${TMPDIR:-/tmp}/terrain-coldstart.XXXXXX")"
xvfb_pid=""
app_pid=""

script=coldstart
# shellcheck source=scripts/xvfb-lib.sh
. scripts/xvfb-lib.sh

cleanup() {
	local status=$?
	stop "$app_pid"
	stop "$xvfb_pid"
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT

go build -tags "${APP_TAGS:-migrated_fynedo}" -o "$work/terrain" .

start_xvfb "$size"

profile="${PROFILE:-$work/profile}"
passphrase="${TERRAIN_PASSPHRASE:-demo-passphrase}"
export DISPLAY=":$display" XDG_CONFIG_HOME="$work/config" TERRAIN_PROFILE="$profile" \
	TERRAIN_PASSPHRASE="$passphrase" TERRAIN_WINDOW_SIZE="$size" TERRAIN_LANG="${TERRAIN_LANG:-fr}"

# One run until the main window is ready; returns its log in $work/app.log
# and, in $mapped_ms, how long the window took to be on screen (xwininfo
# polled every 10 ms: the figure is at most that much late).
run_once() {
	local t0 id
	t0=$(date +%s%N)
	"$work/terrain" >"$work/app.log" 2>&1 &
	app_pid=$!
	mapped_ms=""
	local deadline=$((SECONDS + 120))
	until [[ -n "$mapped_ms" ]] || ((SECONDS >= deadline)); do
		id=$(xwininfo -root -children 2>/dev/null | grep -F '"Terrain' | awk '{print $1}' | head -n1 || true)
		if [[ -n "$id" ]] && xwininfo -id "$id" 2>/dev/null | grep -q 'Map State: IsViewable'; then
			mapped_ms=$((($(date +%s%N) - t0) / 1000000))
		fi
		sleep 0.01
	done
	until grep -q 'main window ready' "$work/app.log" 2>/dev/null; do
		if ! kill -0 "$app_pid" 2>/dev/null || ((SECONDS >= deadline)); then
			cat "$work/app.log" >&2
			echo "coldstart: no main window" >&2
			exit 1
		fi
		sleep 0.05
	done
	stop "$app_pid"
	app_pid=""
}

# since_start=1.234s or 812ms -> milliseconds
ms() {
	sed -n "s/.*$1.*since_start=\([0-9.]*\)\(ms\|s\|µs\).*/\1 \2/p" "$work/app.log" | head -n1 |
		awk '{ if ($2 == "s") printf "%.0f\n", $1 * 1000; else if ($2 == "ms") printf "%.0f\n", $1; else printf "%.0f\n", $1 / 1000 }'
}

if [[ -z "${PROFILE:-}" ]]; then
	TERRAIN_DEMO=1 run_once # makes the profile and seeds it; not counted
fi

ready=()
shown=()
for i in $(seq "$runs"); do
	run_once
	ready+=("$(ms 'main window ready')")
	shown+=("$mapped_ms")
done

summary() {
	local label=$1
	shift
	[[ $# -gt 0 ]] || return 0
	printf '%s\n' "$@" | sort -n | awk -v label="$label" '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%s: median %d ms (min %d, max %d, %d runs)\n", label, m, v[1], v[NR], NR }'
}
summary "window on screen" "${shown[@]}"
summary "main window ready" "${ready[@]}"
