"""nbgrader can grade the homework: every exercise is an autograded answer cell followed by a
locked, graded check cell. The graded pipeline itself (make homework, make autograde, make
feedback, the formgrader) is tested in test_grading.py.
"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest
from _helpers import NOTEBOOKS

SOLUTION = "### BEGIN SOLUTION"
STUB = re.compile(r"# YOUR CODE HERE\n(\s*)raise NotImplementedError\(\)")
CHECK_SOURCE = re.compile(
    r"from course_utils\.checks import (check_\w+), points\n\npoints\(\1\((\w+)[,)]")



def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


# ----------------------------------------------------------------------------- metadata
def exercise_problems(nb) -> list[str]:
    """What keeps nbgrader from grading the notebook's exercises (empty when all is well).

    Every answer cell (### BEGIN SOLUTION) is an autograded answer cell with a grade_id;
    the next code cell is its check: a locked, graded test cell with points, grade_id
    "check_<answer's grade_id>", whose source ends with points(check_...(<name>...)).
    No two cells share a grade_id.
    """
    problems, seen = [], {}
    cells = nb.cells
    for i, cell in enumerate(cells):
        meta = _meta(cell)
        if meta.get("grade_id"):
            if meta["grade_id"] in seen:
                problems.append(f"cells {seen[meta['grade_id']]} and {i} share grade_id "
                                f"{meta['grade_id']!r}")
            seen.setdefault(meta["grade_id"], i)
        if cell.cell_type != "code" or SOLUTION not in cell.source:
            continue
        name = meta.get("grade_id")
        if not (meta.get("solution") is True and meta.get("grade") is False
                and meta.get("locked") is False and name):
            problems.append(f"cell {i}: answer cell without nbgrader answer metadata: {meta}")
        later = next((c for c in cells[i + 1:] if c.cell_type == "code"), None)
        check = _meta(later) if later is not None else {}
        if later is None or SOLUTION in later.source or not CHECK_SOURCE.match(later.source):
            problems.append(f"cell {i} ({name}): no check cell `points(check_...(...))` after it")
            continue
        if not (check.get("grade") is True and check.get("locked") is True
                and check.get("solution") is False and check.get("points", 0) > 0
                and check.get("grade_id") == f"check_{name}"):
            problems.append(f"cell {i} ({name}): its check cell lacks nbgrader test metadata: "
                            f"{check}")
    return problems


def _exercises(nb) -> list[str]:
    return [_meta(c)["grade_id"] for c in nb.cells if SOLUTION in c.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_is_an_nbgrader_answer_and_a_locked_graded_check(path):
    nb = nbformat.read(path, as_version=4)
    assert _exercises(nb), f"{path.name} has no exercise"
    assert exercise_problems(nb) == []
    # Nothing else carries nbgrader metadata.
    graded = [c for c in nb.cells if _meta(c)]
    assert len(graded) == 2 * len(_exercises(nb))


def test_exercise_problems_catch_a_missing_cell_missing_metadata_and_a_shared_grade_id():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    answer = next(i for i, c in enumerate(nb.cells) if SOLUTION in c.source)
    check = answer + 1

    def broken(change):
        copied = copy.deepcopy(nb)
        change(copied.cells)
        return exercise_problems(copied)

    assert any("answer cell without" in p
               for p in broken(lambda cells: cells[answer].metadata.pop("nbgrader")))
    assert any("no check cell" in p for p in broken(lambda cells: cells.pop(check)))
    assert any("lacks nbgrader test metadata" in p
               for p in broken(lambda cells: cells[check].metadata["nbgrader"].pop("points")))
    assert any("lacks nbgrader test metadata" in p for p in broken(
        lambda cells: cells[check].metadata["nbgrader"].update(locked=False)))
    assert any("no check cell" in p for p in broken(
        lambda cells: setattr(cells[check], "source", "check_convolve1d(my_convolve1d)")))

    def share(cells):
        ids = [i for i, c in enumerate(cells) if SOLUTION in c.source]
        cells[ids[1]].metadata["nbgrader"]["grade_id"] = cells[ids[0]].metadata["nbgrader"]["grade_id"]

    assert any("share grade_id" in p for p in broken(share))
