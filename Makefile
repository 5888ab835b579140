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
# The race detector, for every check make test runs: vet, staticcheck, the unit tests, qm test and the e2e suite
# (whose webhook and qm binaries are built with it too). One build configuration means the project's dependencies
# compile once, not once plain and once with -race: on a fresh 2-core machine that is minutes. RACE= turns it off.
RACE ?= -race
# No DWARF in those builds either: it is for debuggers, while race reports and panics symbolise from the pclntab, and
# the compile is about an eighth faster without it. Every check uses exactly these flags, so they share one build.
CHECK_FLAGS := $(RACE) -gcflags=all=-dwarf=false
# make test vets once, in lint; go test's own vet pass over the same packages would only repeat it.
TEST_VET ?=
STATICCHECK := $(BIN)/staticcheck

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build every command (qm, webhook, auditor) into ./bin.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: image
image: ## Build the container image (static webhook and qm, empty base, user 65532, no shell) without Docker: bin/image (OCI layout), bin/image.tar; prints digest and size.
	$(GO) run ./hack/image --out $(BIN)

.PHONY: demo
demo: build ## Decide on the example workloads (qm eval), then audit the example inventory (auditor), with the embedded catalog and policies.
	@echo "\$$ qm eval -f examples/workloads/ --quota examples/quotas.yaml --usage examples/usage.yaml --cluster-state examples/cluster-state.yaml --inventory examples/inventory.yaml"
	@code=0; $(BIN)/qm eval -f examples/workloads/ --quota examples/quotas.yaml --usage examples/usage.yaml \
	  --cluster-state examples/cluster-state.yaml --inventory examples/inventory.yaml || code=$$?; \
	  echo; echo "qm exited $$code (0 allowed, 2 denied, 3 no feasible placement: the examples include both)"; \
	  [ $$code -ne 1 ]
	@# The audit compares with three earlier nights (examples/inventory/history, copied so that the demo can be rerun).
	@rm -rf $(BIN)/demo-history && mkdir -p $(BIN) && cp -r examples/inventory/history $(BIN)/demo-history
	@echo; echo "\$$ auditor --snapshot examples/inventory/snapshot.jsonl --history dir://$(BIN)/demo-history --out $(BIN)/demo-audit"
	@$(BIN)/auditor --snapshot examples/inventory/snapshot.jsonl --history dir://$(BIN)/demo-history --out $(BIN)/demo-audit 2>/dev/null
	@echo "open $(BIN)/demo-audit/index.html (charts, trend, findings); report.json, report.sarif and metrics.prom are beside it"

.PHONY: test
test: ## Everything CI runs: lint, unit tests, policy tests, then the S3 tests on MinIO and the chart and real-cluster e2e tests.
	@# The tools build (the cluster's and MinIO: minutes on a fresh machine, nothing once cached) runs in the background
	@# from the start, beside lint and the unit tests: it needs nothing from them, and they leave cores idle while
	@# downloading, linking and running tests. Its output goes to bin/tools.log, shown once it ends; it is stopped if the
	@# checks fail. What needs the tools (test-minio, e2e) runs only after it has ended.
	@mkdir -p $(BIN)
	@setsid hack/tools.sh >$(BIN)/tools.log 2>&1 & tools=$$!; \
	  trap 'kill -- -$$tools 2>/dev/null || true' EXIT; \
	  echo "hack/tools.sh started in the background (pid $$tools, log bin/tools.log)"; \
	  $(GO) mod download; \
	  $(MAKE) --no-print-directory lint tools-solvers tools-prometheus test-go test-bdd test-rego TEST_VET=off; \
	  echo "waiting for hack/tools.sh"; \
	  status=0; wait $$tools || status=$$?; trap - EXIT; \
	  cat $(BIN)/tools.log; \
	  if [ $$status -ne 0 ]; then echo "hack/tools.sh failed (exit $$status)"; exit $$status; fi
	$(MAKE) --no-print-directory test-minio e2e TEST_VET=off

# The features run in test-bdd, where their scenario count is shown, not a second time here.
FEATURE_PKGS := ./features/...

.PHONY: test-go
test-go: tools-solvers tools-prometheus tools-chromium tools-emulators ## Go unit, property and contract tests with the race detector (the features run in test-bdd).
	QM_EMULATORS_BIN=$(EMULATORS)/node_modules/.bin $(GO) test $(CHECK_FLAGS) -vet=$(TEST_VET) -count=1 $$($(GO) list $(PKGS) | grep -v '/features\(/\|$$\)')

# The packages with tests against a real MinIO (files tagged minio; every such test has MinIO in its name).
MINIO_PKGS := ./internal/inventory/aws/ ./internal/history/

