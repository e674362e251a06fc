#!/usr/bin/env bash
# Cross-compiles and vets for Windows (amd64, no cgo) every package that
# does not need cgo there: all but those built on Fyne's GLFW driver (the
# app's main package; the Windows app itself is built by make dist with
# mingw-w64). Catches Windows-only breakage (a syscall, a build tag, a
# path assumption) on every `make test`, in well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
mapfile -t packages < <(go list -deps=false -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}' ./... |
	awk '!/ github.com\/go-gl\/glfw/ { print $1 }')
if [[ ${#packages[@]} -lt 10 ]]; then
	echo "windows-check: only ${#packages[@]} packages selected; the filter is broken" >&2
	exit 1
fi
# vet type-checks the test files too; test binaries are built (not run)
# for the packages whose tests Wine can run (docs/windows.md).
go vet "${packages[@]}"
go build -o /dev/null ./cmd/terrain-central
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pkg in ./store ./sync/client ./sync/engine ./central/badgerdb; do
	go test -c -o "$tmp/" "$pkg"
done
echo "windows-check: ${#packages[@]} packages vetted for windows/amd64"
