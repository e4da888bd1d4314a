# Juggernaut: `make run` starts everything with demo data, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
VAR := var

# Pinned with hashes, installed by plain pip (see README "Dependencies"): the runtime set
# for deployments, the runtime set plus the test tools for .venv.
LOCK := requirements.txt
DEV_LOCK := requirements-dev.txt
# uv resolves the lock files (seconds, for every platform and Python 3.11+); it lives in a
# venv of its own so that `make lock` never needs .venv, nor lock files free of conflicts.
UV_VERSION := 0.13.10
TOOLS := .tools
UV := $(TOOLS)/bin/uv
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-config \
	--index-url https://pypi.org/simple --custom-compile-command 'make lock' --quiet \
	$(if $(UPGRADE),--upgrade)

.PHONY: run test lint types pytest bench clean lock wheel-check deploy-check

$(VENV): pyproject.toml $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(VENV)

$(VAR)/secret_key:
	@mkdir -p $(VAR)
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@chmod 600 $@

# The local run's settings, read by manage.py in any shell; what you export wins over them.
.env:
	@printf '%s\n' '# Written once by `make run` for this checkout; manage.py reads it.' \
		'# Exported variables win over these lines. Never used by an installed package.' \
		'SECRET_KEY_FILE=$(CURDIR)/$(VAR)/secret_key' \
		'SERVE_STATIC=true' \
		'SECURE_COOKIES=false' \
		'ALLOWED_HOSTS=127.0.0.1,localhost' > $@

run: $(VENV) $(VAR)/secret_key .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(PY) manage.py install_schedules
	@# Last before the server, framed: on a first run the one password is not lost in the output.
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve --port $(PORT)

lint: $(VENV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(VENV)
	SECRET_KEY=type-checking-only $(VENV)/bin/mypy

pytest: $(VENV)
	$(VENV)/bin/pytest

test: lint types pytest

# Re-resolve both lock files from pyproject.toml's ranges, keeping every pin that still fits;
# `make lock UPGRADE=1` moves every package to its newest allowed version. A lock file left
# with merge conflict markers keeps its first side's pins, and the ranges decide the rest.
lock: $(UV)
	@sed -i -e '/^<<<<<<< /d' -e '/^||||||| /,/^>>>>>>> /d' -e '/^=======$$/,/^>>>>>>> /d' \
		$(DEV_LOCK) $(LOCK)
	$(UV) pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o $(DEV_LOCK)
	$(UV) pip compile pyproject.toml -c $(DEV_LOCK) $(LOCK_FLAGS) -o $(LOCK)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The wheel, installed alone (with requirements.txt) into a fresh venv outside the checkout.
wheel-check: $(VENV)
	.ci/wheel_check

# compose.yaml, the systemd units and the nginx site in deploy/, checked as far as this host can.
deploy-check: $(VENV)
	.ci/deploy_check

# Every benchmark, each on its own database, into var/bench/summary.json (bench/README.md):
# about 15 minutes; `make bench BENCH_FLAGS=--quick` checks they all run, `--only stream` one.
bench: $(VENV)
	$(PY) bench/run.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache build dist
