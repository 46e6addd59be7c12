# Every target installs what it needs. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
STAMP := .venv/.installed-stamp
SCALE ?= small
SEED ?= 42
PORT ?= 3000
export DAGSTER_HOME := $(CURDIR)/.dagster
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# dg (dev, check) warns unless the project's venv is the active one
DG := VIRTUAL_ENV=$(CURDIR)/.venv .venv/bin/dg

.PHONY: install prepare run dev test test-fast bench bench-peers lint clean contract retract lock docs docs-serve \
	serve token-issue token-revoke token-list \
	pg-up pg-down spark-up spark-down test-spark pg-roles run-postgres dev-postgres retract-postgres check screenshots test-bi

# The full dependency set is requirements.lock (`make lock` writes it from pyproject.toml's pins);
# the project itself is installed editable on top, without resolving anything again.
LOCK := requirements.lock
$(STAMP): pyproject.toml $(LOCK)
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip setuptools wheel
	.venv/bin/pip install -q -r $(LOCK)
	.venv/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

## lock: re-resolve requirements.lock from pyproject.toml's pins (after changing a pin), then `make install`
lock:
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m dagster_project.devtools.lock --out $(LOCK)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml.example
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml.example $@

# dbt's manifest is what the Dagster definitions load: one per target, in dbt/target/<target>/
# (parsing needs no connection), so production mode loads the one parsed for PostgreSQL.
DBT_TARGETS := duckdb postgres spark
prepare: install $(DAGSTER_HOME)/dagster.yaml
	cd dbt && for t in $(DBT_TARGETS); do \
	  ../.venv/bin/dbt parse --quiet --profiles-dir . --target $$t --target-path target/$$t || exit 1; done

## run: simulate SCALE data (default small) if the landing folder is empty, materialize every asset, print a summary
run: prepare
	$(PY) -m dagster_project.pipeline --scale $(SCALE) --seed $(SEED)

## retract: remove a loaded landing file's rows from raw, audited (README "A way out"):
##   make retract TABLE=conversions FILE=conversions/date=.../x.parquet ACTOR=you REASON="..."
RETRACT_ARGS = --table "$(TABLE)" --file "$(FILE)" --actor "$(ACTOR)" --reason "$(REASON)"
retract: install
	$(PY) -m dagster_project.ingest.retract $(RETRACT_ARGS)

# Production mode on a local throwaway PostgreSQL 15 (README "Production mode"): the warehouse in
# database bi, Dagster's runs/events/schedules in database dagster, DAGSTER_HOME=.dagster-pg.
PG_DIR ?= .pg
PG_PORT ?= 55432
# The pipeline connects as bi_writer (created by pg-roles); Dagster's own storage as postgres.
PG_ENV := BI_WAREHOUSE=postgres BI_PG_HOST=127.0.0.1 BI_PG_PORT=$(PG_PORT) BI_PG_USER=bi_writer \
	BI_PG_PASSWORD= BI_PG_DB=bi DAGSTER_PG_USER=postgres DAGSTER_PG_PASSWORD= DAGSTER_PG_DB=dagster \
	DAGSTER_HOME=$(CURDIR)/.dagster-pg

## pg-up: start (initialising the first time) PostgreSQL in $(PG_DIR) on 127.0.0.1:$(PG_PORT)
pg-up: install
	$(PY) -m dagster_project.devtools.pgserver up --dir $(PG_DIR) --port $(PG_PORT) --db bi --db dagster

## spark-up: start a local Spark server (local[2]; Thrift for dbt, Connect for the pipeline) in $(SPARK_DIR)
SPARK_DIR ?= .spark
spark-up: install
	$(PY) -m dagster_project.devtools.sparkserver up --dir $(SPARK_DIR)

## spark-down: stop it (tables and metastore stay in $(SPARK_DIR))
spark-down: install
	$(PY) -m dagster_project.devtools.sparkserver down --dir $(SPARK_DIR)

## pg-down: stop it (the data stays in $(PG_DIR); `rm -rf $(PG_DIR)` to start afresh)
pg-down: install
	$(PY) -m dagster_project.devtools.pgserver down --dir $(PG_DIR)

## pg-roles: create or update the roles, grants, row-level security and the audit log (idempotent)
pg-roles: pg-up
	$(PY) -m dagster_project.postgres.roles --dsn "host=127.0.0.1 port=$(PG_PORT) user=postgres dbname=bi"

.dagster-pg/dagster.yaml: dagster.postgres.yaml.example
	mkdir -p .dagster-pg
	cp dagster.postgres.yaml.example $@

## run-postgres: like `make run`, with the warehouse and the Dagster instance on PostgreSQL
run-postgres: pg-roles prepare .dagster-pg/dagster.yaml
	$(PG_ENV) $(PY) -m dagster_project.pipeline --scale $(SCALE) --seed $(SEED)

## retract-postgres: `make retract` against the local PostgreSQL warehouse
retract-postgres: install
	$(PG_ENV) $(PY) -m dagster_project.ingest.retract $(RETRACT_ARGS)

