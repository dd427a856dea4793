# The two commands: `make run` (embedded default: SQLite, server-less broker, demo data)
# and `make test` (the suite against PostgreSQL and Redis). Both set themselves up.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Python 3.13: pyenv's .python-version selects it through the `python3.13`/`python3`
# shims; otherwise the first python3.13 or python3 on the PATH that is 3.13.
PYTHON_313 := $(shell for p in python3.13 python3; do \
	if command -v $$p >/dev/null 2>&1 && [ "$$($$p -c 'import sys; print(sys.version_info[:2] == (3, 13))' 2>/dev/null)" = "True" ]; then \
	command -v $$p; break; fi; done)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/statuspage
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
TEST_SECRET_KEY := test-only-secret-key-not-for-production-0123456789abcdefghij
# Tests run with production static settings (hashed manifest), so they collect first.
TEST_STATIC_ROOT := var/test-static
# The suite talks plain HTTP to the app, as a TLS-terminating proxy would; the redirect
# itself is covered by tests/core/test_security_settings.py.
# Tests probe servers they start on this machine, so loopback targets are allowed.
TEST_ENV := SECRET_KEY=$(TEST_SECRET_KEY) STATIC_ROOT=$(TEST_STATIC_ROOT) SECURE_SSL_REDIRECT=false \
	DJANGO_ALLOW_ASYNC_UNSAFE=true CHECK_PRIVATE_TARGETS=private,loopback
PYTEST_ARGS ?=
# Test processes side by side (pytest-xdist; 0: one process). The suites wait on sockets,
# browsers and worker start-ups for about half their time, so more processes than cores pay.
# Each process gets its own test database, Redis database (REDIS_URL's number plus 0, 1, 2...)
# and var/ folder (tests/settings.py).
TEST_WORKERS ?= 3

.PHONY: install chromium run test test-embedded test-faults test-api-schema migrate lint format lock bench-engine bench-history clean

install: $(STAMP)

$(STAMP): requirements/dev.txt
	@if [ -z "$(PYTHON_313)" ]; then \
		echo "error: Python 3.13 not found. Install it (e.g. 'pyenv install 3.13.0', which the"; \
		echo "       .python-version file here selects) or put python3.13 on the PATH."; exit 1; fi
	@echo "==> virtualenv in $(VENV) with $(PYTHON_313)"
	@[ -x $(PY) ] || $(PYTHON_313) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "==> installing the locked dependencies (requirements/dev.txt, hash-checked)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	@touch $(STAMP)

# The browser tests drive Debian's Chromium; installed here when missing and run as root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "==> installing Chromium (Debian package) for the browser tests"; \
			apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "error: the browser tests need Chromium: sudo apt-get install -y chromium"; exit 1; \
		fi; }

migrate: install
	$(PY) manage.py migrate --noinput

# runstack marks the checkout (var/local-checkout): manage.py commands typed here then
# default to DEBUG while SECRET_KEY and DATABASE_URL are unset (statuspage/core/localrun.py).
run: install
	@DEBUG=$${DEBUG:-true} $(PY) manage.py runstack

test: install chromium
	@DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) scripts/check_services.py
	@DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(TEST_ENV) \
		sh -c '$(PY) manage.py collectstatic --noinput -v0 && $(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)'

# The fault suite: a private PostgreSQL cluster and Redis, gunicorn, a worker and beat,
# started by the tests (tests/faults), with Redis restarts, PostgreSQL stops and kills.
test-faults: install
	@DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(TEST_ENV) \
		sh -c '[ -f $(TEST_STATIC_ROOT)/staticfiles.json ] || $(PY) manage.py collectstatic --noinput -v0; \
		$(VENV)/bin/pytest tests/faults -m faults $(PYTEST_ARGS)'

# The same suite on the embedded default (SQLite, file cache, filesystem broker).
test-embedded: install chromium
	@env -u DATABASE_URL -u REDIS_URL STATUSPAGE_VAR_DIR=$$(mktemp -d) \
		$(TEST_ENV) \
		sh -c '$(PY) manage.py collectstatic --noinput -v0 && $(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)'

# Schemathesis against /api/v1/openapi.json of a live gunicorn (a fresh database beside
# TEST_DATABASE_URL's, dropped afterwards): no server error, no schema violation.
API_SCHEMA_ARGS ?= --max-examples 10
test-api-schema: install
	@DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) scripts/api_schema.py $(API_SCHEMA_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-resolve the locks from pyproject.toml (hashes included, no index address written).
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.13 --generate-hashes -q -o requirements/main.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.13 --generate-hashes -q -o requirements/dev.txt

# Benchmarks (PostgreSQL and Redis; DATABASE_URL / REDIS_URL override the bench defaults).
BENCH_CHECKS ?= 10000
BENCH_SECONDS ?= 300
bench-engine: install
	$(PY) bench/engine.py --checks $(BENCH_CHECKS) --seconds $(BENCH_SECONDS)

HISTORY_RAW_ROWS ?= 10000000
HISTORY_ARGS ?=
bench-history: install
	$(PY) bench/history.py --raw-rows $(HISTORY_RAW_ROWS) $(HISTORY_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
