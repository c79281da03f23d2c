# peacetalks: `make run` serves the app on http://127.0.0.1:8000; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What running needs (`pip install -e .`), and on top of it the test tools (the `dev` extra:
# pytest, playwright, mypy, ruff, schemathesis, pip-audit, hypothesis, ...), which `make run`
# never waits for.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run test lint typecheck pytest migrate seed audit clean

$(RUN_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	@echo "Installing peacetalks and what it needs to run into $(VENV)/ (once)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e .
	@touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP)
	@echo "Installing the test tools into $(VENV)/ (once)..."
	@$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(DEV_STAMP)

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

migrate: install
	$(BIN)/peacetalks db upgrade

seed: migrate
	$(BIN)/peacetalks seed --if-empty

# A new database is created and seeded first; serve's first line says where it listens.
run: install
	@$(BIN)/peacetalks db upgrade --seed-if-empty
	@$(BIN)/peacetalks serve --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check app migrations tests bench
	$(BIN)/ruff format --check app migrations tests bench

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/pytest

test: lint typecheck pytest

# Known vulnerabilities in the installed dependencies, when PyPI's vulnerability data answers
# (from a mirror that serves packages only, every package is "not found": the audit is skipped).
audit: install-dev
	@$(BIN)/pip-audit --progress-spinner off --skip-editable > .pip-audit.log 2>&1; status=$$?; \
	if [ $$status -ne 0 ]; then cat .pip-audit.log; exit $$status; fi; \
	skipped=$$(grep -c "could not be audited" .pip-audit.log); \
	if [ "$$skipped" -gt 0 ]; then echo "pip-audit: $$skipped packages could not be audited (no vulnerability data reachable); none known among the rest"; \
	else echo "pip-audit: no known vulnerabilities"; fi; rm -f .pip-audit.log

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
