# The two set-up commands of the README, and the checks CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test lint docs bench bench-rights

$(BIN)/activate: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(BIN)/activate

## Run the example site on http://127.0.0.1:5000 (SQLite, demo posts, mail at /outbox).
run: $(BIN)/activate
	$(BIN)/flask --app example_site init-db --demo
	$(BIN)/flask --app example_site run --host 127.0.0.1 --port 5000

## Run lint, types, docs and the tests.
test: $(BIN)/activate lint docs
	$(BIN)/python -m pytest -n 2

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

docs: $(BIN)/activate
	$(BIN)/python -m sphinx -W -q -b html docs docs/_build/html

## Measure the per-page cost beside bare Flask and Flask-Security-Too (a few minutes).
bench: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[bench]'
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ echo "make bench needs wrk: apt-get install wrk (Debian), brew install wrk (macOS)"; exit 1; }
	$(BIN)/python benchmarks/page_cost.py $(BENCH_ARGS)

## Export and erasure of a member with 100,000 comments (SQLite); prints a table.
bench-rights: $(BIN)/activate
	$(BIN)/python benchmarks/rights_scale.py
