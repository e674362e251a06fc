#!/usr/bin/env bash
# `make run`: starts the desktop app on a development profile. It runs from
# the repo root because Fyne's development builds read FyneApp.toml (app id,
# icon, migrations) from the working directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A profile of its own keeps development data away from a real one.
export TERRAIN_PROFILE="${TERRAIN_PROFILE:-${XDG_DATA_HOME:-$HOME/.local/share}/terrain-dev}"

go run -tags "${APP_TAGS:-migrated_fynedo}" . "$@"
