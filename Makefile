# The two set-up commands of the README:
#   make demo   — install, generate a demo street, run the pipeline, serve the cockpit
#   make test   — install from scratch into .venv, lint, run the whole test suite
# and CI's third step (.ci/run runs it after make test):
#   make smoke  — build the wheel, install it into a fresh venv outside the checkout, run it in Chromium
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser java demo test lint smoke bench

$(BIN)/cockpit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/cockpit

# The cockpit's partial Plotly bundle (only the trace types it draws: a third of the full bundle's transfer)
# and the regenerator runtime served for Dash's polyfill (tools/plotly-bundle/build.js says why),
# built with esbuild from the npm registry's plotly.js; Node and npm from Debian when missing.
PLOTLY_BUNDLE := cockpit/assets/plotly-cockpit.min.js
$(PLOTLY_BUNDLE): tools/plotly-bundle/package.json tools/plotly-bundle/package-lock.json tools/plotly-bundle/entry.js tools/plotly-bundle/entry-geo.js tools/plotly-bundle/entry-maps.js tools/plotly-bundle/build.js
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd tools/plotly-bundle && npm ci --no-audit --no-fund --loglevel=error && node build.js

install: $(BIN)/cockpit $(PLOTLY_BUNDLE)

# The browser tests drive Debian's Chromium (no browser download); the CJK fonts make
# Chinese render (and embed in PDFs). Installed once, when missing; needs root, as on CI.
browser:
	@if [ ! -x $(CHROMIUM) ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk fontconfig; \
	fi

# Java for the Spark engine's test (pyspark starts a local JVM); Debian's headless JRE, once, when missing.
java:
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq default-jre-headless)

demo: install browser
	$(BIN)/cockpit up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser java
	$(BIN)/python -m pytest -q

smoke: install browser
	$(BIN)/python -m tests.packaging.smoke

# BENCH_ARGS="--home var" reuses the demo street instead of generating one per benchmark.
BENCH_ARGS ?=
bench: install browser
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.callbacks --facts $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.compaction $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.briefing $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.wall $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.serving $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.warning $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.growth --spark
