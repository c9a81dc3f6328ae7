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

.PHONY: install lab test unit nbval execute bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_DIR)

test: unit nbval

unit: install
	$(BIN)/pytest tests -p no:cacheprovider

nbval: install
	$(BIN)/pytest $(NBVAL_FLAGS) notebooks/

# Re-execute notebooks in place, top to bottom, outputs stored (all, or NOTEBOOKS=notebooks/04_*.ipynb).
NOTEBOOKS ?= notebooks/*.ipynb
execute: install
	$(PY) tools/execute_notebooks.py $(NOTEBOOKS)

bench: install
	$(PY) benchmarks/run_all.py

lint: install
	$(BIN)/ruff check course_utils tests benchmarks tools

clean:
	rm -rf $(VENV) student build .pytest_cache  # course/ (the gradebook) is kept

# --- homework, course page, grading -------------------------------------------------
STUDENT_DIR ?= student
HTML_DIR    ?= build/html

COURSE_DIR  ?= course
SUBMITTED   ?= $(COURSE_DIR)/submitted
# One nbgrader assignment per exercise notebook, named after it (nbgrader_config.py).
ASSIGNMENTS ?= $(basename $(notdir $(wildcard notebooks/[0-9][0-9]_*.ipynb)))

# nbgrader from this environment, its bin/ on PATH (nbgrader runs alembic), configured by
# nbgrader_config.py; the course directory (gradebook, release/, autograded/, feedback/)
# is $(COURSE_DIR).
NBGRADER = PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/nbgrader
NBGRADER_COURSE = --CourseDirectory.root="$(abspath $(COURSE_DIR))"

.PHONY: homework autograde feedback html grade

# Student copies: every notebook becomes assignment NN_name in $(COURSE_DIR)/source/,
# `nbgrader generate_assignment` writes $(COURSE_DIR)/release/NN_name/NN_name.ipynb
# (answers replaced by "# YOUR CODE HERE / raise NotImplementedError()", outputs
# cleared, nbgrader metadata and checksums kept), copied to $(STUDENT_DIR)/NN_name.ipynb.
homework: install
	rm -rf $(STUDENT_DIR)
	mkdir -p $(STUDENT_DIR)
	set -e; for a in $(ASSIGNMENTS); do \
	  mkdir -p "$(COURSE_DIR)/source/$$a"; \
	  cp notebooks/$$a.ipynb "$(COURSE_DIR)/source/$$a/"; \
	  $(NBGRADER) generate_assignment $$a --force --log-level=WARN $(NBGRADER_COURSE); \
	  cp "$(COURSE_DIR)/release/$$a/$$a.ipynb" $(STUDENT_DIR)/; \
	done
	@echo "student copies in $(STUDENT_DIR)/, nbgrader's release in $(COURSE_DIR)/release/"

# Autograde the hand-ins in $(SUBMITTED), laid out as nbgrader's submitted/ folder
# (<student>/NN_name/NN_name.ipynb, as `nbgrader collect` or `zip_collect` leave it;
# another folder is first copied into $(COURSE_DIR)/submitted/), every assignment found
# there (or ASSIGNMENTS="01_convolution ..."). nbgrader restores the locked check cells
# from the release, runs each notebook in a fresh kernel, stores the scores in the
# gradebook and the executed copies in $(COURSE_DIR)/autograded/; the scores are then
# exported to $(COURSE_DIR)/grades.csv. Needs `make homework` first.
#   make autograde SUBMITTED=path/to/folder
autograde: install
	@test -d "$(SUBMITTED)" || { echo "usage: make autograde SUBMITTED=folder/<student>/<assignment>/<notebook>.ipynb"; exit 2; }
	@test -f "$(COURSE_DIR)/gradebook.db" || { echo "no course in $(COURSE_DIR): run make homework first"; exit 2; }
	if [ "$(abspath $(SUBMITTED))" != "$(abspath $(COURSE_DIR)/submitted)" ]; then \
	  mkdir -p "$(COURSE_DIR)/submitted" && cp -R "$(SUBMITTED)/." "$(COURSE_DIR)/submitted/"; fi
	set -e; for a in $(or $(sort $(filter $(ASSIGNMENTS),$(notdir $(wildcard $(SUBMITTED)/*/*)))),$(error no $(SUBMITTED)/<student>/<assignment>/ folder for any of: $(ASSIGNMENTS))); do \
	  $(NBGRADER) autograde $$a $(NBGRADER_COURSE) $(NBGRADER_FLAGS); \
	done
	$(NBGRADER) export --log-level=WARN $(NBGRADER_COURSE) --to="$(abspath $(COURSE_DIR))/grades.csv"
	@echo "scores: $(COURSE_DIR)/grades.csv"

# HTML feedback for every autograded hand-in: $(COURSE_DIR)/feedback/<student>/NN_name/NN_name.html
feedback: install
	set -e; for a in $(sort $(filter $(ASSIGNMENTS),$(notdir $(wildcard $(COURSE_DIR)/autograded/*/*)))); do \
	  $(NBGRADER) generate_feedback $$a --force $(NBGRADER_COURSE) $(NBGRADER_FLAGS); \
	done
	@echo "feedback in $(COURSE_DIR)/feedback/"

# The course page from the stored outputs (no re-execution): $(HTML_DIR)/index.html.
html: install
	$(PY) tools/build_html.py --notebooks notebooks --output $(HTML_DIR)

# Grade a handed-in notebook headless:  make grade NB=path/to/handed_in.ipynb
grade: install
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/handed_in.ipynb"; exit 2; }
	$(PY) -m course_utils.grade $(NB)
