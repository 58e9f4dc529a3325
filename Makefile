# automl-cfn: `make templates` and `make test` are the two commands to know.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ENV ?= dev

.PHONY: help install templates lint test unit integration bench local-aws clean

help:
	@echo "make templates    write generated/ (templates + parameters per environment), then lint"
	@echo "make lint         cfn-lint every generated template (zero findings, informational included)"
	@echo "make test         the whole test suite (the README's test command; .ci/run calls it)"
	@echo "make bench        benchmarks under bench/ (figures, not pass/fail)"
	@echo "make local-aws    run the local AWS endpoint in the foreground"

# The virtual environment is rebuilt when the package's dependencies change.
$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

templates: $(STAMP)
	$(BIN)/automl-cfn templates
	$(MAKE) --no-print-directory lint

lint: $(STAMP)
	$(BIN)/automl-cfn lint

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

local-aws: $(STAMP)
	$(BIN)/automl-cfn local-aws

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info templates_src/*.egg-info
