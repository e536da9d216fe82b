# The two commands of the README:
#   make study   set up .venv, fetch the pretrained I3D, run the study on the embedded default
#   make test    set up .venv and run the test suite (what .ci/run calls)
# Also:
#   make study CONFIG=config/ucf101.yaml    another study (any config file)
#   make report                             HTML report of the last study: results/report.zip
#   make test-fast                          the edit loop: every test but the slow, workflow and cluster ones
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
CONFIG ?=

.PHONY: setup study report test test-fast clean-results

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,slurm]"
	@touch $@

study: setup
	$(BIN)/snakemake --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG))
	@echo "Tables: <results>/tables/  Figures: <results>/figures/  Failed videos: <results>/failed_videos.csv (<results>: the config's results key, results/ by default)"

report: setup
	$(BIN)/snakemake --cores 1 $(if $(CONFIG),--configfile $(CONFIG)) --report results/report.zip
	@echo "Report: results/report.zip"

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not cluster" -q

clean-results:
	rm -rf results/ .snakemake/
