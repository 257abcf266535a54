# Two commands for a new user: `make run` starts the dashboard, `make test` runs every test.
# Both install what they need first (a virtual environment in .venv; the linters and axe-core
# from npm; Debian's chromium for the browser tests, nginx for the scale-out test, PostgreSQL
# for the class store's tests).
# `make check` is the quick loop while working: linters and the tests that need no browser.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test check lint bench chromium nginx postgres

run: $(VENV)/.run-deps
	$(PY) -m streamlit run app.py

test: lint chromium nginx postgres
	$(PY) -m pytest

check: lint postgres
	$(PY) -m pytest -m "not browser and not serving"

lint: $(VENV)/.dev-deps node_modules/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	npx --no-install eslint lrui/components

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: $(VENV)/.dev-deps chromium
	$(PY) scripts/bench_core.py

$(VENV)/.run-deps: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.run-deps $@

# Debian's Chromium drives the browser tests (Playwright's own browser download cannot work here).
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Debian's nginx and its brotli module, for the class server's tests (deploy/serve_class.sh runs
# it unprivileged).
nginx:
	@test -x /usr/sbin/nginx -a -f /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx libnginx-mod-http-brotli-filter; }

# Debian's PostgreSQL 15: the class store's tests start their own server from its binaries
# (tests/support/postgres.py), beside a SQLite file.
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; }
