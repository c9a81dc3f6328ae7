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

.PHONY: install lab test unit quick nbval nbval-portable execute bench bench-grading lint clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_DIR)

# The unit tests and the two nbval runs go side by side and share the cores; each notebook
# is executed twice in all: by nbval as stored, by nbval-portable as a student runs it under
# another processor's kernel (the graders run only the notebooks' Exercises sections).
# --output-sync prints each run's report whole, when it ends.
test: install sandbox
	$(MAKE) --no-print-directory -j3 --output-sync=target unit nbval nbval-portable

unit: install sandbox
	$(BIN)/pytest tests -p no:cacheprovider

# The edit-test loop: the unit tests without the site, slides, browser and graded-class tests.
quick: install
	$(BIN)/pytest tests -p no:cacheprovider -m "not slow" -q

# Notebook kernels under nbval run NumPy's BLAS on one thread: with several runs sharing the
# cores, BLAS threads that wait for a busy core slow each other down (notebook 05's layer
# calls measured 1.7 times slower so). The stored outputs come from make execute, all threads.
NBVAL_ENV := OPENBLAS_NUM_THREADS=1

nbval: install
	env $(NBVAL_ENV) $(BIN)/pytest $(NBVAL_FLAGS) notebooks/

# nbval once more as another processor would run it, on the notebooks as a student runs them:
# another OpenBLAS kernel (chosen and confirmed by tools/other_kernel.py), TensorFlow without
# oneDNN, and every answer replaced by nbgrader's stub (tools/student_run.py; those cells and
# their checks are not compared). A stored output that only one kernel reproduces, or a cell
# that needs a solved exercise, fails here and not on a student's laptop.
PORTABLE_NOTEBOOKS ?= $(wildcard notebooks/[0-9][0-9]_*.ipynb)
STUDENT_RUN ?= build/student-run
nbval-portable: install
	$(PY) tools/other_kernel.py > $(VENV)/other_kernel.env
	rm -rf $(STUDENT_RUN)
	$(PY) tools/student_run.py $(STUDENT_RUN) $(PORTABLE_NOTEBOOKS)
	env $$(cat $(VENV)/other_kernel.env) $(NBVAL_ENV) $(BIN)/pytest $(NBVAL_FLAGS) $(STUDENT_RUN)/

