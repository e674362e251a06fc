#!/usr/bin/env bash
# Runs `go test` over every package of the module, in three groups:
#   - store, sync and central (and their sub-packages) with -race, the
#     sync simulation also without it;
#   - the Fyne UI (app/...) with the headless test driver tags;
#   - everything else, plain;
# then the sync simulation against a deliberately broken server, which must
# fail.
# The groups come from `go list`, so packages added later are picked up and
# a group that does not exist yet is skipped. Every group runs even when an
# earlier one fails, so one run shows all the failures; the exit status is
# non-zero if any failed. Extra flags for every group: GOTESTFLAGS.
set -euo pipefail

ui_tags="${UI_TAGS:-ci,migrated_fynedo}"
read -r -a extra <<<"${GOTESTFLAGS:-}"

module="$(go list -m)"
# Listed first so a broken package fails here instead of shrinking the list.
packages="$(go list ./...)"
race=()
ui=()
plain=()
while IFS= read -r pkg; do
	[[ -n "$pkg" ]] || continue
	rel="${pkg#"$module"}"
	rel="${rel#/}"
	case "$rel" in
	sync/sim)
		# The simulation runs a few seeds under the race detector and a few
		# hundred without it, where they fit in about a minute.
		race+=("$pkg")
		plain+=("$pkg")
		;;
	store | store/* | sync | sync/* | central | central/*) race+=("$pkg") ;;
	app | app/*) ui+=("$pkg") ;;
	*) plain+=("$pkg") ;;
	esac
done <<<"$packages"

status=0
if [[ ${#race[@]} -gt 0 ]]; then
	go test -race "${extra[@]}" "${race[@]}" || status=1
fi
if [[ ${#ui[@]} -gt 0 ]]; then
	go test -tags "$ui_tags" "${extra[@]}" "${ui[@]}" || status=1
fi
if [[ ${#plain[@]} -gt 0 ]]; then
	go test "${extra[@]}" "${plain[@]}" || status=1
fi

# The simulation must keep its teeth: built with terrain_broken_idempotency
# the server re-applies mutations it has already applied, and the
# simulation has to catch it (a seed reported lost or duplicated). A pass,
# or a failure of another kind (a build error), fails `make test`.
if [[ " ${packages//$'\n'/ } " == *" $module/sync/sim "* ]]; then
	seeds="${BROKEN_SEEDS:-30}"
	if broken_out="$(go test -count=1 -tags terrain_broken_idempotency -run '^TestSimulation$' ./sync/sim -seeds="$seeds" 2>&1)"; then
		echo "$broken_out"
		echo "go-test: the simulation PASSED against a server that forgets applied mutations: it has lost its teeth" >&2
		status=1
	elif ! grep -Eq 'failed: lost=[0-9]+ duplicated=[0-9]+' <<<"$broken_out"; then
		echo "$broken_out"
		echo "go-test: the broken-idempotency simulation failed, but not by reporting a lost or duplicated write" >&2
		status=1
	else
		echo "broken-idempotency: the simulation catches it, as it must ($(grep -c 'failed: lost=' <<<"$broken_out") of $seeds seeds fail)"
	fi
fi
exit "$status"
