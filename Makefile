# Omnitray. `make run` shows the whole thing on the sandbox; `make test` is
# what CI runs. Every target works on a fresh Debian/Ubuntu machine with Go.

GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: run build test vet fmt-check lint bench clean

run: build
	$(BIN)/omnitray demo

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

test: fmt-check vet
	$(GO) test -race -timeout 15m $(PKGS)

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf $(BIN)
