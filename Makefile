# Homeline: the commands the README gives. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test lint bench bench-docs bench-alerts bench-tools install install-dev migrate clean

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
	# Queues declared once, before several workers race to create them (portal/broker_prepare.py).
	$(BIN)/python -m portal.broker_prepare
	@echo "Homeline on http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, workers and beat)"
	# Links in alert emails and SMS point at this server unless SITE_URL says otherwise.
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" PATH="$(CURDIR)/$(BIN):$$PATH" \
	  $(BIN)/honcho start --port $(PORT) --procfile Procfile

test: install-dev
	DJANGO_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/bandit --quiet --recursive accounts alerts notifications nursing symptoms treatment triage portal --severity-level medium
	DJANGO_ENV=production DJANGO_SECRET_KEY=lint-only-$$(printf '%064d' 0) \
	  DJANGO_ALLOWED_HOSTS=homeline.example.org REDIS_URL=redis://127.0.0.1:6379/0 \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

# Benchmarks (bench/): a production-like stack of their own (PostgreSQL and Redis from
# DATABASE_URL / REDIS_URL or started on free ports, gunicorn, a Celery worker, an SMTP
# sink), load from wrk. BENCH_ARGS="alerts scale" runs some; see docs/performance.md.
bench: install-dev bench-tools
	DJANGO_ENV=test $(BIN)/python -m bench $(BENCH_ARGS)

# The same, and the printed tables written into docs/performance.md.
bench-docs: install-dev bench-tools
	DJANGO_ENV=test $(BIN)/python -m bench --write-docs $(BENCH_ARGS)

# Red check-in commit -> SMTP, median and p95 over 200 alerts, beside a no-op task's round
# trip, idle and under half the check-in peak.
bench-alerts: install-dev bench-tools
	DJANGO_ENV=test $(BIN)/python -m bench alerts

# wrk (the load generator): installed from Debian when missing and we may, else a clear stop.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing wrk (apt-get install wrk) for the benchmarks"; \
	    apt-get install -y -qq wrk >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; \
	  else \
	    echo "make bench needs wrk, the load generator: sudo apt-get install wrk" >&2; exit 1; \
	  fi; }

clean:
	rm -rf var .pytest_cache
