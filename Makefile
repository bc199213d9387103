# `make test` and `make reproduce` create .venv and install requirements.txt first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCRIPTS := Variational_AutoEncoder_with_sampling_animation Auto_enoder_MNIST_with_sampling_animation \
           Variational_AutoEncoder Auto_enoder_MNIST
BERNOULLI := Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE_bernoulli

.PHONY: install test reproduce results benchmark clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

test: install
	$(PY) -m pytest

# Trains the four experiments and the Bernoulli VAE with their default settings, then
# writes RESULTS.md. A result folder that already holds a finished model is not
# retrained: its metrics and figures are rebuilt from it.
reproduce: install
	set -e; for script in $(SCRIPTS); do $(PY) Models/$$script.py; done
	$(PY) -m latentlab train --model vae --latent-dim 32 --likelihood bernoulli --epochs 12 --out-dir "$(BERNOULLI)"
	$(PY) -m latentlab report

results: install
	$(PY) -m latentlab report

benchmark: install
	$(PY) benchmarks/train_throughput.py

clean-venv:
	rm -rf $(VENV)
