# Two commands for a new user: `make run` starts the dashboard, `make test` runs every test.
# Both install what they need first (a virtual environment in .venv; Debian's chromium for the
# browser tests, nginx for the scale-out test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench chromium nginx

run: $(VENV)/.run-deps
	$(PY) -m streamlit run app.py

test: $(VENV)/.dev-deps chromium nginx
	$(PY) -m ruff check .
	$(PY) -m pytest

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

# Debian's nginx, for the scale-out test (scripts/serve_class.sh runs it unprivileged).
nginx:
	@test -x /usr/sbin/nginx || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx; }
