# Kenduren build/run plumbing. `make` (or `make help`) lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO ?= cargo
export PATH := $(if $(HOME),$(HOME)/.cargo/bin:)$(PATH)

# --- service URLs (override from the environment or the make command line) ---
ifeq ($(strip $(KENDUREN_DATABASE_URL)),)
KENDUREN_DATABASE_URL := postgres://postgres@127.0.0.1:5432/test
endif
ifeq ($(strip $(KENDUREN_NATS_URL)),)
KENDUREN_NATS_URL := nats://127.0.0.1:4222
endif
# Tests get an admin URL to the same server: user postgres (keeping its
# password if the app URL already used postgres), database postgres.
ifeq ($(strip $(KENDUREN_TEST_DATABASE_URL)),)
KENDUREN_TEST_DATABASE_URL := $(shell printf '%s\n' '$(KENDUREN_DATABASE_URL)' | sed -E \
	-e 's,^([a-z]+://)([^@/]*@)?([^/?]*)(/[^?]*)?,\1\2\3/postgres,' \
	-e '/^[a-z]+:\/\/postgres[:@]/! s,^([a-z]+://)([^@/]*@)?,\1postgres@,')
endif
ifeq ($(strip $(KENDUREN_TEST_NATS_URL)),)
KENDUREN_TEST_NATS_URL := $(KENDUREN_NATS_URL)
endif
export KENDUREN_DATABASE_URL KENDUREN_NATS_URL KENDUREN_TEST_DATABASE_URL KENDUREN_TEST_NATS_URL

# --- test runner knobs ---
# Tests are I/O bound: run 2 per CPU. (.config/nextest.toml cannot express
# "2 x CPUs", so it is passed as NEXTEST_TEST_THREADS.) Override with
# `make test TEST_THREADS=n`, or NEXTEST_TEST_THREADS in the environment.
TEST_THREADS ?= $(or $(NEXTEST_TEST_THREADS),$(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 ))))
# Profile from .config/nextest.toml; .ci/run sets NEXTEST_PROFILE=ci.
NEXTEST_PROFILE ?= default
# An empty workspace (no tests yet) is not an error.
NEXTEST_NO_TESTS ?= warn
export NEXTEST_NO_TESTS

.PHONY: help services stop-services clean-data build run test lint fmt bench

help: ## List the targets (default)
	@echo "Usage: make <target>   (services: KENDUREN_DATABASE_URL=$(KENDUREN_DATABASE_URL), KENDUREN_NATS_URL=$(KENDUREN_NATS_URL))"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

services: ## Make sure PostgreSQL and NATS/JetStream are reachable (starts private ones under .data/ if not)
	@bash scripts/ensure-services.sh

stop-services: ## Stop the private PostgreSQL/NATS started by `make services`
	@bash scripts/stop-services.sh

clean-data: ## Stop the private services and delete .data/
	@bash scripts/stop-services.sh --clean

build: ## Build every crate and target
	$(CARGO) build --workspace --all-targets

run: services ## Run the service locally (kenduren dev)
	$(CARGO) run -p kenduren --bin kenduren -- dev

test: ## Run the whole test suite (nextest if installed, else cargo test)
	@bash scripts/ensure-services.sh --for-tests
	@echo "+ scripts/validate-deploy.sh (deploy/ checked with real tools)"
	@bash scripts/validate-deploy.sh
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "+ cargo test --workspace --doc --quiet"; \
		$(CARGO) test --workspace --doc --quiet; \
		echo "+ cargo nextest run --workspace --all-targets --profile $(NEXTEST_PROFILE) (test threads: $(TEST_THREADS))"; \
		NEXTEST_TEST_THREADS=$(TEST_THREADS) $(CARGO) nextest run --workspace --all-targets --profile $(NEXTEST_PROFILE); \
	else \
		echo "+ cargo test --workspace (cargo-nextest not installed; test threads: $(TEST_THREADS))"; \
		RUST_TEST_THREADS=$(TEST_THREADS) $(CARGO) test --workspace --no-fail-fast; \
	fi

lint: ## Check formatting and run clippy with warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: services ## Run the load benchmark (release build, kenduren bench)
	$(CARGO) run --release -p kenduren -- bench

.PHONY: deploy-check
deploy-check: ## Validate deploy/: Dockerfile, compose, NATS config and permissions, Kubernetes manifests
	@bash scripts/validate-deploy.sh

.PHONY: chaos
chaos: ## Fault-injection suite: the services as processes, private NATS/PostgreSQL killed, wiped, cut (minutes; CHAOS_ARGS=--only=...)
	$(CARGO) build -p kenduren -p kenduren-chaos
	"$${CARGO_TARGET_DIR:-target}/debug/kenduren-chaos" --binary "$${CARGO_TARGET_DIR:-target}/debug/kenduren" $(CHAOS_ARGS)
