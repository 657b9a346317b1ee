# Everyday commands. `make demo` and `make test` each create the virtual environment they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format install clean-data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install avalign with its dev tools

demo: $(STAMP)  ## the main job on the embedded synthetic dataset: make the data, train the best detector, test, log
	$(BIN)/python -m avalign.train experiment=transformer_fps25

test: $(STAMP)  ## lint, then the test suite
	$(BIN)/ruff check src tests experiments notebooks
	$(BIN)/ruff format --check src tests experiments notebooks
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests experiments notebooks

format: $(STAMP)
	$(BIN)/ruff format src tests experiments notebooks
	$(BIN)/ruff check --fix src tests experiments notebooks

clean-data:  ## remove generated data, caches and run folders (never the source)
	rm -rf data outputs multirun mlruns mlflow.db
