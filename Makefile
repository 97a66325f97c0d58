# Tocsin: two commands.
#   make run   set up and run the server on the embedded default (SQLite under ./var/)
#   make test  set up and run the whole test suite and quality gates
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint setup clean

$(BIN)/tocsin: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tocsin needs Python 3.11 or newer; set PYTHON=python3.x")'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python venv is missing; installing Debian's python3-venv"; \
	  apt-get install -y -q python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); } || { \
	  echo "error: cannot create a virtualenv: install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/tocsin
	@command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "Alertmanager is missing (a test runs a real one); installing Debian's prometheus-alertmanager"; \
	    apt-get install -y -q prometheus-alertmanager >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q prometheus-alertmanager >/dev/null 2>&1; } || \
	      echo "warning: could not install prometheus-alertmanager; its test will be skipped"; \
	  else \
	    echo "note: prometheus-alertmanager is not installed; its test will be skipped (apt-get install prometheus-alertmanager)"; \
	  fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "Chromium is missing (the status page's browser test runs a real one); installing Debian's chromium"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	      echo "warning: could not install chromium; the browser test will be skipped (and fail under CI=true)"; \
	  else \
	    echo "note: chromium is not installed; the browser test will be skipped (apt-get install chromium)"; \
	  fi; }

run: setup
	$(BIN)/tocsin serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

test: lint
	$(BIN)/python -m pytest -n auto

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
