#!/usr/bin/env bash
# Prints the release version of this checkout, for -ldflags and the
# packagers: `git describe` of the last v* tag without its "v" ("0.2.0",
# "0.2.0-3-gabc1234", "-dirty" when the tree has changes). Without any tag
# (a fresh repository) it is FyneApp.toml's Version, then "-0-g" and the
# commit. With `--fyne` it prints instead "VERSION BUILD" for FyneApp.toml:
# the X.Y.Z part and the number of commits, which Windows wants as its
# four-part file version.
#
# FyneApp.toml's Version must be the tag's X.Y.Z: a release whose tag and
# FyneApp.toml disagree is refused, so the two stay in step.
set -euo pipefail
cd "$(dirname "$0")/.."

toml=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	version="$toml"
elif tag=$(git describe --tags --match 'v[0-9]*' --abbrev=0 2>/dev/null); then
	version=$(git describe --tags --match 'v[0-9]*' --dirty)
	version=${version#v}
	if [[ "${tag#v}" != "$toml" ]]; then
		echo "version.sh: tag $tag but FyneApp.toml says Version = \"$toml\"; make them agree" >&2
		exit 1
	fi
else
	version="$toml-0-g$(git rev-parse --short HEAD)"
	if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
		version+="-dirty"
	fi
fi

if [[ "${1:-}" == "--fyne" ]]; then
	build=1
	if git rev-parse --git-dir >/dev/null 2>&1; then
		build=$(git rev-list --count HEAD)
	fi
	echo "${version%%-*} $build"
else
	echo "$version"
fi
