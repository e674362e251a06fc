#!/usr/bin/env bash
# `make screenshots`: builds the app once, then for every size, language and
# screen starts it on a private Xvfb display with a fresh demo profile and
# saves screenshots/LANG-SCREEN.png (the first size) or
# screenshots/LANG-SCREEN-WxH.png (the others). The app gets TERRAIN_LANG,
# TERRAIN_PROFILE, TERRAIN_PASSPHRASE, TERRAIN_DEMO=1, TERRAIN_SCREEN and
# TERRAIN_WINDOW_SIZE=WxH (the display's size: there is no window manager to
# maximise the window).
#
# Then, at the first size, the real app saves the showcase member's visit
# report and member sheet as PDF (TERRAIN_SCREEN=visit-pdf|member-pdf with
# TERRAIN_PDF_OUT) and pdftoppm renders their first page to
# screenshots/LANG-visit-pdf.png and LANG-member-pdf.png.
#
# Settings, all optional:
#   SCREENS         screens to capture (TERRAIN_SCREEN values), default
#                   "members member visit-error visit-edit dashboard syncing today
#                   settings-bottom members-light shortcuts"
#   PDFS            documents to render, default "visit-pdf member-pdf"
#   LANGS           default "fr en"
#   SIZES           default "1280x800 1024x640"
#   WINDOW_NAME     start of the window title to wait for, default "Terrain"
#   WINDOW_TIMEOUT  seconds to wait for the window, default 60
#   SETTLE_SECONDS  seconds between the window appearing and the capture, default 3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a screens <<<"${SCREENS:-members member visit-error visit-edit dashboard syncing today settings-bottom members-light shortcuts}"
read -r -a langs <<<"${LANGS:-fr en}"
read -r -a sizes <<<"${SIZES:-1280x800 1024x640}"
read -r -a pdfs <<<"${PDFS-visit-pdf member-pdf}"
window_name="${WINDOW_NAME:-Terrain}"
window_timeout="${WINDOW_TIMEOUT:-60}"
settle="${SETTLE_SECONDS:-3}"
out_dir=screenshots

tools=(Xvfb xwininfo import)
((${#pdfs[@]} == 0)) || tools+=(pdftoppm pdfinfo)
for tool in "${tools[@]}"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "screenshots: $tool not found (run: make deps)" >&2
		exit 1
	fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/terrain-shots.XXXXXX")"
xvfb_pid=""
app_pid=""
display=""

script=screenshots
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
trap 'exit 130' INT
trap 'exit 143' TERM

# Xvfb picks a free display itself and writes its number once it accepts
# connections, so two runs (or a developer's own X server) never collide.
wait_for_window() {
	local deadline=$((SECONDS + window_timeout)) id
	while ((SECONDS < deadline)); do
		if ! kill -0 "$app_pid" 2>/dev/null; then
			cat "$work/app.log" >&2
			echo "screenshots: the app exited before showing its window" >&2
			return 1
		fi
		while read -r id; do
			if DISPLAY=":$display" xwininfo -id "$id" 2>/dev/null | grep -q 'Map State: IsViewable'; then
				return 0
			fi
		done < <(DISPLAY=":$display" xwininfo -root -children 2>/dev/null |
			grep -F "\"$window_name" | awk '{print $1}')
		sleep 0.5
	done
	cat "$work/app.log" >&2
	echo "screenshots: no window titled \"$window_name...\" after ${window_timeout}s" >&2
	return 1
}

# Waits until the app logs that its main screen is up (creating and
# seeding a demo profile takes a while on a busy machine: the window shows
# first, empty).
wait_for_ready() {
	local deadline=$((SECONDS + window_timeout))
	while ((SECONDS < deadline)); do
		grep -q 'main window ready' "$work/app.log" 2>/dev/null && return 0
		if ! kill -0 "$app_pid" 2>/dev/null; then
			cat "$work/app.log" >&2
			echo "screenshots: the app exited before its main screen" >&2
			return 1
		fi
		sleep 0.5
	done
	cat "$work/app.log" >&2
	echo "screenshots: no main screen after ${window_timeout}s" >&2
	return 1
}

echo "screenshots: building the app"
go build -tags "${APP_TAGS:-migrated_fynedo}" -o "$work/terrain" .
mkdir -p "$out_dir"

first=1
for geometry in "${sizes[@]}"; do
	start_xvfb "$geometry"
	suffix=""
	[[ $first -eq 1 ]] || suffix="-$geometry"
	for lang in "${langs[@]}"; do
		for screen in "${screens[@]}"; do
			profile="$work/profile-$geometry-$lang-$screen"
			# The binary lives under the temp dir, so Fyne looks for
			# FyneApp.toml in the working directory: the repo root. Fyne's
			# preferences (theme, language) are per user: each shot gets
			# its own, so that it neither reads the developer's nor leaves
			# any behind.
			DISPLAY=":$display" XDG_CONFIG_HOME="$profile.config" TERRAIN_LANG="$lang" TERRAIN_PROFILE="$profile" \
				TERRAIN_PASSPHRASE=demo-passphrase TERRAIN_DEMO=1 TERRAIN_SCREEN="$screen" TERRAIN_WINDOW_SIZE="$geometry" \
				"$work/terrain" >"$work/app.log" 2>&1 &
			app_pid=$!
			wait_for_window
			wait_for_ready
			sleep "$settle"
			file="$out_dir/$lang-$screen$suffix.png"
			import -display ":$display" -window root "$file"
			echo "screenshots: $file"
			stop "$app_pid"
			app_pid=""
		done
	done
	stop "$xvfb_pid"
	xvfb_pid=""
	first=0
done

# The PDF documents: the app writes the file once its window is up;
# pdfinfo reads it only once it is whole.
if ((${#pdfs[@]} > 0)); then
	start_xvfb "${sizes[0]}"
	for lang in "${langs[@]}"; do
		for doc in "${pdfs[@]}"; do
			profile="$work/profile-pdf-$lang-$doc"
			pdf="$work/$lang-$doc.pdf"
			DISPLAY=":$display" TERRAIN_LANG="$lang" TERRAIN_PROFILE="$profile" \
				TERRAIN_PASSPHRASE=demo-passphrase TERRAIN_DEMO=1 TERRAIN_SCREEN="$doc" TERRAIN_PDF_OUT="$pdf" \
				TERRAIN_WINDOW_SIZE="${sizes[0]}" "$work/terrain" >"$work/app.log" 2>&1 &
			app_pid=$!
			wait_for_window
			deadline=$((SECONDS + window_timeout))
			until pdfinfo "$pdf" >/dev/null 2>&1; do
				if ((SECONDS >= deadline)); then
					cat "$work/app.log" >&2
					echo "screenshots: the app wrote no $doc" >&2
					exit 1
				fi
				sleep 0.5
			done
			stop "$app_pid"
			app_pid=""
			file="$out_dir/$lang-$doc.png"
			pdftoppm -png -r 100 -f 1 -l 1 -singlefile "$pdf" "${file%.png}"
			echo "screenshots: $file"
		done
	done
	stop "$xvfb_pid"
	xvfb_pid=""
fi
