"""Fixtures shared by several test files: toy CNN data and a fitted model, and one
throw-away nbgrader course made by `make homework`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from _helpers import ROOT
from cnn_helpers import bars, small_model

# Tests that build or run something large: the course site and slides, JupyterLab in a
# browser, make homework and the graded class. `make quick` leaves them out (pytest -m "not slow").
SLOW_FIXTURES = {"site", "decks", "lab", "homework_course", "graded_class", "student_dir"}


# Classes of hand-ins graded two boxes at a time: they keep both cores busy. `make test` runs
# the unit tests beside two nbval runs, which end first; these tests run last, when both
# cores are free, instead of competing with the notebooks for them.
TWO_CORE_FIXTURES = {"graded_class", "attacked"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # a stable sort: every other test keeps its place and order
    items.sort(key=lambda item: bool(TWO_CORE_FIXTURES & set(getattr(item, "fixturenames", ()))))


@pytest.fixture(scope="module")
def data():
    return bars(64, seed=1), bars(32, seed=2)


@pytest.fixture
def fitted(data):
    (X, t, _), _ = data
    model = small_model()
    model.fit(X, t, epochs=1, batches=2, progress=False)
    return model


@pytest.fixture(scope="session")
def homework_course(tmp_path_factory) -> dict[str, Path]:
    """`make homework` once for the session into a throw-away nbgrader course.

    Returns {"course": the course directory (gradebook, source/, release/),
    "student": the folder of student copies NN_name.ipynb}.
    """
    if not list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        pytest.skip("no notebooks/NN_*.ipynb yet")
    base = tmp_path_factory.mktemp("homework")
    course, student = base / "course", base / "student"
    env = {**os.environ, "MAKEFLAGS": ""}
    result = subprocess.run(
        ["make", "--no-print-directory", "homework", f"COURSE_DIR={course}",
         f"STUDENT_DIR={student}"],
        cwd=ROOT, check=False, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, f"make homework failed:\n{result.stdout}\n{result.stderr}"
    return {"course": course, "student": student}
