# Juggernaut: `make run` starts everything with demo data, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
VAR := var

# A local run: real settings, no DEBUG; a secret generated once and kept in var/.
RUN_ENV := SECRET_KEY_FILE=$(VAR)/secret_key SERVE_STATIC=true SECURE_COOKIES=false \
	ALLOWED_HOSTS=$${ALLOWED_HOSTS:-127.0.0.1,localhost}

.PHONY: run test lint types pytest bench clean

$(VENV): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(VENV)

$(VAR)/secret_key:
	@mkdir -p $(VAR)
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@chmod 600 $@

run: $(VENV) $(VAR)/secret_key
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(PY) manage.py ensure_admin
	$(RUN_ENV) $(PY) manage.py install_schedules
	$(RUN_ENV) $(PY) manage.py serve --port $(PORT)

lint: $(VENV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(VENV)
	SECRET_KEY=type-checking-only $(VENV)/bin/mypy

pytest: $(VENV)
	$(VENV)/bin/pytest

test: lint types pytest

bench: $(VENV)
	$(PY) bench/engine_claim.py
	$(PY) bench/engine_page_queries.py
	$(PY) bench/codehealth_scan.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