.PHONY: test-minio
test-minio: tools-minio ## S3 adapters against a real MinIO the tests start (bucket scan, history store); needs the minio build tag.
	@# Only the MinIO tests: the rest of these packages ran in test-go. A missing MinIO fails them, never skips them.
	$(GO) test $(CHECK_FLAGS) -vet=$(TEST_VET) -tags minio -count=1 -run MinIO $(MINIO_PKGS)

.PHONY: test-bdd
test-bdd: ## Gherkin features (godog, strict) with their scenario count, and the checks on the specification.
	@mkdir -p $(BIN)
	@# go test shows a passing package's output only with -v; the summary lines are what is kept of it.
	@status=0; $(GO) test $(CHECK_FLAGS) -vet=$(TEST_VET) -count=1 -v $(FEATURE_PKGS) >$(BIN)/test-bdd.log 2>&1 || status=$$?; \
	  if [ $$status -ne 0 ]; then cat $(BIN)/test-bdd.log; echo "features failed (full output above, and in bin/test-bdd.log)"; exit $$status; fi; \
	  grep -E '^[0-9]+ (scenarios|steps) |^features: |^--- |^(ok|FAIL) ' $(BIN)/test-bdd.log

.PHONY: features-report
features-report: ## Run the features and write bin/features.json (cucumber) and bin/features.html.
	@mkdir -p $(BIN)
	@rm -f $(BIN)/features.json
	@# -run '^$$': only TestMain's scenarios; a failing run still writes its report, then fails.
	status=0; $(GO) test $(CHECK_FLAGS) -count=1 -run '^$$' ./features \
	  -args -godog.format=progress,cucumber:$(BIN)/features.json || status=$$?; \
	  $(GO) run ./features/report -in $(BIN)/features.json -out $(BIN)/features.html; exit $$status

.PHONY: features-broken-policy
features-broken-policy: ## Show which scenarios fail, and why, under a residency policy edited to allow everything.
	$(GO) test $(CHECK_FLAGS) -count=1 -v -run '^TestBrokenResidencyPolicyFailsItsScenarios$$' ./features

.PHONY: test-rego
test-rego: ## Rego library: opa fmt, check --strict, opa test with >= 90% coverage (qm test).
	$(GO) run $(CHECK_FLAGS) ./cmd/qm test policies/rego --coverage-min 90

.PHONY: generate
generate: ## Regenerate docs/policy-input.schema.json and docs/report.schema.json from the Go types.
	$(GO) test ./internal/policy -run '^TestSchemaIsCurrent$$' -update -count=1
	$(GO) test ./internal/report -run '^TestSchemaIsCurrent$$' -update -count=1

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet and staticcheck.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(CHECK_FLAGS) $(PKGS)
	$(GO) vet $(CHECK_FLAGS) -tags minio $(MINIO_PKGS)
	@# staticcheck type-checks against export data from `go list -export`: GOFLAGS gives it the same build as vet's.
	GOFLAGS="$(strip $(GOFLAGS) $(CHECK_FLAGS))" $(STATICCHECK) $(PKGS)
	GOFLAGS="$(strip $(GOFLAGS) $(CHECK_FLAGS))" $(STATICCHECK) -tags minio $(MINIO_PKGS)

# staticcheck itself is built without the race detector (it would only slow it down), once per version.
STATICCHECK_VERSION := v0.8.2
$(STATICCHECK): Makefile
	@mkdir -p $(BIN)
	GOBIN=$(BIN) GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: tools-solvers
tools-solvers: ## Install the reference MILP solvers (CBC, GLPK) from Debian when missing.
	@missing=""; \
	  command -v cbc >/dev/null || missing="$$missing coinor-cbc"; \
	  command -v glpsol >/dev/null || missing="$$missing glpk-utils"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi

# The storage emulator of internal/history's tests (docs/history.md): Azurite (Azure Blob), from npm. S3's is MinIO
# (tools-minio, test-minio).
EMULATORS := $(BIN)/emulators

.PHONY: tools-emulators
tools-emulators: ## Install the storage emulator of the history tests (Azurite) from npm into bin/emulators when missing.
	@if [ -x $(EMULATORS)/node_modules/.bin/azurite-blob ]; then :; \
	  elif command -v npm >/dev/null; then echo "installing azurite"; \
	    npm install --no-audit --no-fund --silent --prefix $(EMULATORS) azurite@3.37.0 >/dev/null; \
	  else echo "npm not found: the history tests need it for Azurite (Node.js and npm come with the machine)"; exit 1; fi

