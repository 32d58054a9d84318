# The two commands a newcomer needs: `make run` (the demo) and `make test` (every check and test).
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV := .venv
# The environment here sets PYTHONDONTWRITEBYTECODE, which makes every test process (xdist
# workers, each `visor-bridge` a test starts) compile every import again: about a second each.
unexport PYTHONDONTWRITEBYTECODE
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

ASSETS := bridge/web/static/assets/app.css

.PHONY: run test test-fast fuzz check fmt pytest coverage bench clean assets

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The web UI's CSS and JS (GOV.UK Frontend + MoJ Frontend via npm and sass; needs Node.js and npm).
# The output is not committed; it is rebuilt when the lock file or the sources change.
$(ASSETS): package.json package-lock.json frontend/app.scss frontend/app.js frontend/build.mjs
	@command -v npm >/dev/null || { echo "Building the web assets needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	node frontend/build.mjs

assets: $(ASSETS)

run: $(STAMP) $(ASSETS)
	BRIDGE_ENVIRONMENT=development $(BIN)/visor-bridge demo

check: $(STAMP)
	$(BIN)/ruff format --check bridge tests
	$(BIN)/ruff check bridge tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Tests run on three xdist workers on two cores: many tests wait on real processes, sockets and
# PostgreSQL, so a third worker keeps both cores busy (measured: 4 min 47 s against 5 min 15 s
# with two; WORKERS=0 runs them in this process, e.g. to use a debugger),
# a module at a time, so a module-scoped fixture (the resilience tests' reference runs) is
# built once. (`--dist loadgroup` would do it per group, but xdist 3.8 cannot name a group
# under pytest 9.)
WORKERS ?= 3
XDIST := -n $(WORKERS) --dist loadscope

# Coverage starts in every Python process of the run (pytest, its workers and the processes
# tests start) through this .pth hook, which does nothing unless COVERAGE_PROCESS_START is set.
SITE := $(shell $(PYTHON) -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
COVERAGE_PTH := $(VENV)/lib/$(SITE)/site-packages/visor_bridge_coverage.pth
$(COVERAGE_PTH): | $(STAMP)
	echo 'import os; os.environ.get("COVERAGE_PROCESS_START") and __import__("coverage").process_startup()' > $@

# Everything: PostgreSQL (BRIDGE_TEST_POSTGRES_URL) and the browser tests.
# Budget: 4 minutes on a two-core machine (docs/design.md, "Tests and coverage").
pytest: $(STAMP) $(ASSETS)
	$(BIN)/python -m pytest $(XDIST)

# The checks run beside the tests (the tests' tail waits on processes and sockets, so the
# checks' 20 CPU-seconds fit in it); each one's output is kept together, and either failing
# fails `make test`.
test: $(STAMP) $(ASSETS)
	$(MAKE) --no-print-directory -j2 --output-sync=target check pytest

# The same run measured for coverage, subprocesses included (about half as long again as
# `make pytest`, so it is not part of `make test`): build-coverage.txt, lowest first.
coverage: $(STAMP) $(ASSETS) $(COVERAGE_PTH)
	rm -f .coverage .coverage.*
	COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/.coverage \
		$(BIN)/python -m pytest $(XDIST)
	$(BIN)/coverage combine -q
	$(BIN)/coverage report --sort=cover > build-coverage.txt || true
	@head -n 12 build-coverage.txt; grep "^TOTAL" build-coverage.txt

# The quick lane while working: no browser, no PostgreSQL, no tests whose point is a real
# process. Budget: 60 seconds.
test-fast: $(STAMP) $(ASSETS)
	env -u BRIDGE_TEST_POSTGRES_URL -u BRIDGE_TEST_REQUIRE_ALL $(BIN)/python -m pytest $(XDIST) \
		-m "not browser and not postgres and not subprocess" --durations=5

# Long property-based runs: every hypothesis test with many more examples (the "fuzz" profile,
# tests/conftest.py). Tests that set their own max_examples keep it. Then the long versions of
# the suite's crash and race tests (each names its count in its module; docs/design.md, "Tests
# and coverage"): the Notify sender SIGKILLed 200 times (the suite does 10), `visor-bridge sync`
# SIGKILLed 40 times (8), and 16 claimers racing for 2,000 entries (160; PostgreSQL only).
# Then atheris, coverage-guided, on case document -> mapped record for FUZZ_SECONDS (its finds
# go to build/fuzz-corpus; the seeds and kept inputs are tests/fuzz/corpus, replayed by the suite).
FUZZ_SECONDS ?= 300
fuzz: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) -m hypothesis --hypothesis-profile=fuzz
	BRIDGE_TEST_NOTIFY_KILLS=200 $(BIN)/python -m pytest tests/services/test_notify_crash.py -k sqlite
	BRIDGE_TEST_SYNC_KILLS=40 $(BIN)/python -m pytest tests/cli/test_sync_resilience.py -k killed
	BRIDGE_TEST_CLAIM_ENTRIES=2000 $(BIN)/python -m pytest tests/services/test_claims.py -k concurrent
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	mkdir -p build/fuzz-corpus
	$(BIN)/python tests/fuzz/fuzz_case_document.py -max_total_time=$(FUZZ_SECONDS) \
		-rss_limit_mb=2048 -artifact_prefix=build/fuzz- build/fuzz-corpus tests/fuzz/corpus

# Benchmarks are separate from `make test`: they measure ratios side by side in one run and
# write the numbers into docs/BENCHMARKS.md. Mapping first, then the sync (100,000 cases; try
# `make bench BENCH_SYNC_ARGS="--cases 2000"` for a quick run, which prints but writes nothing),
# then the web pages' server time with 100,000 entries on SQLite and PostgreSQL (the server in
# BRIDGE_TEST_POSTGRES_URL, else postgres@127.0.0.1:5432; try BENCH_WEB_ARGS="--entries 5000"),
# then a proxy's work per task in Chromium (page loads, clicks, keystrokes, ViSOR references).
BENCH_SYNC_ARGS ?=
BENCH_WEB_ARGS ?=
# The workload and backlog pages with 100,000 entries and a year of work (issue 15); try
# BENCH_WORKLOAD_ARGS="--entries 5000".
BENCH_WORKLOAD_ARGS ?=
# The whole system for 10 minutes (issue 19): PostgreSQL (as bench_web), both simulators, two web
# instances, two schedulers and 20 simulated proxies over HTTP; try
# BENCH_SYSTEM_ARGS="--minutes 2 --proxies 5 --cases 2000" (its section says it was a shorter run).
BENCH_SYSTEM_ARGS ?=
bench: $(STAMP)
	status=0; \
	$(BIN)/python -m tests.bench.bench_mapping || status=1; \
	$(BIN)/python -m tests.bench.bench_sync $(BENCH_SYNC_ARGS) || status=1; \
	$(BIN)/python -m tests.bench.bench_web $(BENCH_WEB_ARGS) || status=1; \
	$(BIN)/python -m tests.bench.bench_tasks || status=1; \
	$(BIN)/python -m tests.bench.bench_workload $(BENCH_WORKLOAD_ARGS) || status=1; \
	$(BIN)/python -m tests.bench.bench_system $(BENCH_SYSTEM_ARGS) || status=1; \
	exit $$status

fmt: $(STAMP)
	$(BIN)/ruff format bridge tests
	$(BIN)/ruff check --fix bridge tests

clean:
	rm -rf $(VENV) demo *.egg-info node_modules bridge/web/static/assets .coverage .coverage.* build-coverage.txt
