# Two commands do all the set-up on a fresh clone:
#   make lab    create .venv, install everything, open JupyterLab on the notebooks
#               (make lab LAB_DIR=student opens the student copies made by make homework)
#   make test   create .venv if needed, install, run pytest and nbval
# Everything installs from requirements.txt into .venv; nothing is downloaded at run time.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# TensorFlow's C++ start-up chatter would land in notebook outputs and students' screens.
export TF_CPP_MIN_LOG_LEVEL := 3

LAB_DIR ?= notebooks

NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg -p no:cacheprovider

.PHONY: install lab test unit nbval nbval-portable execute bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_DIR)

test: unit nbval nbval-portable

unit: install
	$(BIN)/pytest tests -p no:cacheprovider

nbval: install
	$(BIN)/pytest $(NBVAL_FLAGS) notebooks/

# nbval once more as another processor would run it: another OpenBLAS kernel (chosen and
# confirmed by tools/other_kernel.py) and TensorFlow without oneDNN. A stored output that only
# one kernel reproduces fails here, not on a student's laptop (README: "If your machine differs").
PORTABLE_NOTEBOOKS ?= notebooks/
nbval-portable: install
	$(PY) tools/other_kernel.py > $(VENV)/other_kernel.env
	env $$(cat $(VENV)/other_kernel.env) $(BIN)/pytest $(NBVAL_FLAGS) $(PORTABLE_NOTEBOOKS)

# Re-execute notebooks in place, top to bottom, outputs stored (all, or NOTEBOOKS=notebooks/04_*.ipynb).
NOTEBOOKS ?= notebooks/*.ipynb
execute: install
	$(PY) tools/execute_notebooks.py $(NOTEBOOKS)

bench: install
	$(PY) benchmarks/run_all.py

lint: install
	$(BIN)/ruff check course_utils tests benchmarks tools

clean:
	rm -rf $(VENV) student build .pytest_cache

# --- homework, course page, grading -------------------------------------------------
STUDENT_DIR ?= student
HTML_DIR    ?= build/html

# nbgrader's own preprocessors: the code between ### BEGIN SOLUTION / ### END SOLUTION
# becomes "# YOUR CODE HERE / raise NotImplementedError()", outputs and execution
# timings are cleared (kernelspec and cell tags kept). enforce_metadata=False: our
# notebooks carry no nbgrader cell metadata, the markers alone decide.
HOMEWORK_PREPROCESSORS := ["nbgrader.preprocessors.ClearSolutions","nbgrader.preprocessors.ClearOutput","nbconvert.preprocessors.ClearMetadataPreprocessor"]

.PHONY: homework html grade

# Student copies of every notebook in $(STUDENT_DIR)/ (not committed).
homework: install
	rm -rf $(STUDENT_DIR)
	$(VENV)/bin/jupyter nbconvert --to notebook --log-level=WARN \
	  --ClearSolutions.enforce_metadata=False \
	  --ClearMetadataPreprocessor.clear_notebook_metadata=False \
	  --ClearMetadataPreprocessor.preserve_cell_metadata_mask='["tags"]' \
	  --Exporter.preprocessors='$(HOMEWORK_PREPROCESSORS)' \
	  --output-dir $(STUDENT_DIR) notebooks/*.ipynb
	@echo "student copies in $(STUDENT_DIR)/"

# The course page from the stored outputs (no re-execution): $(HTML_DIR)/index.html.
html: install
	$(PY) tools/build_html.py --notebooks notebooks --output $(HTML_DIR)

# Grade a handed-in notebook headless:  make grade NB=path/to/handed_in.ipynb
grade: install
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/handed_in.ipynb"; exit 2; }
	$(PY) -m course_utils.grade $(NB)
