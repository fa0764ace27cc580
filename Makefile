# Unlearn — developer entry points.
#
#   make run     set up (venv, migrations, demo users) and serve http://127.0.0.1:8000
#   make test    set up (venv, Debian packages) and run lint + the whole test suite
#
# Works on a fresh Debian/Ubuntu with Python 3.11, as root or with sudo.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Prefer python3.11 (the supported version); fall back to whatever python3 is.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# Root installs packages directly; everyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# Debian packages the tests need: chromium for the Playwright browser tests (the
# system build at /usr/bin/chromium, never `playwright install`), pango/harfbuzz and a
# font for WeasyPrint's PDF reports, redis-server for the Celery/Channels tests.
SYSDEPS := chromium libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	redis-server

.PHONY: help venv sysdeps run migrate demo lint format typecheck test bench clean distclean

help:
	@echo "make run      set up and serve the site on http://$(HOST):$(PORT) (SQLite, var/)"
	@echo "make test     set up and run lint + tests (PYTEST_ARGS='...' passes options)"
	@echo "make venv     create $(VENV) and install requirements-dev.txt (no-op when current)"
	@echo "make sysdeps  apt-get install what the tests need (chromium, pango, fonts, redis)"
	@echo "make lint     ruff check + ruff format --check"
	@echo "make format   ruff format + ruff check --fix"
	@echo "make typecheck  mypy on remediation/services, selectors.py, unlearning"
	@echo "make bench    run the engine benchmarks"
	@echo "make clean    remove caches and collected static files (keeps var/ data)"
	@echo "make distclean  also remove $(VENV) and var/ (database, secrets, models)"

# --- environment -----------------------------------------------------------------

venv: $(VENV)/.installed

# Debian ships venv support in a separate package; install it once when it is missing.
# pip is the sentinel: a venv that failed half-way has python but no pip.
$(PIP):
	$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  pkg=$$($(PYTHON) -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])'); \
	  echo "Installing $$pkg so that '$(PYTHON) -m venv' works"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkg && \
	  $(PYTHON) -m venv $(VENV); \
	}

# The stamp is newer than the requirements once they are installed, so a second
# `make venv` does nothing until a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PIP)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

sysdeps:
	@missing=""; \
	for pkg in $(SYSDEPS); do \
	  dpkg -s "$$pkg" 2>/dev/null | grep -q '^Status: install ok installed' \
	    || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# --- running the site --------------------------------------------------------------

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py setup_demo

# Idempotent: migrate and setup_demo leave an existing database as it is; `serve` builds
# and registers the demo model on first start only, then runs the embedded Redis, one
# Celery worker (with beat) and daphne. Ctrl-C stops them all.
run: demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# --- quality -------------------------------------------------------------------------

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# mypy on services/, selectors.py and unlearning/ (the paths are in pyproject.toml).
typecheck: venv
	$(VENV)/bin/mypy

# sysdeps first: a fresh machine needs its packages before anything else runs.
test: sysdeps venv lint typecheck
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: venv
	$(PY) -m remediation.unlearning bench
	UNLEARN_VAR_DIR=$$(mktemp -d) $(PY) manage.py bench_progress --out var/bench/progress.json

# --- cleaning ------------------------------------------------------------------------

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache var/staticfiles var/test.sqlite3* var/test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) var
