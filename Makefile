# The two commands of the README:
#   make study   set up .venv, fetch the pretrained I3D, run the study on the embedded default
#   make test    set up .venv and run the test suite (what .ci/run calls)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: setup study test clean-results

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,slurm]"
	@touch $@

study: setup
	$(BIN)/snakemake --cores $(CORES)
	@echo "Tables: results/tables/   Figures: results/figures/"

test: setup
	$(BIN)/python -m pytest

clean-results:
	rm -rf results/ .snakemake/
