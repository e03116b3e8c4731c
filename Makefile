# One entry point for every task. Each target bootstraps .venv from the lock file when needed.
# Python 3.13, the Lambda runtime's version: on PATH, else the newest pyenv 3.13.x; empty when there is none.
RUNTIME_PYTHON ?= $(shell deployment/find-python.sh 3.13)
RUNTIME_PYTHON := $(RUNTIME_PYTHON)# looked up once, not at every use
# The virtualenvs run on the runtime's Python where this machine has it, so every test runs on the version that runs
# in AWS; else on python3 (3.11+). mypy (python_version 3.11) and ruff (target py311) keep the code 3.11-compatible.
PYTHON ?= $(or $(RUNTIME_PYTHON),python3)
VENV := .venv
BIN := $(VENV)/bin
# Each stamp names what was installed (the lock, pyproject.toml and the interpreter): a change reinstalls.
STAMP := $(VENV)/.installed-$(shell { cat requirements-dev.lock pyproject.toml; echo "$(PYTHON)"; } | cksum | cut -d' ' -f1)
# `make run` needs less than the tests (no linters, fuzzers, cfn-lint): its own, smaller lock, a subset of the dev
# lock with the same pins (tests/infra/test_locks.py), so a first `make run` is quick and the dev install covers it.
RUN_STAMP := $(VENV)/.run-installed-$(shell { cat requirements-run.lock pyproject.toml; echo "$(PYTHON)"; } | cksum | cut -d' ' -f1)
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
UPSTREAM := tests/upstream
UPSTREAM_STAMP := $(UPSTREAM)/node_modules/.installed-$(shell cat $(UPSTREAM)/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
PYTEST := $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# --- The deployment package ---------------------------------------------------------------------------------------
# `make package` = `sam build` (SAM CLI from its own lock in .venv-sam) + an x86_64 twin of the arm64 layer, which
# `make invoke` and the tests load on this machine. Rebuilt only when an input changed.
# It needs RUNTIME_PYTHON (for the bytecode, and `sam build` insists on the runtime's version).
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell { cat requirements-sam.lock; echo "$(PYTHON)"; } | cksum | cut -d' ' -f1)
TWIN_LAYER := .aws-sam/layer-x86_64
PACKAGE_STAMP := .aws-sam/.package-built
PACKAGE_INPUTS := template.yaml requirements.lock Makefile deployment/build_layer.py \
	$(shell find shared functions -type f -not -name '*.pyc' 2>/dev/null)
NO_PYTHON313 := Python 3.13 not found (on PATH or in pyenv): install it, e.g. `pyenv install 3.13`
# `make test` builds the package for its tests; without Python 3.13 (outside CI) those tests skip with a message.
PACKAGE_FOR_TESTS := $(if $(or $(RUNTIME_PYTHON),$(filter true,$(CI))),package)

.PHONY: help setup run test lint typecheck cfn-lint unit infra integration e2e reliability package-tests bench clean \
	build-SharedLayer openapi package invoke

help:
	@echo "make setup        - the dev install (.venv from requirements-dev.lock): needed for any pytest subset"
	@echo "make run          - serve the API on 127.0.0.1:$${PORT:-3000} with an embedded DynamoDB (port"
	@echo "                    $${DYNAMODB_PORT:-8000}) and demo records; make run PORT=3001 DYNAMODB_PORT=8001"
	@echo "                    make run API_KEYS=keys.json: the API keys of a Connector-style key file"
	@echo "                    make run CONNECTOR=https://… CONNECTOR_API_KEY=…: read Files and templates from it"
	@echo "make test         - lint, type-check, cfn-lint and every test (all layers below)"
	@echo "make unit         - unit tests alone (domain, QR, CLI pieces, upstream cross-check)"
	@echo "make infra        - template.yaml, OpenAPI document and lock files alone"
	@echo "make integration  - handlers and the local gateway in-process with moto, alone"
	@echo "make e2e          - \`nmshd-tokens serve\` as a user runs it, the browser test, benchmarks script, alone"
	@echo "make reliability  - fuzzing, fault injection, load and secret checks, alone"
	@echo "make package-tests - the built package: layer contents and architecture, every sample event, alone"
	@echo "make bench        - benchmarks (prints a table, writes benchmarks/results.json)"
	@echo "make openapi      - write docs/openapi.json from the code (deployment/openapi.py; make infra checks it)"
	@echo "make package      - sam build (arm64, for sam deploy) and the layer's x86_64 twin for local invocation"
	@echo "make invoke FN=FileTokenFunction EVENT=events/file_token_png.json"
	@echo "                  - sam local invoke without Docker: the built function as Lambda runs it, moto for AWS"

