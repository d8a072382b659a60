PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export KB_HOME ?= var

.PHONY: serve test install install-dev browser nginx postgresql wrk build lint openapi bench bench-worst load bench-import eval cluster-test load-cluster clean

$(BIN)/kb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/kb
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/kb

install-dev: $(VENV)/.dev

## make serve: install, build the store and index, serve on $(HOST):$(PORT)
serve: install
	$(BIN)/kb build
	$(BIN)/kb serve --host $(HOST) --port $(PORT)

build: install
	$(BIN)/kb build

## make browser: Debian's Chromium and its driver, for the paste page's end-to-end tests
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "install chromium and chromium-driver to run the browser tests" >&2; fi

## make nginx: Debian's nginx, for the test of deploy/nginx.conf in front of `kb serve`
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	else echo "install nginx to run the reverse proxy test" >&2; fi

## make wrk: the HTTP load generator the benchmarks drive the server with
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else echo "install wrk to run the throughput benchmarks" >&2; fi

## make postgresql: Debian's PostgreSQL server programs, for the tests of the PostgreSQL store
## (the tests start a throw-away server of their own; the installed cluster is not used)
postgresql:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	else echo "install postgresql to run the PostgreSQL store tests" >&2; fi

## make test: install with dev extras and run the tests
test: install-dev browser nginx postgresql
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check service schemas tests bench
	$(BIN)/ruff format --check service schemas tests bench

## make openapi: write openapi.yaml from the code (a test fails while the two differ)
openapi: install
	$(BIN)/kb openapi > openapi.yaml.new
	mv openapi.yaml.new openapi.yaml

## make bench: latency of /v1/match under gunicorn beside a hello-world baseline
bench: install-dev wrk
	$(BIN)/python bench/bench_match.py

## make load: mixed traffic at 50 connections under gunicorn, alone and during a bulk import
load: install-dev wrk
	$(BIN)/python bench/load.py

## make cluster-test: two `kb serve` nodes on one throw-away PostgreSQL server, the SMS archive
## imported through one and checked on the other (ARTICLES=300 for a quicker run)
cluster-test: install-dev postgresql
	$(BIN)/python bench/cluster.py $(if $(ARTICLES),--articles $(ARTICLES))

## make load-cluster: make load's mix on two nodes over PostgreSQL (25 connections each, then
## 50 through nginx) beside one node over SQLite (50), and a 200-line paste's latency on each
load-cluster: install-dev postgresql wrk nginx
	$(BIN)/python bench/load_cluster.py

## make bench-worst: worst-case pastes up to the limits on the 60k store, and /healthz meanwhile
bench-worst: install-dev
	$(BIN)/python bench/bench_worst.py

## make bench-import: import the 60,335-article archive and measure time, memory and matching
bench-import: install-dev
	$(BIN)/python bench/bench_import.py

## make eval: match quality over HTTP on queries made from the raw archives (SMS, then all 60k)
eval: install-dev
	$(BIN)/python bench/eval_match.py --both

clean:
	rm -rf $(VENV) var .pytest_cache
