# wagate — WhatsApp connector. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES := core functions connector wasim
CACHE   := $(CURDIR)/.cache
GO      ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 20m

export GOFLAGS := -buildvcs=false

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

.PHONY: test
test: vet ## run every module's tests with the race detector
	@set -e; for m in $(MODULES); do \
		echo "==> go test $$m"; \
		(cd $$m && $(GO) test $(GOTEST_FLAGS) ./...); \
	done

.PHONY: vet
vet: ## go vet every module
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

.PHONY: bench
bench: ## run the benchmarks (see BENCHMARKS.md)
	cd wasim && $(GO) test -run '^$$' -bench . -benchtime 1x ./...

.PHONY: wasim
wasim: ## build the WhatsApp simulator into bin/
	@mkdir -p bin
	cd wasim && $(GO) build -o ../bin/wasim ./cmd/wasim
