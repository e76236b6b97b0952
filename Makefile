# clash_pipeline: `make demo` and `make test` work on a fresh clone with no network but the package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CLASH_HOME ?= $(CURDIR)/.clash
export DAGSTER_HOME := $(CURDIR)
export CLASH_DAGSTER_DIR ?= $(CLASH_HOME)/dagster
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: install demo test bench ui validate clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install  ## run the whole pipeline on replay data and print what it did
	$(BIN)/clash demo

test: install  ## run the test suite
	$(BIN)/pytest -q

bench: install  ## print throughput figures as ratios to baselines measured in the same run
	$(BIN)/python -m clash_pipeline_tests.benchmarks

ui: install  ## the Dagster UI on http://127.0.0.1:3000, storage under $(CLASH_DAGSTER_DIR)
	mkdir -p $(CLASH_DAGSTER_DIR)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

validate: install  ## check that the Dagster definitions load
	mkdir -p $(CLASH_DAGSTER_DIR)
	$(BIN)/dagster definitions validate -w workspace.yaml

.PHONY: prod-check
prod-check: install  ## run the production profile for real: PostgreSQL, dagster-daemon and -webserver, runs through the queue
	$(BIN)/python deploy/prod_check.py

clean:
	rm -rf $(CLASH_HOME)