.PHONY: tools-prometheus
tools-prometheus: ## Install Prometheus from Debian when missing: the GPU metrics source's tests scrape a DCGM-shaped exporter with it.
	@command -v prometheus >/dev/null || { echo "installing prometheus"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

.PHONY: tools-chromium
tools-chromium: ## Install Chromium from Debian when missing: the report tests render index.html in it, headless, over CDP.
	@command -v chromium >/dev/null || { echo "installing chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

.PHONY: tools-cluster
tools-cluster: ## Build etcd, kube-apiserver/scheduler/controller-manager, kubectl, kwok and helm (hack/tools; cached).
	hack/tools.sh cluster

.PHONY: tools-minio
tools-minio: ## Build MinIO, the S3 server of test-minio, from the Go module proxy (hack/tools.sh minio; cached per version).
	hack/tools.sh minio

.PHONY: cluster-up
cluster-up: tools-cluster build ## Start a local control plane with KWOK GPU nodes from the catalog (prints KUBECONFIG).
	hack/cluster-up.sh

.PHONY: cluster-restart
cluster-restart: ## Restart the local control plane (etcd, apiserver, scheduler, controller-manager, kwok), keeping its data.
	hack/cluster-down.sh --keep-data
	hack/cluster-up.sh --restart

.PHONY: cluster-down
cluster-down: ## Stop the local control plane started by cluster-up and remove its folder.
	hack/cluster-down.sh

.PHONY: chart-lint
chart-lint: tools-cluster ## helm lint the chart, strict, with its default values (the auditor on, one shard), the e2e values, the auditor in four shards, its wgpolicyk8s reports, and off.
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster --set webhook.inCluster=false \
	  --set webhook.externalURL=https://127.0.0.1:1 --set webhook.externalCABundle=Cg== --set webhook.failurePolicy=Ignore
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster --set auditor.shards=4 --set auditor.reports.existingClaim=audits
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster --set auditor.openReports.api=wgpolicyk8s --set auditor.hostNetwork=true
	$(QM_TOOLS_BIN)/helm lint --strict charts/quartermaster --set auditor.enabled=false

.PHONY: e2e
e2e: tools-cluster chart-lint ## Chart template tests and real-cluster end-to-end tests (starts and stops its own cluster).
	$(GO) vet $(CHECK_FLAGS) -tags e2e ./test/...
	@# GOFLAGS, so that the webhook and qm binaries the suite builds carry the race detector too.
	GOFLAGS="$(strip $(GOFLAGS) $(CHECK_FLAGS))" $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v ./test/...

.PHONY: bench-e2e
bench-e2e: tools-cluster ## Pod-create latency through the API server with and without the webhook (own cluster, no -race).
	@mkdir -p $(BIN)
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -run '^$$' -bench '^BenchmarkWebhookOverhead$$' -benchtime 150x \
	  -v ./test/e2e/ | tee $(BIN)/bench-e2e.txt

.PHONY: bench-memory
bench-memory: tools-cluster ## The in-cluster webhook pod's memory with QM_E2E_SCALE=PODS/NODES (default 10000/1000) in its informers (own cluster, real node).
	@mkdir -p $(BIN)
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -run '^$$' -bench '^BenchmarkInClusterMemoryAtScale$$' -benchtime 1x \
	  -v ./test/e2e/ | tee $(BIN)/bench-memory.txt

.PHONY: bench
bench: bench-optimizer ## Benchmarks (placement, extraction, policy, optimizer, inventory, audit); figures go in the issue notes.
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench=. -benchmem -count=5 ./internal/placement/ ./internal/workload/ ./internal/policy/ | tee $(BIN)/bench.txt
	$(GO) test -run='^$$' -bench='^BenchmarkSolve$$' -benchmem -count=5 ./internal/milp/ | tee -a $(BIN)/bench.txt
	$(GO) test -run='^$$' -bench='^BenchmarkRules$$' -benchmem -count=5 ./internal/audit/ | tee -a $(BIN)/bench.txt
	@# The auditor at scale, once each (they generate their inputs): snapshot reads of 100k and 1M resources (peak RSS
	@# from VmHWM); a fleet of 250 and 1,000 accounts over the three clouds, scanned by the real adapters and SDKs in a
	@# child process against httptest servers of each API, a fifth of the calls throttled, killed halfway (SIGKILL) and
	@# resumed (peak RSS from the child's rusage); and the whole audit of 100k and 1M resources.
	$(GO) test -run='^$$' -bench='^BenchmarkSnapshotRead$$' -benchtime=1x ./internal/inventory/ | tee -a $(BIN)/bench.txt
	$(GO) test -run='^$$' -bench='^BenchmarkFleet$$' -benchtime=1x -v ./internal/inventory/fleettest/ | tee -a $(BIN)/bench.txt
	$(GO) test -run='^$$' -bench='^BenchmarkAudit$$' -benchtime=1x -timeout=30m ./internal/auditrun/ | tee -a $(BIN)/bench.txt

.PHONY: bench-optimizer
bench-optimizer: tools-solvers ## Batch optimizer, 500 workloads x 2,000 offers, 10 seeds, side by side with CBC.
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench='^BenchmarkOptimizerVsCBC$$' -benchtime=1x -count=1 -v -timeout=60m ./internal/milp/ | tee $(BIN)/bench-optimizer.txt

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 2m).
	@for spec in \
	  ./internal/workload:FuzzExtract \
	  ./internal/workload:FuzzAnnotations \
	  ./internal/workload:FuzzDecodeManifests \
	  ./internal/workload:FuzzReadRules \
	  ./internal/costing:FuzzReadCSV \
	  ./internal/costing:FuzzReadSkyPilot \
	  ./internal/quota:FuzzReadGPUCounts \
	  ./internal/costing:FuzzDatasetCloud \
	  ./internal/encryption:FuzzReadClusterState \
	  ./internal/encryption:FuzzReadInventory \
	  ./internal/inventory:FuzzReadSnapshot \
	  ./internal/inventory:FuzzReadAccounts \
	  ./internal/report:FuzzReadJSON \
	  ./internal/policy:FuzzLoadData \
	  ./internal/admission:FuzzReview \
	  ./cmd/qm:FuzzEval; do \
	  pkg=$${spec%%:*}; target=$${spec##*:}; \
	  echo "== $$target ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

BENCH_DIR      := $(BIN)/bench-webhook
BENCH_RATES    ?= 500 1000 2000
BENCH_DURATION ?= 20s
BENCH_PORT     ?= 19443

.PHONY: bench-webhook
bench-webhook: ## Load the standalone webhook (5,000-offer catalog, decision log on) at 500, 1,000, 2,000 req/s, 20 s each.
	@mkdir -p $(BENCH_DIR)
	$(GO) build -o $(BIN)/ ./cmd/webhook ./cmd/qm ./test/load
	$(BIN)/load -gen-cert $(BENCH_DIR)/certs
	$(BIN)/load -gen-catalog $(BENCH_DIR)/catalog-5000.csv -offers 5000
	@rm -f $(BENCH_DIR)/decisions.log*
	@$(BIN)/webhook --standalone --cert-dir $(BENCH_DIR)/certs --catalog $(BENCH_DIR)/catalog-5000.csv \
	  --bind-address 127.0.0.1 --port $(BENCH_PORT) --metrics-bind-address 127.0.0.1:$$(($(BENCH_PORT)+1)) \
	  --health-probe-bind-address 127.0.0.1:$$(($(BENCH_PORT)+2)) --decision-log $(BENCH_DIR)/decisions.log \
	  --profiling 2>$(BENCH_DIR)/webhook.log & pid=$$!; \
	  trap "kill $$pid 2>/dev/null; wait $$pid 2>/dev/null" EXIT; \
	  status=0; for rate in $(BENCH_RATES); do \
	    echo "== $$rate req/s for $(BENCH_DURATION)"; \
	    $(BIN)/load -url https://127.0.0.1:$(BENCH_PORT)/mutate -rate $$rate -duration $(BENCH_DURATION) \
	      -ready-url http://127.0.0.1:$$(($(BENCH_PORT)+2))/readyz -json $(BENCH_DIR)/load-$$rate.json \
	      -profile-url http://127.0.0.1:$$(($(BENCH_PORT)+1)) -profile-out $(BENCH_DIR)/cpu-$$rate.pprof || status=1; \
	  done; \
	  kill $$pid; wait $$pid || true; trap - EXIT; \
	  echo "== CPU of the GPU path at the highest rate (decodeRequest, decide, evaluate)"; \
	  $(GO) tool pprof -top -nodecount=25 -focus='admission\.(decodeRequest|\(\*Handler\)\.(decide|evaluate))' $(BIN)/webhook $(BENCH_DIR)/cpu-$(lastword $(BENCH_RATES)).pprof 2>/dev/null | head -35; \
	  echo "== whole process at the highest rate"; \
	  $(GO) tool pprof -top -nodecount=25 $(BIN)/webhook $(BENCH_DIR)/cpu-$(lastword $(BENCH_RATES)).pprof 2>/dev/null | head -35; \
	  echo "== decision log"; $(BIN)/qm log verify $$(ls $(BENCH_DIR)/decisions.log.* 2>/dev/null | sort) $(BENCH_DIR)/decisions.log || status=1; \
	  exit $$status

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
