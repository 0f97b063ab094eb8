# One command sets up and runs the main job; one sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_EXTRAS ?= dev,optuna,dask,gym,examples,sb3
# The pinned CPU build of torch goes in before any extra that depends on torch, so pip never
# pulls a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

# The MARL-library examples, each in its own venv: their pins conflict with each other and with
# the examples extra (BenchMARL needs torchrl<0.12). `make example-rllib` creates .venv-rllib from
# scratch, installs the pinned torch, then the "rllib" extra, and runs its test.
LIBRARY_EXAMPLES ?= rllib

.PHONY: run test lint install install-test clean library-examples

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q -e ".[$(TEST_EXTRAS)]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/cnn-design search --space vgg_mini --data digits --out runs/default --overwrite

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

example-%:
	rm -rf $(VENV)-$*
	$(PYTHON) -m venv $(VENV)-$*
	$(VENV)-$*/bin/python -m pip install -q $(TORCH_PIN)
	$(VENV)-$*/bin/python -m pip install -q -e ".[dev,$*]"
	$(VENV)-$*/bin/python -m pytest -p no:cacheprovider tests/test_library_examples.py -k $*

library-examples: $(addprefix example-,$(LIBRARY_EXAMPLES))

lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(addprefix $(VENV)-,$(LIBRARY_EXAMPLES)) runs .pytest_cache
