# Quartermaster — run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
BIN      := $(CURDIR)/bin
PKGS     := ./...
FUZZTIME ?= 2m
# The local control plane's tools (hack/tools.sh builds them once per version) and the e2e suite's time budget.
QM_TOOLS_BIN ?= $(CURDIR)/.cache/bin
E2E_TIMEOUT  ?= 20m
export QM_TOOLS_BIN

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build qm, webhook and auditor into ./bin.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: demo
demo: build ## Decide on the example workloads with the embedded catalog (qm eval).
	@echo "\$$ qm eval -f examples/workloads/ --quota examples/quotas.yaml --usage examples/usage.yaml"
	@$(BIN)/qm eval -f examples/workloads/ --quota examples/quotas.yaml --usage examples/usage.yaml; \
	  code=$$?; echo; echo "qm exited $$code (0 allowed, 2 denied, 3 no feasible placement: the examples include one)"; \
	  [ $$code -ne 1 ]

.PHONY: test
test: lint test-go e2e ## Everything CI runs: lint, unit tests, then the chart and real-cluster e2e tests.

.PHONY: test-go
test-go: ## Go unit, property and contract tests with the race detector.
	$(GO) test -race -count=1 $(PKGS)

.PHONY: lint
lint: ## gofmt, go vet and staticcheck.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

.PHONY: tools-cluster
tools-cluster: ## Build etcd, kube-apiserver/scheduler/controller-manager, kubectl, kwok and helm (cached per version).
	hack/tools.sh

.PHONY: cluster-up
cluster-up: tools-cluster build ## Start a local control plane with KWOK GPU nodes from the catalog (prints KUBECONFIG).
	hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local control plane started by cluster-up and remove its folder.
	hack/cluster-down.sh

.PHONY: chart-lint
chart-lint: tools-cluster ## helm lint the chart, strict, with its default and e2e values.
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster --set webhook.inCluster=false \
	  --set webhook.externalURL=https://127.0.0.1:1 --set webhook.externalCABundle=Cg== --set webhook.failurePolicy=Ignore

.PHONY: e2e
e2e: tools-cluster chart-lint ## Chart template tests and real-cluster end-to-end tests (starts and stops its own cluster).
	$(GO) vet -tags e2e ./test/...
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v ./test/...

.PHONY: bench
bench: ## Benchmarks (placement, extraction); figures go in the issue notes.
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./internal/placement/ ./internal/workload/ | tee $(BIN)/bench.txt

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 2m).
	@for spec in \
	  ./internal/workload:FuzzExtract \
	  ./internal/workload:FuzzAnnotations \
	  ./internal/workload:FuzzDecodeManifests \
	  ./internal/costing:FuzzReadCSV \
	  ./internal/costing:FuzzReadSkyPilot \
	  ./internal/placement:FuzzReadGPUCounts; do \
	  pkg=$${spec%%:*}; target=$${spec##*:}; \
	  echo "== $$target ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
