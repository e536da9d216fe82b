# The two commands of the README:
#   make study   set up .venv, fetch the pretrained I3D, run the study on the embedded default
#   make test    set up .venv (and, as root, Chromium for the browser tests) and run the test suite (what .ci/run calls)
# Also:
#   make study CONFIG=config/ucf101.yaml    another study (any config file)
#   make report                             HTML report of the last study: results/report.zip
#   make test-fast                          the edit loop: every test but the slow, workflow and cluster ones
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
CONFIG ?=

.PHONY: setup browser study report test test-fast clean-results

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

# The browser tests (the report, an overlay video, the live page) drive a real headless Chromium.
# As root with apt-get (a fresh Debian machine, as .ci/run is) this installs Debian's chromium
# when no Chromium is on PATH; anywhere else it installs nothing, and those tests skip, saying why.
browser:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
		|| echo "warning: chromium could not be installed; the browser tests will skip"; \
	else \
		echo "No Chromium on PATH and not root with apt-get: the browser tests will skip"; \
	fi

test: setup browser
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not cluster" -q

clean-results:
	rm -rf results/ .snakemake/
