# wagate — WhatsApp connector. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES := core functions connector wasim web
CACHE   := $(CURDIR)/.cache
BIN     := $(CURDIR)/bin
GO      ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 25m

export GOFLAGS := -buildvcs=false

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:[^#]*## /\t/' | column -t -s "$$(printf '\t')"

# ---------------------------------------------------------------------------
# Run

.PHONY: run
run: build ## start wagate locally against real WhatsApp (admin page, SQLite in ./data)
	$(BIN)/wagate

.PHONY: demo
demo: build ## start wagate against the WhatsApp simulator with two fake phones
	@scripts/demo.sh

.PHONY: run-split
run-split: ## run the split deployment here: emulators, simulator, connector process, Lambda API (devapi)
	@scripts/run-split.sh

.PHONY: build
build: ## build the binaries into bin/
	@mkdir -p $(BIN)
	cd connector && $(GO) build -trimpath -o $(BIN)/wagate ./cmd/wagate
	cd wasim && $(GO) build -trimpath -o $(BIN)/wasim ./cmd/wasim

# ---------------------------------------------------------------------------
# Quality

.PHONY: test
test: vet browser-deps lint-template lambda-rie ## run every test (race detector, simulator, browser, AWS emulators)
	@started=; scripts/emulators.sh status >/dev/null 2>&1 || { scripts/emulators.sh start && started=1; } || exit 1; \
	trap 'if [ -n "$$started" ]; then "$(CURDIR)/scripts/emulators.sh" stop; fi' EXIT; \
	source <(scripts/emulators.sh env); \
	set -e; for m in $(MODULES); do \
		echo "==> go test $$m"; \
		(cd $$m && WAGATE_E2E_BROWSER=1 $(GO) test $(GOTEST_FLAGS) ./...); \
	done
	@echo "==> node --test web/test"
	@node --test web/test/

# DynamoDB Local and the SQS emulator on loopback, installed into .cache/emulators.
# `make test` starts them itself (and stops them after, unless they were running).
.PHONY: emulators
emulators: ## start DynamoDB Local and the SQS emulator (`source <(scripts/emulators.sh env)`)
	@scripts/emulators.sh start

.PHONY: emulators-stop
emulators-stop: ## stop the emulators started by `make emulators`
	@scripts/emulators.sh stop

.PHONY: vet
vet: ## go vet and gofmt every module
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: lint
lint: vet ## vet, gofmt and staticcheck (installed into .cache/)
	@test -x $(CACHE)/bin/staticcheck || GOBIN=$(CACHE)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@2025.1.1
	@set -e; for m in $(MODULES); do (cd $$m && $(CACHE)/bin/staticcheck ./...); done

.PHONY: bench
bench: ## run the benchmarks recorded in BENCHMARKS.md (about 10 minutes)
	cd wasim && $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 10m ./bench
	cd connector && $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 20m ./e2e
	cd functions && $(GO) test -run '^$$' -bench . -count 1 ./apigw ./cmd/devapi
	@started=; scripts/emulators.sh status >/dev/null 2>&1 || { scripts/emulators.sh start && started=1; } || exit 1; \
	trap 'if [ -n "$$started" ]; then "$(CURDIR)/scripts/emulators.sh" stop; fi' EXIT; \
	source <(scripts/emulators.sh env); \
	cd connector && $(GO) test -run '^$$' -bench 'DynamoDBCost|SplitSendLatency' -benchtime 1x -count 1 -timeout 20m ./awse2e ./splite2e

# Browser tests drive Debian's chromium with playwright-core (no browser download).
.PHONY: browser-deps
browser-deps:
	@command -v chromium >/dev/null || { \
		echo "==> installing chromium (Debian package) for the browser test"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "browser test needs Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }
	@command -v node >/dev/null || { echo "browser test needs Node.js 20+ (apt-get install nodejs npm)"; exit 1; }
	@if [ -f web/e2e/package-lock.json ] && [ ! -d web/e2e/node_modules/playwright-core ]; then \
		echo "==> npm ci in web/e2e"; (cd web/e2e && npm ci --no-audit --no-fund --silent); fi

# ---------------------------------------------------------------------------
# Serverless: Lambda builds for SAM and the template check.
# `sam build` (BuildMethod: makefile, CodeUri: ./) runs build-<LogicalId> with
# ARTIFACTS_DIR set; each target builds one function's bootstrap for
# provided.al2023 on arm64. LAMBDAS maps LogicalId=cmd directory.

LAMBDAS := ApiSessionsFunction=api-sessions ApiQrFunction=api-qr ApiMessagesFunction=api-messages \
	ApiDiagnosticsFunction=api-diagnostics EventsConsumerFunction=events-consumer
LAMBDA_TARGETS := $(foreach l,$(LAMBDAS),build-$(firstword $(subst =, ,$(l))))
lambda_cmd = $(lastword $(subst =, ,$(filter $(1)=%,$(LAMBDAS))))

.PHONY: $(LAMBDA_TARGETS)
$(LAMBDA_TARGETS): build-%:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it; or run make build-lambdas)"; exit 1; }
	cd functions && GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
		-o $(abspath $(ARTIFACTS_DIR))/bootstrap ./cmd/$(call lambda_cmd,$*)

.PHONY: build-lambdas
build-lambdas: ## build every Lambda function into bin/lambda/<name>/bootstrap and print the sizes
	@set -e; for l in $(LAMBDAS); do id=$${l%%=*}; name=$${l#*=}; \
		$(MAKE) --no-print-directory -s build-$$id ARTIFACTS_DIR=$(BIN)/lambda/$$name >/dev/null; \
		size=$$(stat -c %s $(BIN)/lambda/$$name/bootstrap); \
		awk -v n="$$name" -v s="$$size" 'BEGIN { printf "%-16s %9d bytes  %5.2f MiB\n", n, s, s/1048576 }'; \
	done

# The AWS Lambda Runtime Interface Emulator runs the functions' real bootstraps
# (devapi -rie, WAGATE_SPLIT_RIE=1 make run-split, connector/splite2e).
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d

.PHONY: lambda-rie
lambda-rie: ## install the AWS Lambda Runtime Interface Emulator into .cache/bin
	@test -x $(CACHE)/bin/aws-lambda-rie || GOBIN=$(CACHE)/bin $(GO) install \
		github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

.PHONY: lint-template
lint-template: ## check template.yaml with cfn-lint
	@command -v cfn-lint >/dev/null || { echo "cfn-lint not found: pip install cfn-lint (1.51 or later)"; exit 1; }
	cfn-lint template.yaml
