# `make test` and `make reproduce` create .venv and install requirements.txt first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCRIPTS := Variational_AutoEncoder_with_sampling_animation Auto_enoder_MNIST_with_sampling_animation \
           Variational_AutoEncoder Auto_enoder_MNIST

.PHONY: install test reproduce clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

test: install
	$(PY) -m pytest

# Trains the four experiments with their default settings (a result folder that
# already holds a finished model is not retrained: its figures and metrics are rebuilt).
reproduce: install
	set -e; for script in $(SCRIPTS); do $(PY) Models/$$script.py; done

clean-venv:
	rm -rf $(VENV)
