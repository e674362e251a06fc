#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet.
# apt-get runs (after one `apt-get update`) only when something is missing,
# so a machine that has everything pays for a dpkg-query and nothing else.
set -euo pipefail

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system; install by hand: $*" >&2
	exit 0
fi

missing=()
for pkg in "$@"; do
	if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != ii* ]]; then
		missing+=("$pkg")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

sudo=()
if [[ $EUID -ne 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: missing ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
