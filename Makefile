# One interface for people and CI. Every target works on a fresh machine: it creates .venv and
# installs what that target needs (the demo: the package alone; tests and lint: the extras).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# Debian packages (test-tools): on a busy machine another install may hold dpkg's lock, and apt
# waits for it (up to 5 minutes) instead of failing with "Could not get lock ...lock-frontend".
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300

.PHONY: help demo test test-tools lint fmt bench sandbox clean

help:
	@echo "make demo    set up .venv and run 'fcaudit scan --sandbox' (no Stripe key needed)"
	@echo "make test    set up .venv and run the whole test suite"
	@echo "make lint    ruff (format check + lint) and mypy strict on fcaudit/ and tests/"
	@echo "make bench   the performance benchmark (bench/README.md)"

# Stamps rebuild the venv's contents when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

# The dev install includes the package: one pip run, and the demo's stamp is then current too.
$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test,lint]'
	touch $@ $(VENV)/.stamp-run

# Exit 1 means "findings matched --fail-on": for the demo that is the expected outcome.
demo: $(VENV)/.stamp-run
	$(BIN)/fcaudit scan --sandbox --format table || [ $$? -eq 1 ]

# Programs some tests run, as COMMAND or COMMAND:DEBIAN-PACKAGE: jq (the README's jq examples),
# Chromium (the HTML report is checked in headless Chromium), promtool (the metrics and the
# README's alerting rules are checked by Prometheus' own tool), cmark-gfm (GitHub's Markdown
# renderer: the Markdown report makes no link it does not mean). Installed from Debian's
# packages when missing (as root).
SYSTEM_TOOLS := jq chromium promtool:prometheus cmark-gfm

test-tools:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "make test needs:$$missing (Debian: sudo apt-get install$$missing)"; exit 1; fi; \
	  echo "installing$$missing (Debian packages)"; \
	  $(APT_GET) update -q && $(APT_GET) install -y -q $$missing; \
	fi

test: $(VENV)/.stamp-dev test-tools
	$(BIN)/python -m pytest -n 2 $(if $(K),-x -k "$(K)",)

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff format --check fcaudit tests bench
	$(BIN)/ruff check fcaudit tests bench
	$(BIN)/mypy

fmt: $(VENV)/.stamp-dev
	$(BIN)/ruff check --fix fcaudit tests bench
	$(BIN)/ruff format fcaudit tests bench

# Compiled first, as an installed package is: where PYTHONDONTWRITEBYTECODE is set, each run
# would otherwise compile fcaudit's modules again (about 40 ms of start-up, more for a scan).
bench: $(VENV)/.stamp-dev
	$(BIN)/python -m compileall -q fcaudit
	$(BIN)/python bench/run.py $(ARGS)

sandbox: $(VENV)/.stamp-run
	$(BIN)/fcaudit sandbox serve --port 12111

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
