#!/usr/bin/env bash
# make dist: every release artefact into dist/, from this Linux machine.
#
#   Terrain-VERSION-windows-amd64-setup.exe  per-user NSIS installer
#   Terrain-VERSION-windows-amd64.zip        Terrain.exe, terrain-cli.exe
#   Terrain-VERSION-linux-amd64.tar.xz       fyne package tarball
#   terrain-central-VERSION-{linux-amd64,linux-arm64,windows-amd64.exe}
#   SHA256SUMS, SHA256SUMS.sig (ed25519), release.pub
#
# The build runs in a copy of the tracked files whose FyneApp.toml carries
# the version (scripts/version.sh), so packaging never edits the checkout.
# The signing key is TERRAIN_SIGNING_KEY (base64 seed, tools/sign) or the
# file TERRAIN_SIGNING_KEY_FILE; without either a throwaway key is made and
# the release is marked as a dev build in release.pub.
#
# Needs: Go, gcc and the X/GL headers (make deps), x86_64-w64-mingw32-gcc
# (mingw-w64), makensis (nsis), ImageMagick, zip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS

version=$(scripts/version.sh)
read -r fyne_version build < <(scripts/version.sh --fyne)
out=$root/dist
rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
src=$stage/src
mkdir -p "$src"
git ls-files -co --exclude-standard -z | grep -zv '^dist/' | tar -cf - --null -T - | tar -xf - -C "$src"
sed -i "s/^Version = .*/Version = \"$fyne_version\"/; s/^Build = .*/Build = $build/" "$src/FyneApp.toml"
# The same version for builds that pass no -ldflags (fyne package).
cat >"$src/version/zz_dist.go" <<GO
package version

func init() {
	if Version == "" {
		Version = "$version"
	}
}
GO
ldflags="-s -w -X leconsortium.coop/terrain/version.Version=$version"
# Built once, for this machine: `go tool` would take the cross-compiling
# environment (CC, GOOS) of the app build for the tool's own build.
go build -C "$root/tools/packaging" -o "$stage/fyne" fyne.io/tools/cmd/fyne
fyne() { "$stage/fyne" "$@"; }
step() { printf '== %s (%ds)\n' "$*" $((SECONDS - started)); }

step "terrain-central for linux/amd64, linux/arm64, windows/amd64"
for target in linux/amd64 linux/arm64 windows/amd64; do
	goos=${target%/*} goarch=${target#*/} ext=""
	[[ $goos == windows ]] && ext=.exe
	(cd "$src" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" \
		-o "$out/terrain-central-$version-$goos-$goarch$ext" ./cmd/terrain-central)
done

step "Windows app: Terrain.exe (fyne package: icon, manifest, version resource)"
win=$stage/windows
mkdir -p "$win"
(cd "$src" && CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 \
	fyne package --os windows --release --src "$src" --name Terrain --icon "$src/Icon.png" >/dev/null)
mv "$src/Terrain.exe" "$win/Terrain.exe"

# fyne package --release's flags (-trimpath, tag release) but the GUI
# subsystem: the packages (GLFW's C code) built for Terrain.exe are reused.
step "Windows console build: terrain-cli.exe"
(cd "$src" && CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
	go build -trimpath -tags migrated_fynedo,release -ldflags "$ldflags" -o "$win/terrain-cli.exe" .)
convert "$src/Icon.png" -define icon:auto-resize=256,64,48,32,16 "$win/Terrain.ico"

step "Windows installer (NSIS) and zip"
makensis -V2 -DVERSION="$fyne_version" -DFULLVERSION="$version" -DSRCDIR="$win" \
	-DOUTFILE="$out/Terrain-$version-windows-amd64-setup.exe" packaging/windows/terrain.nsi
(cd "$win" && zip -q -9 "$out/Terrain-$version-windows-amd64.zip" Terrain.exe terrain-cli.exe)

step "Linux app: fyne package tarball"
(cd "$src" && CGO_ENABLED=1 fyne package --os linux --release --src "$src" --name Terrain --icon "$src/Icon.png" >/dev/null)
mv "$src/Terrain.tar.xz" "$out/Terrain-$version-linux-amd64.tar.xz"

step "SHA256SUMS and its signature"
(cd "$out" && sha256sum -- * >SHA256SUMS)
keyargs=()
if [[ -n "${TERRAIN_SIGNING_KEY_FILE:-}" ]]; then
	keyargs=(-key "$TERRAIN_SIGNING_KEY_FILE")
elif [[ -z "${TERRAIN_SIGNING_KEY:-}" ]]; then
	echo "dist: no TERRAIN_SIGNING_KEY: signing with a throwaway key (dev build)" >&2
	go run ./tools/sign keygen -o "$stage/dev.key" >/dev/null
	keyargs=(-key "$stage/dev.key")
fi
go run ./tools/sign sign "${keyargs[@]}" -o "$out/SHA256SUMS.sig" -pub "$out/release.pub" "$out/SHA256SUMS"
go run ./tools/sign verify -pub "$out/release.pub" "$out/SHA256SUMS" "$out/SHA256SUMS.sig" >/dev/null

step "done: dist/ for $version"
ls -l "$out"
