# automl-cfn: `make templates` and `make test` are the two commands to know.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# taskcat pins jsonschema<4 and urllib3<2, which conflict with moto: its own venv.
TASKCAT_VENV := .venv-taskcat
TASKCAT_STAMP := $(TASKCAT_VENV)/.installed
TASKCAT_VERSION := 0.9.58
# checkov pins packaging<24, which pytest does not accept: its own venv too.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION := 3.3.30
ENV ?= dev

.PHONY: help install taskcat-venv checkov-venv scan templates lint lint-cfn lint-taskcat test unit integration bench \
        local-aws taskcat taskcat-local clean

help:
	@echo "make templates     write generated/ (templates + parameters per environment), then cfn-lint"
	@echo "make lint          cfn-lint (zero findings, informational included), taskcat lint, checkov scan"
	@echo "make scan          checkov over what each config/*.yaml (and a full-featured one) deploys; skips in checks/skips.yaml"
	@echo "make test          the whole test suite, the offline taskcat run included (CI runs this)"
	@echo "make taskcat-local every .taskcat.yml test against the local endpoint, outputs checked"
	@echo "make taskcat       taskcat test run against a real AWS account (needs credentials)"
	@echo "make bench         benchmarks under bench/ (figures, not pass/fail)"
	@echo "make local-aws     run the local AWS endpoint in the foreground"

# The virtual environments are rebuilt when their requirements change.
$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q templates_src
	@touch $@

$(TASKCAT_STAMP): Makefile
	@test -x $(TASKCAT_VENV)/bin/python || $(PYTHON) -m venv $(TASKCAT_VENV)
	$(TASKCAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TASKCAT_VENV)/bin/python -m pip install --quiet 'taskcat==$(TASKCAT_VERSION)'
	@touch $@

$(CHECKOV_STAMP): Makefile
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	@touch $@

install: $(STAMP)

checkov-venv: $(CHECKOV_STAMP)

taskcat-venv: $(TASKCAT_STAMP)

templates: $(STAMP)
	$(BIN)/automl-cfn templates
	$(MAKE) --no-print-directory lint-cfn

lint: lint-cfn lint-taskcat scan

scan: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python -m automl_cfn.scan

lint-cfn: $(STAMP)
	$(BIN)/automl-cfn lint

lint-taskcat: $(TASKCAT_STAMP)
	$(TASKCAT_VENV)/bin/taskcat lint

test: $(STAMP) $(TASKCAT_STAMP) $(CHECKOV_STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/integration $(PYTEST_ARGS)

taskcat-local: $(STAMP) $(TASKCAT_STAMP)
	$(BIN)/python -m automl_cfn.taskcat_run local

taskcat: $(STAMP) $(TASKCAT_STAMP)
	$(BIN)/python -m automl_cfn.taskcat_run real

bench: $(STAMP)
	$(BIN)/python bench/run.py

local-aws: $(STAMP)
	$(BIN)/automl-cfn local-aws

clean:
	rm -rf $(VENV) $(TASKCAT_VENV) $(CHECKOV_VENV) .pytest_cache build *.egg-info templates_src/*.egg-info taskcat_outputs .bench
