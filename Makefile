# `make test` and `make reproduce` create .venv and install requirements.txt first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install lint test reproduce results benchmark clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

# The linter's rules and the formatter's settings are in pyproject.toml; `ruff format .` rewrites the files.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: install
	$(PY) -m pytest

# Trains every script's experiment (as the scripts in Models/ do), the two Bernoulli VAEs and the Fashion-MNIST VAE with
# their default settings, then writes RESULTS.md. A result folder that already holds a finished model is not
# retrained: its metrics and figures are rebuilt from it.
reproduce: install
	$(PY) -m latentlab reproduce

results: install
	$(PY) -m latentlab report

benchmark: install
	$(PY) benchmarks/train_throughput.py

clean-venv:
	rm -rf $(VENV)
