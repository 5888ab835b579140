# Quartermaster — run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
BIN      := $(CURDIR)/bin
PKGS     := ./...
FUZZTIME ?= 2m

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build qm, webhook and auditor into ./bin.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: demo
demo: build ## Decide on the example workloads with the embedded catalog (qm eval).
	@echo "\$$ qm eval -f examples/workloads/ --quota examples/quotas.yaml --usage examples/usage.yaml --cluster-state examples/cluster-state.yaml --inventory examples/inventory.yaml"
	@code=0; $(BIN)/qm eval -f examples/workloads/ --quota examples/quotas.yaml --usage examples/usage.yaml \
	  --cluster-state examples/cluster-state.yaml --inventory examples/inventory.yaml || code=$$?; \
	  echo; echo "qm exited $$code (0 allowed, 2 denied, 3 no feasible placement: the examples include both)"; \
	  [ $$code -ne 1 ]

.PHONY: test
test: lint tools-solvers test-go test-rego ## Everything CI runs: lint and all tests.

.PHONY: test-go
test-go: ## Go unit, property and contract tests with the race detector.
	$(GO) test -race -count=1 $(PKGS)

.PHONY: test-rego
test-rego: ## Rego library: opa fmt, check --strict, opa test with >= 90% coverage (qm test).
	$(GO) run ./cmd/qm test policies/rego --coverage-min 90

.PHONY: generate
generate: ## Regenerate docs/policy-input.schema.json from the Go types.
	$(GO) test ./internal/policy -run '^TestSchemaIsCurrent$$' -update -count=1

.PHONY: lint
lint: ## gofmt, go vet and staticcheck.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

.PHONY: tools-solvers
tools-solvers: ## Install the reference MILP solvers (CBC, GLPK) from Debian when missing.
	@missing=""; \
	  command -v cbc >/dev/null || missing="$$missing coinor-cbc"; \
	  command -v glpsol >/dev/null || missing="$$missing glpk-utils"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi

.PHONY: bench
bench: bench-optimizer ## Benchmarks (placement, extraction, policy, optimizer); figures go in the issue notes.
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./internal/placement/ ./internal/workload/ ./internal/policy/ | tee $(BIN)/bench.txt

.PHONY: bench-optimizer
bench-optimizer: tools-solvers ## Batch optimizer, 500 workloads x 2,000 offers, 10 seeds, side by side with CBC.
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench='^BenchmarkOptimizerVsCBC$$' -benchtime=1x -count=1 -v -timeout=60m ./internal/placement/ | tee $(BIN)/bench-optimizer.txt

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 2m).
	@for spec in \
	  ./internal/workload:FuzzExtract \
	  ./internal/workload:FuzzAnnotations \
	  ./internal/workload:FuzzDecodeManifests \
	  ./internal/costing:FuzzReadCSV \
	  ./internal/costing:FuzzReadSkyPilot \
	  ./internal/placement:FuzzReadGPUCounts \
	  ./internal/costing:FuzzDatasetCloud \
	  ./internal/encryption:FuzzReadClusterState \
	  ./internal/encryption:FuzzReadInventory \
	  ./internal/policy:FuzzLoadData; do \
	  pkg=$${spec%%:*}; target=$${spec##*:}; \
	  echo "== $$target ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