# Re-execute notebooks in place, top to bottom, outputs stored (all, or NOTEBOOKS=notebooks/04_*.ipynb).
# nbconvert's own command line; the CoalesceStreamsPreprocessor listed in Exporter.preprocessors
# runs after the execution and merges the fragments of progress bars into the final bar.
# Cells tagged raises-exception may raise. Widget state is not stored: the book and the
# slides would load the widget manager from a CDN for it (the demos store a GIF instead). The slide layout (tools/slide_layout.py) is then
# refreshed: how much of a slide a cell fills depends on its outputs.
NOTEBOOKS ?= notebooks/*.ipynb
execute: install
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --log-level=WARN \
	  --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.store_widget_state=False \
	  --Exporter.preprocessors='["nbconvert.preprocessors.CoalesceStreamsPreprocessor"]' \
	  $(NOTEBOOKS)
	$(PY) tools/slide_layout.py $(NOTEBOOKS)

bench: install
	$(PY) benchmarks/run_all.py

# A class of hand-ins through the sandboxed grader (minutes): seconds per hand-in, 300 x 8 projected.
bench-grading: install sandbox
	$(PY) benchmarks/bench_grading.py $(or $(PER_NOTEBOOK),3)

lint: install
	$(BIN)/ruff check course_utils tests benchmarks tools

clean:
	rm -rf $(VENV) student build .pytest_cache  # course/ (the gradebook) is kept

# --- homework, course site, slides, grading -----------------------------------------
STUDENT_DIR ?= student
HTML_DIR    ?= build/html
SLIDES_DIR  ?= build/slides
BOOK_WORK   ?= build/book

COURSE_DIR  ?= course
SUBMITTED   ?= $(COURSE_DIR)/submitted
# One nbgrader assignment per exercise notebook, named after it (nbgrader_config.py).
ASSIGNMENTS ?= $(basename $(notdir $(wildcard notebooks/[0-9][0-9]_*.ipynb)))

# nbgrader from this environment, its bin/ on PATH (nbgrader runs alembic), configured by
# nbgrader_config.py; the course directory (gradebook, release/, autograded/, feedback/)
# is $(COURSE_DIR).
NBGRADER = PATH="$(abspath $(BIN)):$$PATH" $(abspath $(BIN))/nbgrader
NBGRADER_COURSE = --CourseDirectory.root="$(abspath $(COURSE_DIR))"
# The same nbgrader command for several assignments in one process (tools/nbgrader_each.py):
# nbgrader's start-up, ~3.5 s, once instead of once per assignment.
NBGRADER_EACH = $(abspath $(PY)) tools/nbgrader_each.py

.PHONY: homework autograde feedback html slides sandbox

# Student copies: every notebook becomes assignment NN_name in $(COURSE_DIR)/source/,
# `nbgrader generate_assignment` writes $(COURSE_DIR)/release/NN_name/NN_name.ipynb
# (answers replaced by "# YOUR CODE HERE / raise NotImplementedError()", outputs
# cleared, nbgrader metadata and checksums kept), copied to $(STUDENT_DIR)/NN_name.ipynb.
# Cells tagged remove-cell or speaker-notes are left out (nbgrader_config.py).
homework: install
	rm -rf $(STUDENT_DIR)
	mkdir -p $(STUDENT_DIR)
	set -e; for a in $(ASSIGNMENTS); do \
	  mkdir -p "$(COURSE_DIR)/source/$$a"; \
	  cp notebooks/$$a.ipynb "$(COURSE_DIR)/source/$$a/"; \
	done
	$(NBGRADER_EACH) generate_assignment $(ASSIGNMENTS) -- --force --log-level=WARN $(NBGRADER_COURSE)
	set -e; for a in $(ASSIGNMENTS); do cp "$(COURSE_DIR)/release/$$a/$$a.ipynb" $(STUDENT_DIR)/; done
	@echo "student copies in $(STUDENT_DIR)/, nbgrader's release in $(COURSE_DIR)/release/"

# Autograde the hand-ins in $(SUBMITTED), laid out as nbgrader's submitted/ folder
# (<student>/NN_name/NN_name.ipynb, as `nbgrader collect` or `zip_collect` leave it;
# another folder is first copied into $(COURSE_DIR)/submitted/), every assignment found
# there (or ASSIGNMENTS="01_convolution ..."). Needs `make homework` first.
#   1. python -m course_utils.grading runs every hand-in in a bubblewrap sandbox, GRADE_JOBS
#      at a time, and judges its answers outside it (verdicts in $(COURSE_DIR)/verdicts/,
#      a table in $(COURSE_DIR)/grading_report.csv);
#   2. nbgrader autograde records those verdicts in the gradebook (nbgrader_config.py), one
#      notebook after another, executing nothing;
#   3. the scores are exported to $(COURSE_DIR)/grades.csv.
#   make autograde SUBMITTED=path/to/folder [GRADE_JOBS=2] [GRADE_FLAGS=--unsafe-no-sandbox]
GRADE_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
HANDED_IN = $(or $(sort $(filter $(ASSIGNMENTS),$(notdir $(wildcard $(SUBMITTED)/*/*)))),$(error no $(SUBMITTED)/<student>/<assignment>/ folder for any of: $(ASSIGNMENTS)))
autograde: install sandbox
	@test -d "$(SUBMITTED)" || { echo "usage: make autograde SUBMITTED=folder/<student>/<assignment>/<notebook>.ipynb"; exit 2; }
	@test -f "$(COURSE_DIR)/gradebook.db" || { echo "no course in $(COURSE_DIR): run make homework first"; exit 2; }
	if [ "$(abspath $(SUBMITTED))" != "$(abspath $(COURSE_DIR)/submitted)" ]; then \
	  mkdir -p "$(COURSE_DIR)/submitted" && cp -R "$(SUBMITTED)/." "$(COURSE_DIR)/submitted/"; fi
	@# Exit 1 of the grader: some hand-ins could not be graded (status error); the others are
	@# recorded, those are left out of nbgrader (no score), and make autograde fails at the end.
	@# Any other failure (2: no sandbox, 3: the self-test failed) stops here.
	status=0; $(PY) -m course_utils.grading "$(COURSE_DIR)" --jobs $(GRADE_JOBS) $(GRADE_FLAGS) \
	  $(foreach a,$(HANDED_IN),--assignment $(a)) || status=$$?; \
	if [ $$status -gt 1 ]; then exit $$status; fi; \
	$(NBGRADER_EACH) autograde $(HANDED_IN) -- $(NBGRADER_COURSE) --log-level=WARN $(NBGRADER_FLAGS) \
	  || echo "nbgrader could not read some hand-ins (see $(COURSE_DIR)/grading_report.csv)"; \
	$(NBGRADER) export --log-level=WARN $(NBGRADER_COURSE) --to="$(abspath $(COURSE_DIR))/grades.csv" || exit 2; \
	echo "scores: $(COURSE_DIR)/grades.csv; per hand-in times and flags: $(COURSE_DIR)/grading_report.csv"; \
	if [ $$status -ne 0 ]; then echo "make autograde: some hand-ins could not be graded (status error in $(COURSE_DIR)/grading_report.csv, no score recorded); run it again to retry them"; exit $$status; fi

