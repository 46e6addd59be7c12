# Every target installs what it needs. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
STAMP := .venv/.installed-stamp
SCALE ?= small
SEED ?= 42
PORT ?= 3000
export DAGSTER_HOME := $(CURDIR)/.dagster
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: install prepare run dev test test-fast bench lint clean contract

$(STAMP): pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip setuptools wheel
	.venv/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml.example
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml.example $@

# dbt's manifest is what the Dagster definitions load.
prepare: install $(DAGSTER_HOME)/dagster.yaml
	cd dbt && ../.venv/bin/dbt parse --quiet --profiles-dir .

## run: simulate SCALE data (default small) if the landing folder is empty, materialize every asset, print a summary
run: prepare
	$(PY) -m dagster_project.pipeline --scale $(SCALE) --seed $(SEED)

## dev: the Dagster UI on http://127.0.0.1:$(PORT)
dev: prepare
	.venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(PORT)

## test: the whole suite (unit + integration)
test: prepare
	$(PY) -m pytest -q

## test-fast: unit tests only
test-fast: prepare
	$(PY) -m pytest -q -m "not integration"

## bench: benchmarks, results in bench/results/*.json and bench/results/RESULTS.md
bench: prepare
	$(PY) bench/run.py

lint: install
	.venv/bin/ruff check dagster_project tests bench

## contract: regenerate dbt/models/staging/_sources.yml from the landing contract
contract: install
	$(PY) -m dagster_project.contract

clean:
	rm -rf data .dagster dbt/target dbt/logs bench/results .pytest_cache
