# One interface for people and CI. `make test` works on a fresh machine: it creates .venv,
# installs the project with its test extras, and runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: help demo test lint fmt bench sandbox clean

help:
	@echo "make demo    set up .venv and run 'fcaudit scan --sandbox' (no Stripe key needed)"
	@echo "make test    set up .venv and run the whole test suite"
	@echo "make lint    ruff (format check + lint) and mypy"
	@echo "make bench   the performance benchmark (bench/README.md)"

# The venv is rebuilt when pyproject.toml changes (stamp file).
$(VENV)/.stamp: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[test,lint]'
	touch $@

# Exit 1 means "findings matched --fail-on": for the demo that is the expected outcome.
demo: $(VENV)/.stamp
	$(BIN)/fcaudit scan --sandbox --format table || [ $$? -eq 1 ]

test: $(VENV)/.stamp
	$(BIN)/python -m pytest $(if $(K),-x -k "$(K)",)

lint: $(VENV)/.stamp
	$(BIN)/ruff format --check fcaudit tests bench
	$(BIN)/ruff check fcaudit tests bench
	$(BIN)/mypy

fmt: $(VENV)/.stamp
	$(BIN)/ruff check --fix fcaudit tests bench
	$(BIN)/ruff format fcaudit tests bench

bench: $(VENV)/.stamp
	$(BIN)/python bench/run.py

sandbox: $(VENV)/.stamp
	$(BIN)/fcaudit sandbox serve --port 12111

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
