# The one command surface of clever-stream. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Installed again whenever pyproject.toml changes.
INSTALLED := $(VENV)/.installed
# The benchmarks' Quix Streams peer has a virtualenv of its own (see pyproject.toml's `quix`).
QUIX_VENV ?= .venv-quix
QUIX_INSTALLED := $(QUIX_VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: set PYTHON=python3.11")'
	@echo "Setting up: a virtualenv in $(VENV) with the project and its tools (the first time only: a minute or two)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(QUIX_INSTALLED): pyproject.toml
	@echo "Setting up: a virtualenv in $(QUIX_VENV) with the project and Quix Streams, for the benchmarks..."
	$(PYTHON) -m venv $(QUIX_VENV)
	$(QUIX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(QUIX_VENV)/bin/python -m pip install --quiet -e '.[quix]'
	@touch $@

.PHONY: setup
setup: $(INSTALLED) ## Create the virtualenv, install the project, resolve Kafka from Maven Central
	$(BIN)/local-kafka resolve

.PHONY: demo
demo: setup ## Set everything up and run the pipeline on embedded defaults (Ctrl-C stops it)
	$(BIN)/clever-stream demo

.PHONY: lint
lint: $(INSTALLED) ## Ruff (lint, format check) and the import contracts (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

.PHONY: format
format: $(INSTALLED) ## Ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: typecheck
typecheck: $(INSTALLED) ## mypy (strict on the packages)
	$(BIN)/mypy

.PHONY: test
test: setup lint typecheck ## Lint, type-check and run the whole suite against a real local broker
	$(BIN)/pytest

.PHONY: chaos
chaos: setup ## A seeded chaos run on a local 3-node cluster (SEED=n reruns one; EVENTS=n, ENGINE=faust)
	$(BIN)/python -m tests.chaos $(if $(SEED),--seed $(SEED)) $(if $(EVENTS),--events $(EVENTS)) $(if $(ENGINE),--engine $(ENGINE))

.PHONY: schemas-check
schemas-check: $(INSTALLED) ## Say which Avro schemas changed since their release, and if compatibly
	$(BIN)/python -m schemas check

.PHONY: schemas-release
schemas-release: $(INSTALLED) ## Record changed, compatible schemas as new versions in schemas/history
	$(BIN)/python -m schemas release

.PHONY: bench-setup
bench-setup: setup $(QUIX_INSTALLED) ## Set up the benchmarks' peers too (Quix Streams in .venv-quix)

.PHONY: bench
bench: bench-setup ## Run the benchmarks, print their figures and write docs/performance.md
	$(BIN)/python -m bench --report docs/performance.md

.PHONY: kafka-start
kafka-start: setup ## Start a local broker that outlives the command
	$(BIN)/local-kafka start

.PHONY: kafka-stop
kafka-stop: $(INSTALLED) ## Stop the local broker
	$(BIN)/local-kafka stop

.PHONY: kafka-status
kafka-status: $(INSTALLED) ## Say whether the local broker runs
	$(BIN)/local-kafka status

.PHONY: clean
clean: ## Remove the virtualenv and tool caches (not the Kafka cache in ~/.cache/clever-stream)
	rm -rf $(VENV) $(QUIX_VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .grimp_cache .hypothesis *.egg-info
