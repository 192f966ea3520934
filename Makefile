PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/tocsin
# Test processes (pytest-xdist): one per core; 0 runs everything in this process.
PYTEST_WORKERS ?= auto

.PHONY: run test test-sqlite test-postgres install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Install, migrate, load the demo organisation and serve on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/tocsin demo
	$(BIN)/tocsin serve

## Every test: SQLite (with the browser tests), then PostgreSQL
test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(STAMP)
	TOCSIN_DATABASE_URL=sqlite:///./var/test.db $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not own_postgres"

test-postgres: $(STAMP)
	TOCSIN_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not e2e and not own_sqlite"

clean:
	rm -rf $(VENV) var tocsin.db tocsin.db-wal tocsin.db-shm
