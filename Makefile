# Trailscope: `make run` and `make test` install what is missing on Debian/Ubuntu, build, and go.
SHELL := /bin/bash
GO ?= go
TAGS := migrated_fynedo
BIN := ./trailscope
CACHE := .cache
# System packages Fyne needs to build (cgo, OpenGL, X11), plus Xvfb and tools for the UI tests.
DEB_PACKAGES := gcc pkg-config libgl1-mesa-dev libxcursor-dev libxrandr-dev libxinerama-dev \
	libxi-dev libxxf86vm-dev xvfb xauth imagemagick xdotool time
export CGO_ENABLED := 1
# The app and its benchmarks are optimised by a CPU profile of its hot paths (see pgo).
PGO := -pgo=$(CURDIR)/assets/default.pgo

.PHONY: deps build release debug run test test-ui bench pgo eval package clean fuzz

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
			sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "Missing system packages. Run:"; \
			echo "  sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is required: https://go.dev/dl/"; exit 1; }
	@$(GO) mod download

build: deps
	$(GO) build -tags $(TAGS) $(PGO) -o $(BIN) .

# The release build: no local paths in the binary.
release: deps
	$(GO) build -tags $(TAGS) $(PGO) -trimpath -ldflags "-s -w" -o $(BIN) .

# A debug build: the race detector and Fyne's thread checks (no migrated_fynedo tag).
debug: deps
	$(GO) build -race -o $(BIN)-debug .

run: build
	$(BIN)

test: deps
	@unformatted="$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go'))"; \
		if [ -n "$$unformatted" ]; then echo "not gofmt-ed:" $$unformatted; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...
	$(GO) test -tags $(TAGS) -timeout 25m ./...
	$(GO) test -tags $(TAGS) -race -short -timeout 20m ./data/... ./analytics/... ./app/...
	$(MAKE) --no-print-directory test-ui

# The real window under Xvfb: waits for "dashboard ready", takes a screenshot, checks the charts.
test-ui: build
	TRAILSCOPE_BIN=$(abspath $(BIN)) $(GO) test -tags $(TAGS) -count=1 -run TestRealWindow ./ui/...

# Benchmarks on generated corpora cached in .cache/: ingest (1M events in S3 layout, 100k in
# small files, a 1 GiB Records file, a nested archive, 5M events of a month), then search, pivots, the dashboard's reads and analysis on the
# 1M-event case, then the engine and chart rendering alone.
# The name changes with the case's storage format (v2: packed JSON), so the store's figures are
# measured on today's format.
BENCH_CASE := $(CACHE)/bench-1m-v3.tsc
bench: build
	$(GO) test -tags $(TAGS) $(PGO) -run '^$$' -bench Ingest -benchtime 1x -timeout 60m ./data/ingest/
	@# The case is made again when the corpus was (a new generator makes a new corpus).
	@[ $(BENCH_CASE) -nt $(CACHE)/bench/s3-1m-seed1.generator ] || { echo "loading the 1M-event corpus into $(BENCH_CASE)"; \
		rm -f $(BENCH_CASE) $(BENCH_CASE)-wal $(BENCH_CASE)-shm; \
		$(BIN) ingest --case $(BENCH_CASE) --format json $(CACHE)/bench/s3-1m-seed1 >/dev/null; }
	/usr/bin/time -f "analyze --rebuild: %e s, peak %M KB" $(BIN) analyze --rebuild --case $(BENCH_CASE)
	TRAILSCOPE_BENCH_CASE=$(abspath $(BENCH_CASE)) $(GO) test -tags $(TAGS) $(PGO) -run '^$$' -bench . -benchtime 10x ./data/store/ ./app/
	$(GO) test -tags $(TAGS) $(PGO) -run '^$$' -bench . ./analytics/baseline/ ./analytics/direction/ ./ui/

# assets/default.pgo is the CPU profile Go's compiler optimises the hot paths by (profile-guided
# optimisation): a 1M-event load of the benchmark corpus, its analysis, and the searches and
# counts on the benchmark case, merged. The app's builds use it (build, release, package), and
# the benchmarks are built with it too, so that they measure the code that ships. Make it again
# after large changes to the hot paths.
pgo: build
	@[ -d $(CACHE)/bench/s3-1m-seed1 ] || $(GO) test -tags $(TAGS) -run '^$$' -bench IngestS3 -benchtime 1x -timeout 30m ./data/ingest/
	rm -f $(CACHE)/pgo-case.tsc*
	TRAILSCOPE_BENCH_CHILD="$(abspath $(CACHE))/pgo-case.tsc|$(abspath $(CACHE))/bench/s3-1m-seed1|$(abspath $(CACHE))/pgo-child.json" \
		$(GO) test -tags $(TAGS) -count=1 -run '^TestBenchChild$$' -o $(CACHE)/pgo-ingest.test -cpuprofile $(CACHE)/pgo-ingest.prof ./data/ingest/
	$(BIN) analyze --case $(CACHE)/pgo-case.tsc >/dev/null
	$(GO) test -tags $(TAGS) -run '^$$' -bench Analyze -o $(CACHE)/pgo-analyze.test -cpuprofile $(CACHE)/pgo-analyze.prof ./analytics/baseline/
	TRAILSCOPE_BENCH_CASE=$(abspath $(CACHE))/pgo-case.tsc $(GO) test -tags $(TAGS) -run '^$$' -bench 'Search|Count|Pivot|Overview' -benchtime 3x \
		-o $(CACHE)/pgo-store.test -cpuprofile $(CACHE)/pgo-store.prof ./data/store/
	$(GO) tool pprof -proto $(CACHE)/pgo-ingest.prof $(CACHE)/pgo-analyze.prof $(CACHE)/pgo-store.prof > assets/default.pgo
	rm -f $(CACHE)/pgo-case.tsc* $(CACHE)/pgo-*.test $(CACHE)/pgo-child.json

eval: deps
	$(GO) test -tags $(TAGS) -count=1 -run TestEval -v -timeout 60m ./analytics/eval -args -full

fuzz: deps
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./data/cloudtrail
	$(GO) test -run '^$$' -fuzz FuzzParseDigest -fuzztime 60s ./data/cloudtrail
	$(GO) test -run '^$$' -fuzz FuzzExpand -fuzztime 60s ./data/source
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./data/query
	$(GO) test -run '^$$' -fuzz FuzzFieldValues -fuzztime 60s ./data/query
	$(GO) test -run '^$$' -fuzz FuzzMatchTerm -fuzztime 60s ./data/query
	$(GO) test -run '^$$' -fuzz FuzzImport -fuzztime 60s ./data/sigma
	$(GO) test -run '^$$' -fuzz FuzzUnpackJSON -fuzztime 60s ./data/store

package: deps
	GOFLAGS=$(PGO) $(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux -release -tags $(TAGS)

clean:
	rm -rf $(BIN) $(BIN)-debug $(CACHE)