# bubblewrap, the sandbox of the hand-ins (Debian's package), installed where we may (root).
# Elsewhere only a warning: the tests that need it say so and are skipped, the rest of make
# test runs; make autograde stops with the same advice. CI sets COURSE_REQUIRE_BUBBLEWRAP=1
# (.ci/run): there a missing bwrap fails.
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -qq bubblewrap >/dev/null || { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; }; \
	  elif [ "$(COURSE_REQUIRE_BUBBLEWRAP)" = 1 ]; then \
	    echo "bubblewrap (bwrap) is required (COURSE_REQUIRE_BUBBLEWRAP=1): sudo apt-get install bubblewrap"; exit 2; \
	  else echo "warning: bubblewrap (bwrap) is not installed, so the grading tests are skipped and make autograde cannot run: sudo apt-get install bubblewrap"; fi; }

# HTML feedback for every autograded hand-in: $(COURSE_DIR)/feedback/<student>/NN_name/NN_name.html
feedback: install
	$(NBGRADER_EACH) generate_feedback $(or $(sort $(filter $(ASSIGNMENTS),$(notdir $(wildcard $(COURSE_DIR)/autograded/*/*)))),$(error nothing autograded in $(COURSE_DIR)/autograded/: run make autograde first)) \
	  -- --force $(NBGRADER_COURSE) $(NBGRADER_FLAGS)
	@echo "feedback in $(COURSE_DIR)/feedback/"

# The course site: a Jupyter Book of the notebooks' STORED outputs (execute_notebooks: off),
# configured in book/, built from the top folder so the notebooks stay in notebooks/.
# Sphinx warnings are errors (-W), all of them listed (--keep-going); maths from a local
# MathJax (book/_ext/local_mathjax.py). Result: $(HTML_DIR)/index.html.
html: install
	rm -rf $(BOOK_WORK)/_build/html
	$(BIN)/jupyter-book build . --config book/_config.yml --toc book/_toc.yml \
	  --path-output $(BOOK_WORK) -W -n --keep-going --quiet
	rm -rf $(HTML_DIR)
	mkdir -p $(dir $(abspath $(HTML_DIR)))
	cp -r $(BOOK_WORK)/_build/html $(HTML_DIR)
	@echo "course site: $(HTML_DIR)/index.html"

# Static reveal.js slides of every notebook from its stored outputs: $(SLIDES_DIR)/NN_name.slides.html.
# Cells tagged remove-cell (reproducibility checks for nbval) are left out; cells tagged
# speaker-notes have slide type "notes" (tools/slide_layout.py) and show in the speaker view (S).
# The template slides/offline_reveal loads reveal.js (from the pip package sphinx-revealjs)
# and MathJax 2.7 (jupyter-server-mathjax) from copies next to the decks: nothing from the web.
REVEAL_JS = $(shell $(PY) -c 'import pathlib, sphinx_revealjs; print(pathlib.Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs")')
MATHJAX   = $(shell $(PY) -c 'import pathlib, jupyter_server_mathjax; print(pathlib.Path(jupyter_server_mathjax.__file__).parent / "static")')
slides: install
	rm -rf $(SLIDES_DIR)
	$(BIN)/jupyter nbconvert --to slides --log-level=ERROR \
	  --TemplateExporter.extra_template_basedirs=slides --template offline_reveal \
	  --SlidesExporter.reveal_url_prefix=reveal.js --SlidesExporter.reveal_scroll=True \
	  --SlidesExporter.reveal_theme=white \
	  --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_cell_tags='{"remove-cell"}' \
	  --HTMLExporter.mathjax_url='mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe' \
	  --output-dir $(SLIDES_DIR) notebooks/[0-9][0-9]_*.ipynb
	mkdir -p $(SLIDES_DIR)/reveal.js
	cp -r $(REVEAL_JS)/dist $(REVEAL_JS)/plugin $(SLIDES_DIR)/reveal.js/
	cp -r $(MATHJAX) $(SLIDES_DIR)/mathjax
	@echo "slides: $(SLIDES_DIR)/NN_name.slides.html"
