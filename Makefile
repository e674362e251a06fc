# Terrain: build, test and run. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# A fresh Debian machine set up from go.dev has Go in /usr/local/go without
# it being on PATH yet.
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := /usr/local/go/bin:$(PATH)
endif

# What Fyne (cgo, OpenGL, X11), the PostgreSQL tests and the screenshots
# need. xorg-dev already pulls the X libraries; they are named so that the
# list says what Fyne uses. x11-utils brings xwininfo; poppler-utils the
# pdftotext that the PDF tests read with and the pdftoppm of the screenshots.
DEB_PACKAGES := gcc pkg-config libgl1-mesa-dev xorg-dev \
	libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev \
	postgresql xvfb x11-utils imagemagick poppler-utils

# The app is built as `fyne build` would build it from FyneApp.toml
# ([Migrations] fyneDo = true); UI tests add Fyne's headless driver.
APP_TAGS := migrated_fynedo
UI_TAGS := ci,$(APP_TAGS)

# Under CI, tests really run instead of being replayed from the test cache.
ifeq ($(CI),true)
GOTESTFLAGS ?= -count=1
endif
export UI_TAGS GOTESTFLAGS

# The fuzz targets, as package:Target; `make fuzz` runs each for FUZZTIME.
# Their seed corpora (testdata/fuzz/<Target>/) run with every go test.
FUZZTIME ?= 5m
FUZZ_TARGETS := \
	./sync/protocol:FuzzDecodeRequest \
	./sync/protocol:FuzzDecodeResponse \
	./sync/protocol:FuzzMerge \
	./csvio:FuzzReadMembers \
	./domain:FuzzFold \
	./hlc:FuzzHLC \
	./central/internal/jsonscan:FuzzDecode \
	./store:FuzzRecordCodec

# Every Go file of the repo, minus anything npm may bring in.
GO_FILES = $(shell find . -path ./.git -prune -o -name node_modules -prune -o -name '*.go' -print)

.PHONY: help deps run test lint fmt fmt-check vet staticcheck bench bench-local fuzz soak memory screenshots coldstart icon clean dist windows-check

help:
	@echo 'make run          start Terrain on a development profile'
	@echo 'make test         gofmt check, go vet, staticcheck, then every go test'
	@echo 'make deps         install missing Debian packages and Go modules'
	@echo 'make lint         gofmt check, go vet and staticcheck only'
	@echo 'make fmt          gofmt -w every Go file'
	@echo 'make bench        Terrain against PouchDB over simulated links (BENCH_QUICK=1: 3 minutes)'
	@echo 'make bench-local  each package'"'"'s go test benchmarks'
	@echo 'make soak         run new seeds of the sync simulation for SOAK_SECONDS (default 60)'
	@echo 'make memory       the server'"'"'s peak RSS under 200 hostile devices and 200 first syncs (at most 1 GiB)'
	@echo 'make fuzz         run each fuzz target for FUZZTIME (default 5m), one after another'
	@echo 'make screenshots  screenshots/ of the app under Xvfb, in French and English'
	@echo 'make coldstart    start the real app RUNS times (default 9) under Xvfb: median time to its main window'
	@echo 'make icon         redraw Icon.png from tools/icongen'
	@echo 'make dist         release artefacts into dist/ (Windows installer, Linux tarball, servers, signed SHA256SUMS)'
	@echo 'make clean        remove built binaries and screenshots'

deps:
	@scripts/deps.sh $(DEB_PACKAGES)
	@go mod download

run: deps
	APP_TAGS=$(APP_TAGS) scripts/run.sh

# The Go tests run beside a throwaway PostgreSQL server, so that
# TERRAIN_TEST_POSTGRES is always set under `make test`.
test: lint windows-check
	scripts/with-postgres.sh scripts/go-test.sh

# Vets the packages that need no cgo for windows/amd64 and builds the
# store and sync test binaries for it (docs/windows.md).
windows-check: deps
	scripts/windows-check.sh

lint: fmt-check vet staticcheck

fmt-check: deps
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [[ -n "$$unformatted" ]]; then \
		echo 'gofmt: these files need formatting (make fmt):'; \
		echo "$$unformatted"; \
		exit 1; \
	fi

fmt:
	gofmt -w $(GO_FILES)

vet: deps
	go vet ./...

staticcheck: deps
	go tool staticcheck ./...

# Terrain against PouchDB over simulated links (bench/, docs/benchmarks.md);
# BENCH_QUICK=1: 300 members, loopback and satellite only.
bench: deps
	scripts/with-postgres.sh go run ./bench $(if $(filter 1 true yes,$(BENCH_QUICK)),-quick)

# Each package's own benchmarks (go test -bench), benchstat-friendly.
bench-local: deps
	scripts/with-postgres.sh go test -tags $(UI_TAGS) -run '^$$' -bench . -benchmem ./...

# One target after another; a failing one does not stop the others, and
# its minimised input lands in the package's testdata/fuzz/<Target>/. No
# deps: none of the fuzzed packages needs cgo or the Debian packages.
fuzz:
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
		pkg="$${t%%:*}"; name="$${t##*:}"; \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel 1 "$$pkg" || failed="$$failed $$name"; \
	done; \
	if [[ -n "$$failed" ]]; then echo "fuzz: failed:$$failed"; exit 1; fi

# New seeds of the sync simulation (sync/sim) until SOAK_SECONDS have
# passed; the last line is `seeds=S faults=F lost=L duplicated=D diverged=V`,
# and the exit status is non-zero unless L, D and V are 0. go test -v shows
# the test's output; its own RUN/PASS lines are left out.
# SOAK_FLAGS=-restores=false leaves the server's restores out of the workload
# (their open defects are listed in sync/sim, openDefects).
SOAK_SECONDS ?= 60
soak:
	@go test -run '^TestSoak$$' -count=1 -v -timeout 0 ./sync/sim -soak=$(SOAK_SECONDS)s $(SOAK_FLAGS) \
		| grep -Ev '^(=== (RUN|PAUSE|CONT)|--- (PASS|FAIL|SKIP)|PASS$$|FAIL$$|ok |FAIL	)'

# The memory campaign of issue 12: terrain-load runs the server in a child
# process and fails when its peak resident memory passes MEMORY_MAX_MIB.
MEMORY_DEVICES ?= 200
MEMORY_MAX_MIB ?= 1024
memory:
	go run ./cmd/terrain-load -scenario hostile -devices $(MEMORY_DEVICES) -duration 30s -max-rss $(MEMORY_MAX_MIB)
	go run ./cmd/terrain-load -scenario first-sync -devices $(MEMORY_DEVICES) -members 10000 -visits 0 -max-rss $(MEMORY_MAX_MIB)

screenshots: deps
	APP_TAGS=$(APP_TAGS) scripts/screenshots.sh

# Cold start of the real binary on a demo profile under Xvfb; measure on a
# quiet machine (docs/app.md, Figures).
coldstart: deps
	APP_TAGS=$(APP_TAGS) scripts/coldstart.sh

icon:
	go run ./tools/icongen -o Icon.png

# Every release artefact, signed (scripts/dist.sh; docs/operations.md).
# Minutes long: not part of make test.
dist: deps
	scripts/dist.sh

clean:
	rm -rf screenshots terrain terrain-central dist
