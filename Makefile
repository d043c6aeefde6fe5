# Two commands set everything up on a fresh machine: `make briefings` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AS_OF ?= 2026-11-29
ACCOUNTS ?= 5000
SEED ?= 7
DEMO := data/demo

.PHONY: install test briefings demo bench lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/playbook demo-data --accounts $(ACCOUNTS) --seed $(SEED) --as-of $(AS_OF) --out $(DEMO)

REPORTS := reports/$(AS_OF)

briefings: demo
	$(BIN)/playbook validate $(DEMO)
	mkdir -p $(REPORTS)
	$(BIN)/playbook segment $(DEMO) --as-of $(AS_OF) --out $(REPORTS)/segments.parquet
	$(BIN)/playbook kpis $(DEMO) --as-of $(AS_OF) --by team --json > $(REPORTS)/kpis_by_team.json
	@echo "reports written to $(REPORTS)"

bench: $(STAMP)
	$(BIN)/python -m bench

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) reports $(DEMO)
