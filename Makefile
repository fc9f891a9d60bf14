# Two commands do all set-up on a fresh machine with only Python 3.10+:
#   make train   # train an NTM on the copy task (configs/ntm_copy.yaml)
#   make test    # run the test suite
# Both create (or reuse) the virtual environment .venv and install the project into it.

PYTHON ?= python3
VENV ?= .venv
# torch is installed first and pinned; on machines that serve a local CPU build of this
# version pip takes that one. Override with e.g. `make test TORCH=torch` for the newest.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install train test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/python train.py fit --config configs/ntm_copy.yaml

test: $(STAMP)
	$(BIN)/python -m pytest

test-all: $(STAMP)
	$(BIN)/python -m pytest -m "slow or not slow"

lint: $(STAMP)
	$(BIN)/ruff check memnets tasks tests bench train.py

bench: $(STAMP)
	$(BIN)/python bench/ntm_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache
