# Kvalitetsportal: the project's vocabulary. `make run` and `make test` need only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
MANAGE := $(BIN)/python manage.py
# Test-only secrets; production refuses to start without real ones.
TEST_ENV := SECRET_KEY=test-only-secret-key PSEUDONYM_KEY=test-only-pseudonym-key SECURE_SSL_REDIRECT=0
DEMO_ROWS ?= 20000

.PHONY: messages run run-deps install install-dev test lint format bench bench-quick migrate demo worker clean check-migrations lock

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# A stamp per lock file: reinstall only when the lock changes. `uv pip sync` makes the venv
# exactly the lock, so the versions here are the versions CI tested.
$(VENV)/.installed-prod: requirements.lock | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	@rm -f $(VENV)/.installed-dev; touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements-dev.lock
	@rm -f $(VENV)/.installed-prod; touch $@

install: $(VENV)/.installed-prod
install-dev: $(VENV)/.installed-dev

lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements-dev.lock

# `make run` works with either install; it keeps a dev install rather than downgrade it.
run-deps:
	@if [ ! -f $(VENV)/.installed-dev ] || [ requirements-dev.lock -nt $(VENV)/.installed-dev ]; then \
		$(MAKE) --no-print-directory install; fi

run: run-deps
	@mkdir -p var
	DEBUG=1 $(MANAGE) migrate --no-input
	DEBUG=1 $(MANAGE) load_demo --rows $(DEMO_ROWS)
	DEBUG=1 $(MANAGE) runserver 127.0.0.1:8000

migrate: run-deps
	@mkdir -p var
	DEBUG=1 $(MANAGE) migrate --no-input

demo: run-deps
	DEBUG=1 $(MANAGE) load_demo --rows $(DEMO_ROWS)

worker: run-deps
	$(BIN)/celery -A qualityportal worker --loglevel=INFO

test: install-dev
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install-dev
	$(TEST_ENV) $(MANAGE) makemigrations --check --dry-run

bench: install-dev
	$(TEST_ENV) $(BIN)/python -m bench.run --rows 1000000

bench-quick: install-dev
	$(TEST_ENV) $(BIN)/python -m bench.run --rows 100000 --quick

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache

# Update the English catalogue from the Danish source texts, then compile it (needs gettext).
messages: install-dev
	DEBUG=1 $(MANAGE) makemessages -l en --ignore=.venv --ignore=var --no-obsolete
	DEBUG=1 $(MANAGE) compilemessages --ignore=.venv
