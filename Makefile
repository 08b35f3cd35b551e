# Homeline: the commands the README gives. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test lint bench bench-alerts install install-dev migrate clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Homeline needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall only when the requirement files change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

# Web (gunicorn), Celery worker and beat on the embedded defaults: SQLite in var/ and a
# Celery broker on SQLite. Mail goes to files in var/mail/.
run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo "Homeline on http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, worker and beat)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT) --procfile Procfile

test: install-dev
	DJANGO_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/bandit --quiet --recursive accounts symptoms portal --severity-level medium
	DJANGO_ENV=production DJANGO_SECRET_KEY=lint-only-$$(printf '%064d' 0) \
	  DJANGO_ALLOWED_HOSTS=homeline.example.org REDIS_URL=redis://127.0.0.1:6379/0 \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

bench: install-dev
	DJANGO_ENV=test $(BIN)/python -m bench

# Red check-in commit -> SMTP, median and p95 over 200 alerts, beside a no-op task's round trip.
bench-alerts: install-dev
	DJANGO_ENV=test $(BIN)/python -m bench alerts

clean:
	rm -rf var .pytest_cache