# A virtualenv on another Python than $(PYTHON) (say, from before 3.13 was installed) is made anew.
define FRESH_VENV
	@if [ -x $(1)/bin/python ] && [ "$$($(1)/bin/python -c 'import sys; print(sys.version_info[:2])')" != \
		"$$($(PYTHON) -c 'import sys; print(sys.version_info[:2])')" ]; then \
		echo "==> $(1) runs another Python than $(PYTHON): making it anew"; rm -rf $(1); fi
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
endef

$(STAMP):
	@echo "==> installing the pinned dependencies (requirements-dev.lock) into $(VENV) ($(PYTHON))"
	$(call FRESH_VENV,$(VENV))
	$(PIP) --require-hashes -r requirements-dev.lock
	$(PIP) --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* $(VENV)/.run-installed-*
	touch $@ $(RUN_STAMP)

$(RUN_STAMP):
	@echo "==> installing what the local server needs (requirements-run.lock) into $(VENV) ($(PYTHON))"
	$(call FRESH_VENV,$(VENV))
	$(PIP) --require-hashes -r requirements-run.lock
	$(PIP) --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.run-installed-*
	touch $@

setup: $(STAMP)

$(UPSTREAM_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
		echo "==> installing the upstream enmeshed npm packages (pinned by $(UPSTREAM)/package-lock.json)"; \
		npm ci --prefix $(UPSTREAM) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "!! npm not found: the upstream cross-check will be skipped"; fi

run: $(RUN_STAMP)
	$(BIN)/nmshd-tokens serve $(if $(PORT),--port $(PORT)) $(if $(DYNAMODB_PORT),--dynamodb-port $(DYNAMODB_PORT)) \
		$(if $(API_KEYS),--api-keys $(API_KEYS)) $(if $(CONNECTOR),--connector $(CONNECTOR))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared functions deployment local

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

test: $(STAMP) $(UPSTREAM_STAMP) lint typecheck cfn-lint $(PACKAGE_FOR_TESTS)
	$(PYTEST)

unit: $(STAMP) $(UPSTREAM_STAMP)
	$(PYTEST) tests/unit

infra: $(STAMP)
	$(PYTEST) tests/infra

integration: $(STAMP)
	$(PYTEST) tests/integration

e2e: $(STAMP)
	$(PYTEST) tests/e2e

reliability: $(STAMP)
	$(PYTEST) tests/reliability

package-tests: $(STAMP) $(PACKAGE_FOR_TESTS)
	$(PYTEST) tests/package

openapi: $(STAMP)
	$(BIN)/python -m deployment.openapi > docs/openapi.json

bench: $(STAMP) package
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(SAM_VENV) $(UPSTREAM)/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .aws-sam

# --- The deployment package (sam build, the layer's twin, Docker-free invoke) ------------------------------------
$(SAM_STAMP):
	@echo "==> installing the SAM CLI (requirements-sam.lock) into $(SAM_VENV)"
	$(call FRESH_VENV,$(SAM_VENV))
	@# --no-deps: the lock pins every dependency (with its hash), and pip cannot match extras to uv's pins.
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-sam.lock
	rm -f $(SAM_VENV)/.installed-*
	touch $@

$(PACKAGE_STAMP): $(SAM_STAMP) $(PACKAGE_INPUTS)
	@test -n "$(RUNTIME_PYTHON)" || { echo "!! $(NO_PYTHON313)"; exit 1; }
	@echo "==> sam build: the functions and the arm64 layer in .aws-sam/build (Python 3.13: $(RUNTIME_PYTHON))"
	PATH="$(dir $(RUNTIME_PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	@echo "==> the layer's x86_64 twin in $(TWIN_LAYER), for local invocation on this machine"
	$(RUNTIME_PYTHON) deployment/build_layer.py --arch x86_64 $(TWIN_LAYER)
	touch $@

package: $(PACKAGE_STAMP)

# Invoke one built function as Lambda would, without Docker: make invoke FN=FileTokenFunction EVENT=events/….json
invoke: $(RUN_STAMP) $(PACKAGE_STAMP)
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<file>.json [PARAMS='Key=Value …']"; exit 2; }
	@$(BIN)/python -m deployment.invoke $(FN) $(EVENT) $(if $(PARAMS),--parameter-overrides $(PARAMS))

# `sam build` runs this for SharedLayer (template.yaml: BuildMethod makefile) in this folder, with ARTIFACTS_DIR set.
build-SharedLayer:
	@test -n "$(RUNTIME_PYTHON)" || { echo "!! $(NO_PYTHON313)"; exit 1; }
	$(RUNTIME_PYTHON) deployment/build_layer.py --arch arm64 "$(ARTIFACTS_DIR)"
