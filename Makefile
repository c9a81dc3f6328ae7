# Two commands do all the set-up on a fresh clone:
#   make lab    create .venv, install everything, open JupyterLab on the notebooks
#   make test   create .venv if needed, install, run pytest and nbval
# Everything installs from requirements.txt into .venv; nothing is downloaded at run time.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# TensorFlow's C++ start-up chatter would land in notebook outputs and students' screens.
export TF_CPP_MIN_LOG_LEVEL := 3

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg -p no:cacheprovider

.PHONY: install lab test unit nbval execute bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab notebooks/

test: unit nbval

unit: install
	$(BIN)/pytest tests -p no:cacheprovider

nbval: install
	$(BIN)/pytest $(NBVAL_FLAGS) notebooks/

# Re-execute every notebook in place (after editing one), top to bottom, outputs stored.
execute: install
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace notebooks/*.ipynb

bench: install
	$(PY) benchmarks/run_all.py

lint: install
	$(BIN)/ruff check course_utils tests benchmarks

clean:
	rm -rf $(VENV) student build .pytest_cache
