# berth — build, test, demo. Every target works on a fresh Debian machine as root.
SHELL := /bin/bash
GO ?= go
export GOFLAGS := -mod=mod
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
TOOLS := $(CURDIR)/bin/tools

.PHONY: all build test unit e2e lint runtime demo bench soak clean fuzz

all: build

# berth and berth-logger, the tiny per-container log process the shims start;
# berth finds it beside its own binary.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/berth ./cmd/berth
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/berth-logger ./cmd/berth-logger

# The whole suite: set-up of the runtime (installs and starts containerd when
# missing), vet, unit and end-to-end tests. In CI (CI=true) an end-to-end test
# that cannot reach containerd fails instead of skipping.
test: runtime build
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 -timeout 40m ./...

unit:
	$(GO) test -count=1 -short ./...

runtime:
	bash scripts/install-runtime.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@test -x $(TOOLS)/staticcheck || GOBIN=$(TOOLS) GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(TOOLS)/staticcheck ./...
	bash scripts/check-layers.sh

fuzz:
	$(GO) test ./project -run '^$$' -fuzz FuzzLoad -fuzztime 60s

# The main job: examples/devenv up and answering on 127.0.0.1, then what to try next.
# scripts/demo.sh installs the runtime, builds berth and the example images itself.
demo:
	bash scripts/demo.sh

# berth against the floors (the same work done directly through containerd, networked
# through go-cni or natively), side by side, with CPU times, and against Docker Compose
# when a docker daemon answers, in namespace berth-bench and a temporary data root, both
# removed at the end; then the Go benchmarks of the pure hot paths. About 7 minutes on 2
# cores.
bench: runtime
	bash scripts/bench.sh
	$(GO) test -run '^$$' -bench . ./project ./service ./internal/progress

# The soak in full: 50 rounds of up -d / down -v of a ten-service stack (make test runs 5).
soak: runtime build
	BERTH_SOAK=1 $(GO) test -count=1 -timeout 30m -run TestE2ESoak -v ./cmd/berth

clean:
	rm -rf bin
