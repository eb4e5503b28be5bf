# Songhub: two commands. `make run` starts everything on the embedded default (no services);
# `make test` runs the whole suite with coverage (PostgreSQL/Redis when DATABASE_URL/REDIS_URL
# point at them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run DEMO_ANALYTICS=0` skips the sample listening history (loaded once, for admin)
DEMO_ANALYTICS ?= 1
# pytest-xdist processes for `make test` (each with its own test database and Redis database)
# on 2 cores: the suite waits on real servers and subprocesses ~40 % of the time
TEST_WORKERS ?= 3

.PHONY: run test venv bench clean lint

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# The local settings (SECRET_KEY, DEBUG=1, SONG_DATA_DIR, SONG_SYNC_SOURCE=local), written once
# and read by manage.py, so every README command works after `make run`; see songhub/envfile.py.
.env: | $(STAMP)
	$(BIN)/python -m songhub.envfile write .env

run: $(STAMP) .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo --defer-password $(if $(filter 1,$(DEMO_ANALYTICS)),--demo-analytics)
	$(BIN)/python manage.py runall

test: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
	$(BIN)/coverage combine --quiet 2>/dev/null || true
	$(BIN)/coverage report

bench: $(STAMP)  ## the ingestion benchmark; see bench/ for the others
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .coverage .coverage.* htmlcov .pytest_cache

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/hadolint containerfile
