#!/usr/bin/env bash
# `make run`: starts the desktop app on a development profile, connected to a
# local terrain-central with the demo data. It runs from the repo root
# because Fyne's development builds read FyneApp.toml (app id, icon,
# migrations) from the working directory.
#
# The central service keeps its data in $TERRAIN_DEV_CENTRAL (seeded with
# the demo once, its demo coordinator given the password below) and serves
# on 127.0.0.1:8470 while the app runs. A new development profile signs in
# to it by itself; one that exists unlocks with the development passphrase.
# TERRAIN_DEV_CENTRAL=off runs the app alone, as before.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
# A profile of its own keeps development data away from a real one.
export TERRAIN_PROFILE="${TERRAIN_PROFILE:-$data_home/terrain-dev}"
central_dir="${TERRAIN_DEV_CENTRAL:-$data_home/terrain-dev-central}"
addr="127.0.0.1:8470"
dev_password="terrain-dev-password"

if [[ "$central_dir" != "off" ]]; then
	bin="$(mktemp -d)"
	central_pid=""
	cleanup() {
		if [[ -n "$central_pid" ]]; then
			kill "$central_pid" 2>/dev/null || true
			wait "$central_pid" 2>/dev/null || true
		fi
		rm -rf "$bin"
	}
	trap cleanup EXIT
	go build -o "$bin/terrain-central" ./cmd/terrain-central

	if [[ ! -e "$central_dir/.seeded" ]]; then
		rm -rf "$central_dir"
		mkdir -p "$central_dir"
		# The demo prints a random password once; the development one
		# replaces it, so that the app can sign in without asking.
		"$bin/terrain-central" demo --data "$central_dir/data" >/dev/null
		printf '%s\n' "$dev_password" |
			"$bin/terrain-central" coordinator password --email demo@example.org --password-stdin --data "$central_dir/data" >/dev/null
		touch "$central_dir/.seeded"
	fi

	"$bin/terrain-central" serve --addr "$addr" --data "$central_dir/data" 2>>"$central_dir/serve.log" &
	central_pid=$!
	ready=""
	for _ in $(seq 50); do
		if ! kill -0 "$central_pid" 2>/dev/null; then
			echo "terrain-central stopped; see $central_dir/serve.log (is $addr already in use?)" >&2
			exit 1
		fi
		if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
			ready=1
			break
		fi
		sleep 0.1
	done
	if [[ -z "$ready" ]]; then
		echo "terrain-central does not answer on $addr; see $central_dir/serve.log" >&2
		exit 1
	fi
	echo "terrain-central serves the demo data on http://$addr (demo@example.org / $dev_password)"

	# Consumed by a new profile only: it is created and signed in at once.
	export TERRAIN_SERVER="${TERRAIN_SERVER:-http://$addr}"
	export TERRAIN_EMAIL="${TERRAIN_EMAIL:-demo@example.org}"
	export TERRAIN_PASSWORD="${TERRAIN_PASSWORD:-$dev_password}"
	export TERRAIN_PASSPHRASE="${TERRAIN_PASSPHRASE-terrain-dev-passphrase}"
fi

# Not exec: the trap must stop terrain-central when the app quits.
go run -tags "${APP_TAGS:-migrated_fynedo}" . "$@"
