# acsq-mongo: two commands, `make demo` and `make test`. Both set everything up
# first (venv, pip install, the local SecantusDB server, system packages) and are
# fast when everything is already there.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo docs localdb system-deps js lint compose-check bench clean help

help:
	@echo "make demo   - set up, start the local server, make a sample archive, ingest it, serve the web app"
	@echo "make test   - set up and run the whole test suite (with the real local server)"
	@echo "make test-fast - the inner loop: the tests that need no real server, browser or minutes"
	@echo "make bench  - run the benchmarks (see benchmarks/)"
	@echo "make docs   - build the documentation into build/docs (warnings are errors)"

setup: $(STAMP) localdb system-deps js

$(STAMP): pyproject.toml setup.cfg
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,deploy,docs,trails]"
	@touch $@

# The local server, SecantusDB: its Rust server built once into ~/.cache/acsq-mongo
# (several minutes the first time), its Python server as the fallback in
# build/secantus-py. Pinned in scripts/localserver/pins.env. Quick when present.
localdb:
	@scripts/install_localdb.sh

system-deps:
	@scripts/install_system_deps.sh

# The explorer's JavaScript libraries (Leaflet, uPlot) and lint (ESLint), pinned in
# package-lock.json: npm ci, then the served files copied into webapp/static/vendor/.
js: system-deps
	@scripts/install_js.sh

lint: $(STAMP) js
	$(BIN)/ruff check .
	node_modules/.bin/eslint webapp/static tests/js eslint.config.js

compose-check:
	docker-compose -f docker-compose.yml config -q

test: setup
	$(BIN)/ruff check .
	docker-compose -f docker-compose.yml config -q
	$(BIN)/python -m pytest --durations=20 $(PYTEST_ARGS)  # tests/test_docs_build.py builds the docs as make docs does, with -W

# The inner loop while coding: every test not marked realdb, browser or slow (tests/conftest.py
# marks them from the fixtures they use). Under 2 minutes on a 2-core machine; `make test`
# (and CI) still runs everything. Figures: docs/architecture.md.
test-fast: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not realdb and not browser and not slow" --durations=10 $(PYTEST_ARGS)

# The Sphinx site: the guide (Markdown) and the API reference from the docstrings.
# -W --keep-going: every warning (a broken reference, an unparsable docstring)
# fails the build, after all of them are reported. -E: no stale environment.
docs: $(STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going -E -q docs build/docs

demo: setup
	$(BIN)/acsq demo

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build $(VENV) .pytest_cache
