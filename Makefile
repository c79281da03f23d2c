# peacetalks: `make run` serves the app on http://127.0.0.1:8000; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck pytest migrate seed audit clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/peacetalks db upgrade

seed: migrate
	$(BIN)/peacetalks seed --if-empty

run: seed
	$(BIN)/peacetalks serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check app migrations tests bench
	$(BIN)/ruff format --check app migrations tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

# Known vulnerabilities in the installed dependencies, when PyPI's vulnerability data answers
# (from a mirror that serves packages only, every package is "not found": the audit is skipped).
audit: install
	@$(BIN)/pip-audit --progress-spinner off --skip-editable > .pip-audit.log 2>&1; status=$$?; \
	if [ $$status -ne 0 ]; then cat .pip-audit.log; exit $$status; fi; \
	skipped=$$(grep -c "could not be audited" .pip-audit.log); \
	if [ "$$skipped" -gt 0 ]; then echo "pip-audit: $$skipped packages could not be audited (no vulnerability data reachable); none known among the rest"; \
	else echo "pip-audit: no known vulnerabilities"; fi; rm -f .pip-audit.log

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