## dev-postgres: the Dagster UI over the PostgreSQL warehouse and instance
dev-postgres: pg-roles prepare .dagster-pg/dagster.yaml
	$(PG_ENV) $(DG) dev --host 127.0.0.1 --port $(PORT)

## dev: the Dagster UI on http://127.0.0.1:$(PORT) (`dg dev`: the webserver and the daemon)
dev: prepare
	$(DG) dev --host 127.0.0.1 --port $(PORT)

## check: load every definition and validate it (`dg check defs`)
check: prepare
	$(DG) check defs

## screenshots: re-take the README's pictures (docs/img/*.png) with the browser test
screenshots: prepare
	BI_SCREENSHOT_DIR=$(CURDIR)/docs/img $(PY) -m pytest -q tests/integration/test_dagster_ui.py

## serve: the serving API (REST + /ws/bi-dashboard) on BI_SERVING_HOST:BI_SERVING_PORT (127.0.0.1:8000)
serve: prepare
	$(PY) -m dagster_project.serving

## token-issue: a serving API token: make token-issue NAME=dash-c1 CLIENT=c_0001 ACTOR=you [DAYS=90]
##   (ADMIN=1 instead of CLIENT for an admin token); the token is printed once
TOKEN_SCOPE = $(if $(ADMIN),--admin,--client "$(CLIENT)")
token-issue: install
	$(PY) -m dagster_project.serving.tokens issue --name "$(NAME)" $(TOKEN_SCOPE) \
	  --days "$(or $(DAYS),90)" --actor "$(ACTOR)"

## token-revoke: make token-revoke TOKEN_ID=... ACTOR=you
token-revoke: install
	$(PY) -m dagster_project.serving.tokens revoke "$(TOKEN_ID)" --actor "$(ACTOR)"

## token-list: every token (id, scope, state, expiry; never a secret)
token-list: install
	$(PY) -m dagster_project.serving.tokens list

## docs: the dbt documentation site (models, columns, tests, exposures) of the duckdb target in
##   dbt/target/docs/, its catalog read from the warehouse `make run` built
DOCS_DIR := $(CURDIR)/dbt/target/docs
WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
docs: prepare
	@test -f $(WAREHOUSE) || { echo "no $(WAREHOUSE): run 'make run' first (dbt docs reads its catalog)"; exit 1; }
	cd dbt && BI_DUCKDB_PATH=$(WAREHOUSE) ../.venv/bin/dbt docs generate --quiet --static \
	  --profiles-dir . --target duckdb --target-path $(DOCS_DIR)
	@echo "dbt docs: $(DOCS_DIR)/static_index.html (one file, opens offline; or 'make docs-serve')"

## docs-serve: serve the generated site on http://127.0.0.1:$(DOCS_PORT)
DOCS_PORT ?= 8080
docs-serve:
	.venv/bin/python -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory $(DOCS_DIR)

# Test modules run on TEST_WORKERS processes (pytest-xdist), a module's tests on one worker so
# its module-scoped builds are made once; TEST_WORKERS=0 runs everything in this process. The 15
# slowest tests (setup included) are listed at the end, to see where the suite's time goes.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

## test: the whole suite (unit + integration) but the Spark tests (make test-spark)
test: prepare
	$(PYTEST) -m "not spark"

## test-spark: the tests on the throwaway local Spark server (marker spark; Java 17 needed)
test-spark: prepare
	$(PYTEST) -m spark

## test-fast: unit tests only
test-fast: prepare
	$(PYTEST) -m "not integration"

# The BI tool of `make test-bi`: Apache Superset in its own environment (git-ignored), pinned by
# bi/superset/requirements.txt (the full set that installed and passed here).
BI_VENV := .bi/superset-venv
$(BI_VENV)/.installed-stamp: bi/superset/requirements.txt
	python3 -m venv $(BI_VENV)
	$(BI_VENV)/bin/pip install -q --upgrade pip
	$(BI_VENV)/bin/pip install -q -r bi/superset/requirements.txt
	touch $@

## test-bi: Superset renders the client overview dashboard from PostgreSQL in headless Chromium (opt-in; README "Connecting a BI tool")
test-bi: prepare $(BI_VENV)/.installed-stamp
	command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	BI_TEST_SUPERSET=1 $(PY) -m pytest -q tests/bi

## bench: benchmarks, results in bench/results/*.json and bench/results/RESULTS.md
bench: prepare
	$(PY) bench/run.py

## bench-peers: the peer libraries that cannot share the project's venv, each in its own
bench-peers:
	test -x .venv-statsforecast/bin/python || python3 -m venv .venv-statsforecast
	.venv-statsforecast/bin/pip install -q -r bench/peers/statsforecast.txt
	test -x .venv-lifetimes/bin/python || python3 -m venv .venv-lifetimes
	.venv-lifetimes/bin/pip install -q -r bench/peers/lifetimes.txt

lint: install
	.venv/bin/ruff check dagster_project tests bench

## contract: regenerate dbt/models/staging/_sources.yml from the landing contract
contract: install
	$(PY) -m dagster_project.contract

clean:
	rm -rf data .dagster .dagster-pg dbt/target dbt/logs bench/results .pytest_cache
