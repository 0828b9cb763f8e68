# ItemHub: `make run` serves the hub, `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev
	touch $(STAMP)

run: install
	$(VENV)/bin/itemhub serve

test: install
	$(VENV)/bin/pytest

test-fast: install
	$(VENV)/bin/pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmark prints a table; figures and notes are in bench/RESULTS.md and
# bench/results/. The last, bench.write_path, prints issue 14's table (every
# write-path figure beside the one the issue started from) from one run.
bench: install
	$(PY) -m bench.run
	$(PY) -m bench.audit
	$(PY) -m bench.api_load
	$(PY) -m bench.fanout
	$(PY) -m bench.versus_crud
	$(PY) -m bench.read_models
	$(PY) -m bench.cluster
	$(PY) -m bench.write_path

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
