# Every target creates the virtual environment it needs, so a fresh clone
# runs `make demo` or `make test` with nothing installed beforehand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,pdf]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/ona-ledger demo --out ona-demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# python-accounting is installed for one comparison figure only, never as a
# dependency. --no-deps skips its MySQL and psycopg2 drivers, which the SQLite
# comparison does not use; SQLAlchemy and python-dateutil are already installed.
bench: $(STAMP)
	$(BIN)/pip install --quiet --no-deps python-accounting==2.0.0 || \
		echo "python-accounting not installed; its figure will say why"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) ona-demo .pytest_cache .mypy_cache .ruff_cache
