# The two set-up commands of the README:
#   make demo   — install, generate a demo street, run the pipeline, serve the cockpit
#   make test   — install from scratch into .venv, lint, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench

$(BIN)/cockpit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/cockpit

install: $(BIN)/cockpit

demo: install
	$(BIN)/cockpit up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m benchmarks.pipeline
