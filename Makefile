# berth — build, test, demo. Every target works on a fresh Debian machine as root.
SHELL := /bin/bash
GO ?= go
export GOFLAGS := -mod=mod
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
TOOLS := $(CURDIR)/bin/tools

.PHONY: all build test test-stress unit race e2e lint runtime kube-test-deps demo bench soak clean fuzz kube-validate test-cni

all: build

# berth; berth-logger, the tiny per-container log process the shims start;
# berth-helper, the DNS, restart and health process berth starts on demand (no
# Compose loader in it); and berth-kube, the same command line with the Kubernetes
# client, which `berth kube` and `berth bridge` hand over to (berth without it starts
# in two thirds of the time). berth finds them beside its own binary.
# urfave_cli_no_docs leaves out the CLI library's man and markdown writers, which
# berth does not use, and their package inits (≈ 1 ms of each command's start).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags kubeplugin,urfave_cli_no_docs -ldflags '$(LDFLAGS)' -o bin/berth ./cmd/berth
	CGO_ENABLED=0 $(GO) build -trimpath -tags urfave_cli_no_docs -ldflags '$(LDFLAGS)' -o bin/berth-kube ./cmd/berth
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/berth-logger ./cmd/berth-logger
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/berth-helper ./cmd/berth-helper

# The whole suite: set-up of the runtime (installs and starts containerd when
# missing), the lint bar (gofmt, vet, staticcheck, package layering), the unit
# tests under the race detector, then every test against the real containerd.
# In CI (CI=true) an end-to-end test that cannot reach containerd fails instead
# of skipping.
test: runtime kube-test-deps build lint race kube-validate
	$(GO) test -count=1 -p 1 -timeout 40m ./...
	$(CNI_TESTS)
	timeout 600 bash scripts/stress.sh -runs 1 -run '^TestE2E(UpErrors|KilledUpConverges|ConcurrentUpDown)$$'

# The network tests again on the CNI backend (--network-backend cni, selected through
# BERTH_NETWORK_BACKEND): the network package's e2e tests, and berth's end to end on
# networks, ports, DNS, crashes and concurrency. The run above is on the native backend.
CNI_E2E = TestE2E(NetworkIsolationAndPorts|PortInUse|NetworkModeShared|ChangedNetworkIsRecreated|ServiceDiscovery|HelperFallback|KilledUpConverges|ConcurrentUpDown|ParallelProjects|ReplicasHostnameAndPortRange)
CNI_TESTS = BERTH_NETWORK_BACKEND=cni $(GO) test -count=1 -p 1 -timeout 20m ./network/ && \
	BERTH_NETWORK_BACKEND=cni $(GO) test -count=1 -p 1 -timeout 20m -run '^$(CNI_E2E)$$' ./cmd/berth
test-cni: runtime build
	$(CNI_TESTS)

# The loaded-machine run: up/down, error-path, crash and concurrency e2e tests beside
# two CPU-bound processes, five times in a row.
test-stress: runtime build
	bash scripts/stress.sh -runs 5

# berth kube convert's output for every Compose file of the repository (corpus, examples,
# golden cases), checked as the API server checks a create (k8s.io/kubernetes v1.37.2 in a
# test-only module, tools/kubevalidate, so that berth's module never requires it).
kube-validate:
	cd tools/kubevalidate && $(GO) test -count=1 ./...

# Unit tests only: -short skips every end-to-end test, so this touches no daemon
# and needs no root.
unit:
	$(GO) test -count=1 -short ./...

# The unit tests under the race detector (end-to-end tests skip under -short).
race:
	$(GO) test -count=1 -short -race ./...

runtime:
	bash scripts/install-runtime.sh

# The Kubernetes control plane of the `berth kube` tests (internal/kubetest): etcd,
# kube-apiserver, kube-controller-manager and kubectl, cached in /var/cache/berth/kube.
# The first run builds them from the Go module proxy (12-30 min); later runs do nothing.
kube-test-deps:
	bash scripts/install-kube-test.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags kubeplugin ./cmd/berth
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
