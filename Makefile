# Two commands matter: `make demo` (the whole pipeline, locally) and `make test` (every check).
# Each sets itself up on a fresh machine: a venv, pinned installs, nothing global.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := $(VENV)/sam
SAM := $(SAM_VENV)/bin/sam
AWS_VENV := $(VENV)/aws
CHECKOV_VENV := $(VENV)/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
TRANSLATED := .aws-sam/static/template.json
N ?= 5
PYTEST_ARGS ?= -n 2
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv awscli test lint static demo up bench bench-pipeline cost soak build clean

help:
	@echo "make demo    run the whole pipeline on the local cloud (N=$(N) sessions)"
	@echo "make test    every test and static check"
	@echo "make up      start the local cloud and the Jumio simulator, until Ctrl-C"
	@echo "make bench   run the benchmarks and print their figures"
	@echo "make bench-pipeline  sessions/min and latency on the local cloud (N=\"10 50 100\" FAULTS=both)"
	@echo "make cost    AWS cost per 1,000 sessions, from N sessions run locally (N=10)"
	@echo "make soak    N racing sessions with Jumio faults and duplicate S3 events (N=50)"
	@echo "make awscli  a pinned AWS CLI in .venv/aws, for the commands make up prints"
	@echo "make build   sam build + bytecode (arm64 layer and functions; needs python3.12)"

$(VENV)/.installed: requirements/dev.txt requirements/constraints.txt layers/shared/python/requirements.txt scripts/dev_paths.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) scripts/dev_paths.py
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	touch $@

$(AWS_VENV)/.installed: requirements/awscli.txt | $(VENV)/.installed
	$(PYTHON) -m venv $(AWS_VENV)
	$(AWS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/awscli.txt
	touch $@

venv: $(VENV)/.installed

awscli: $(AWS_VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# cfn-lint with its informational rules; checkov on the SAM template and on its translation
# (the roles SAM generates); the IAM, alarm and deploy-settings tests (tests/static).
static: venv $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/cfn-lint --include-checks I -- template.yaml
	$(SAM) validate --lint --region $(AWS_DEFAULT_REGION) --template-file template.yaml
	$(PY) scripts/translate_template.py $(TRANSLATED)
	$(CHECKOV) --framework cloudformation --compact --quiet --skip-download \
		-f template.yaml -f $(TRANSLATED)
	$(PY) -m pytest tests/static -q -p no:xdist

test: lint static $(AWS_VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

demo: venv
	$(PY) -m local_cloud demo --sessions $(N)

up: venv
	$(PY) -m local_cloud up

bench: venv
	$(PY) benchmarks/bench_validation.py
	$(PY) benchmarks/bench_add_part.py
	$(PY) benchmarks/bench_local_invoker.py
	$(PY) benchmarks/bench_cold_start.py
	$(PY) benchmarks/bench_memory.py
	$(PY) benchmarks/bench_retention.py --sizes 1000,10000 --runs 3

# Throughput of the whole pipeline on the local cloud (minutes; not part of `make bench`).
# N is a list of session counts ("10 50 100" unless given); FAULTS is on, off or both;
# BENCH_ARGS passes more options (e.g. --rate 20: sessions one after another, 20 a minute).
BENCH_N = $(if $(filter command line environment,$(origin N)),$(N),10 50 100)
FAULTS ?= both
BENCH_ARGS ?=
bench-pipeline: venv
	$(PY) benchmarks/bench_pipeline.py --sessions "$(BENCH_N)" --faults $(FAULTS) $(BENCH_ARGS)

# Prices N sessions (default 10) run locally from registration to erasure (benchmarks/cost_model.py).
COST_N = $(if $(filter command line environment,$(origin N)),$(N),10)
cost: venv
	$(PY) benchmarks/cost_model.py --sessions $(COST_N)

# The soak is not part of `make test` (minutes long; pyproject keeps pytest out of tests/soak).
# Its own checks run first, then N sessions (default 50) race through the local cloud.
SOAK_N = $(if $(filter command line environment,$(origin N)),$(N),50)
SOAK_ARGS ?=
soak: venv
	$(PY) -m pytest tests/soak -q -p no:xdist
	$(PY) -m tests.soak --sessions $(SOAK_N) $(SOAK_ARGS)

# sam build needs the Lambda runtime's Python (3.12) on PATH; pyenv's is used when present.
PY312_BIN ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin))
# Lambda's file system is read-only: a package without bytecode compiles every module at every
# cold start (benchmarks/bench_cold_start.py --no-bytecode). The build is compiled with the
# runtime's Python into unchecked-hash .pyc files, valid whatever the zip does to file times
# (the package never changes after the build).
build: $(SAM_VENV)/.installed
	PATH="$(if $(PY312_BIN),$(PY312_BIN):)$$PATH" $(SAM) build --template-file template.yaml
	PATH="$(if $(PY312_BIN),$(PY312_BIN):)$$PATH" python3.12 -m compileall -q -f -j 0 \
		--invalidation-mode unchecked-hash .aws-sam/build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .benchmarks .aws-sam
