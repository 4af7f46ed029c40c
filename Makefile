# Omnitray. `make run` shows the whole thing on the sandbox; `make test` is
# what CI runs. Every target works on a fresh Debian/Ubuntu machine with Go.

GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: run build test vet fmt-check lint bench bench-short clean test-desktop screenshot

run: build
	$(BIN)/omnitray demo

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/omnitray ./cmd/omnitray-hub

# The end-to-end and chaos packages run one at a time after the rest: they
# start real processes and a hundred agents, and their timing checks (an
# online write within a poll interval + 1 s) must not compete with the
# other packages for the CPU.
# -count=1: e2e builds the binaries it runs in TestMain, which Go's test
# cache cannot see, so a cached pass could hide a change to the agent or hub.
SERIAL_PKGS := ./cmd/internal/chaos ./cmd/internal/e2e
test: fmt-check vet
	$(GO) test -race -timeout 15m $$($(GO) list $(PKGS) | grep -v -e /cmd/internal/chaos -e /cmd/internal/e2e)
	$(GO) test -race -timeout 15m -p 1 -count=1 $(SERIAL_PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# lint is vet plus gofmt's simplification check and a build for Windows, so
# that per-OS code stays compilable without cgo.
lint: fmt-check vet
	@out=$$(gofmt -s -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt -s would simplify:"; echo "$$out"; exit 1; fi
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build $(PKGS)

# test-desktop runs the desktop tests inside a private headless desktop
# (.ci/desktop-session.sh: session bus, unlocked gnome-keyring, tray watcher,
# dunst on Xvfb, and a private "system" bus for the fake logind). Convention:
# desktop tests are named TestDesktop* and call testdesktop.Need first, so a
# plain `make test` skips them; OMNITRAY_DESKTOP_TESTS=1 turns a missing
# session into a failure. -p 1: the packages share one tray, one dunst and
# the bus names the fakes own. Install the Debian packages once with
# `bash .ci/desktop-session.sh install` (root).
DESKTOP_RUN   ?= Desktop
DESKTOP_FLAGS ?= -race -count=1 -p 1 -timeout 15m
test-desktop:
	DESKTOP_SYSTEM_BUS=1 bash .ci/desktop-session.sh run -- \
		env OMNITRAY_DESKTOP_TESTS=1 $(GO) test $(DESKTOP_FLAGS) -run '$(DESKTOP_RUN)' $(PKGS)

# screenshot renders the tray through a real xfce4-panel on Xvfb;
# cmd/internal/screenshot takes the pictures (SCREENSHOT_ARGS are its flags).
SCREENSHOT_ARGS ?=
screenshot:
	DESKTOP_TRAY=xfce4-panel bash .ci/desktop-session.sh run -- \
		$(GO) run ./cmd/internal/screenshot $(SCREENSHOT_ARGS)

# bench runs the Go benchmarks and the measurements around them (idle agents,
# headless and with the tray in .ci/desktop-session.sh; a Chromium tab for
# comparison; binary sizes) and rewrites docs/benchmarks.md, all in one run:
# cmd/internal/benchreport (its --help lists the other knobs). BENCH_IDLE_SECONDS
# shortens the 10-minute idle window for a quick look; such a report says so
# and is not for checking in.
BENCH_IDLE_SECONDS ?= 600
bench:
	$(GO) run ./cmd/internal/benchreport all --go '$(GO)' --idle-seconds $(BENCH_IDLE_SECONDS)

# bench-short runs every Go benchmark once (CI): they still check what they
# can (no status message misrouted, the writes an hour add up), and cannot rot.
# The figures of one iteration mean nothing; make bench measures.
bench-short:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 15m ./...

clean:
	rm -rf $(BIN)

# chaos: 100 agents, 30 % faults on both APIs, two hub restarts, 5 minutes
# per phase (a fault-free baseline, then the chaos), against one hub and
# then against three replicas in one process (their restarts: the leader,
# then a follower): about 25 minutes. -run 'TestChaos/one' or
# 'TestChaos/three' picks one topology.
chaos:
	CHAOS_DURATION=5m $(GO) test -count=1 -timeout 50m -run TestChaos -v ./cmd/internal/chaos/

# chaos-cluster: three hub replicas as processes and 36 agents; the leader
# killed, then stopped, the replicas restarted one by one, then all at once
# (cmd/internal/e2e, TestClusterFailover). `make test` runs a 12-agent
# version. OMNITRAY_CLUSTER_SCENARIOS picks and repeats scenarios, in order
# (e.g. ab, or aaaa for four leader kills).
.PHONY: chaos-cluster
chaos-cluster:
	OMNITRAY_CLUSTER_E2E=long $(GO) test -count=1 -timeout 20m -run '^TestClusterFailover$$' -v ./cmd/internal/e2e/

# fuzz runs every fuzz target for FUZZTIME each (CI: 30s). go test -fuzz takes
# one target and one package per run; the seed corpora in testdata/fuzz also
# run as plain tests under `make test`. On Go 1.26 a duration FUZZTIME can end
# in a bare "context deadline exceeded" with no failing input written: that is
# the toolchain's shutdown race (go.dev/issue/75804), not a finding; a count
# such as FUZZTIME=200000x avoids it.
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./sync/feed/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeData$$' -fuzztime $(FUZZTIME) ./sync/feed/
	$(GO) test -run '^$$' -fuzz '^FuzzStaffList$$' -fuzztime $(FUZZTIME) ./sync/omnidesk/
	$(GO) test -run '^$$' -fuzz '^FuzzStatuses$$' -fuzztime $(FUZZTIME) ./sync/omnidesk/
	$(GO) test -run '^$$' -fuzz '^FuzzTime$$' -fuzztime $(FUZZTIME) ./sync/omnidesk/
	$(GO) test -run '^$$' -fuzz '^FuzzEnvelope$$' -fuzztime $(FUZZTIME) ./sync/chaport/
	$(GO) test -run '^$$' -fuzz '^FuzzEvent$$' -fuzztime $(FUZZTIME) ./sync/chaport/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime $(FUZZTIME) ./sync/hub/
	$(GO) test -run '^$$' -fuzz '^FuzzReadConfigFile$$' -fuzztime $(FUZZTIME) ./cmd/omnitray/
