# One entry point for every task. Each target bootstraps .venv from the lock file when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)
# `make run` needs less than the tests (no linters, fuzzers, cfn-lint): its own, smaller lock, a subset of the dev
# lock with the same pins (tests/infra/test_locks.py), so a first `make run` is quick and the dev install covers it.
RUN_STAMP := $(VENV)/.run-installed-$(shell cat requirements-run.lock pyproject.toml | cksum | cut -d' ' -f1)
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
UPSTREAM := tests/upstream
UPSTREAM_STAMP := $(UPSTREAM)/node_modules/.installed-$(shell cat $(UPSTREAM)/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
PYTEST := $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

.PHONY: help setup run test lint typecheck cfn-lint unit infra integration e2e reliability bench clean \
	build-SharedLayer openapi

help:
	@echo "make setup        - the dev install (.venv from requirements-dev.lock): needed for any pytest subset"
	@echo "make run          - serve the API on 127.0.0.1:$${PORT:-3000} with an embedded DynamoDB (port"
	@echo "                    $${DYNAMODB_PORT:-8000}) and demo records; make run PORT=3001 DYNAMODB_PORT=8001"
	@echo "make test         - lint, type-check, cfn-lint and every test (all layers below)"
	@echo "make unit         - unit tests alone (domain, QR, CLI pieces, upstream cross-check)"
	@echo "make infra        - template.yaml, OpenAPI document and lock files alone"
	@echo "make integration  - handlers and the local gateway in-process with moto, alone"
	@echo "make e2e          - \`nmshd-tokens serve\` as a user runs it, the browser test, benchmarks script, alone"
	@echo "make reliability  - fuzzing, fault injection, load and secret checks, alone"
	@echo "make bench        - benchmarks (prints a table, writes benchmarks/results.json)"

$(STAMP):
	@echo "==> installing the pinned dependencies (requirements-dev.lock) into $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r requirements-dev.lock
	$(PIP) --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* $(VENV)/.run-installed-*
	touch $@ $(RUN_STAMP)

$(RUN_STAMP):
	@echo "==> installing what the local server needs (requirements-run.lock) into $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
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
	$(BIN)/nmshd-tokens serve $(if $(PORT),--port $(PORT)) $(if $(DYNAMODB_PORT),--dynamodb-port $(DYNAMODB_PORT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared functions

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

test: $(STAMP) $(UPSTREAM_STAMP) lint typecheck cfn-lint
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

openapi: $(STAMP)
	$(BIN)/python -m nmshd_tokens.http.openapi > docs/openapi.json

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(UPSTREAM)/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .aws-sam

# `sam build` runs this for SharedLayer (template.yaml, BuildMethod makefile) with ARTIFACTS_DIR set, in a
# copy of the repo (in place with --build-in-source). Lambda puts the layer's python/ folder on sys.path. It
# ships the package without its local tooling (local/, cli.py) and the runtime lock as CPython 3.13 / arm64
# wheels (any host works).
build-SharedLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	rm -rf "$(ARTIFACTS_DIR)/python/nmshd_tokens"
	cp -R shared/nmshd_tokens "$(ARTIFACTS_DIR)/python/nmshd_tokens"
	rm -rf "$(ARTIFACTS_DIR)/python/nmshd_tokens/local" "$(ARTIFACTS_DIR)/python/nmshd_tokens/cli.py"
	find "$(ARTIFACTS_DIR)/python" -name __pycache__ -type d -prune -exec rm -rf {} +
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --no-compile --require-hashes \
		-r requirements.lock --target "$(ARTIFACTS_DIR)/python" \
		--platform manylinux2014_aarch64 --implementation cp --python-version 3.13 --only-binary=:all:
	@# Bytecode for the runtime's Python (its /opt is read-only, so it would otherwise recompile on every cold
	@# start); hash-based, as zip archives round file times. Skipped when no python3.13 is on PATH.
	if python3.13 -c "" >/dev/null 2>&1; then \
		python3.13 -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"; \
	else echo "!! python3.13 not found: the layer ships without bytecode"; fi
