"""Student copies (`make homework`) lose every solution and output.

The student copies of all notebooks are made once (`make homework` into a temporary
folder, conftest.homework_course). That they run top to bottom is what `make
nbval-portable` checks (it runs the notebooks with the student's stubs in place of the
answers); grading them is tested in test_grading.py.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from _helpers import NOTEBOOKS

from course_utils.grading.grader import CHECK_CALL

SOLUTION = "### BEGIN SOLUTION"


def _is_check_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(CHECK_CALL.search(cell.source))


def _stored(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def student_dir(homework_course) -> Path:
    """`make homework` into a temporary folder (the same command a teacher runs)."""
    return homework_course["student"]


def test_make_homework_clears_every_solution_and_output(student_dir):
    for path in NOTEBOOKS:
        stored, student = _stored(path), _stored(student_dir / path.name)
        # cells for the lecturer (speaker notes) and the reproducibility checks stay out
        stored.cells = [c for c in stored.cells
                        if not {"remove-cell", "speaker-notes"} & set(c.metadata.get("tags", []))]
        assert len(student.cells) == len(stored.cells), path.name
        assert student.metadata.get("kernelspec", {}).get("name") == "python3", path.name
        for i, (a, b) in enumerate(zip(stored.cells, student.cells)):
            where = f"{path.name} cell {i}"
            assert SOLUTION not in b.source and "### END SOLUTION" not in b.source, where
            if b.cell_type == "code":
                assert b.outputs == [] and b.execution_count is None, where
                assert "execution" not in b.metadata, where
            if SOLUTION in a.source:
                assert "# YOUR CODE HERE" in b.source, where
                assert "raise NotImplementedError()" in b.source, where
                # The stub keeps the function's signature, so the name stays defined.
                assert a.source.split(SOLUTION)[0].strip() in b.source, where
            else:
                assert a.source == b.source, where


def test_notebooks_with_exercises_have_checks():
    for path in NOTEBOOKS:
        nb = _stored(path)
        exercises = sum(SOLUTION in cell.source for cell in nb.cells)
        checks = sum(_is_check_cell(cell) for cell in nb.cells)
        assert checks >= exercises, f"{path.name}: {exercises} exercises but {checks} check cells"


def test_a_model_answer_cell_defines_its_network_before_the_solution():
    """The stub of a model exercise keeps `my_x = None`, so that the student's copy reaches its
    check ("not answered yet", 0 points) instead of a NameError; the check cell names the
    registry's answer variable and is worth the points it passes to points()."""
    from course_utils.exercises import exercise_of_check
    from course_utils.grading.grader import course_exercises

    found = 0
    for path in NOTEBOOKS:
        nb = _stored(path)
        for graded in course_exercises(nb):
            if graded.exercise.kind != "model":
                continue
            found += 1
            assert graded.answer == graded.exercise.answer, path.name
            answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                          == graded.answer_id)
            assert f"\n{graded.answer} = None\n" in "\n" + answer.source.split(SOLUTION)[0], path.name
            check = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                         == graded.check_id)
            assert check.metadata.nbgrader.locked and "nbval-ignore-output" in check.metadata.tags
            if graded.points != 1:
                assert f"out_of={graded.points:g})" in check.source, path.name
            assert exercise_of_check(f"check_{graded.exercise.topic}") is graded.exercise
    assert found >= 3


def test_nbgrader_each_names_a_failing_assignment_and_goes_on_with_the_others(tmp_path):
    """tools/nbgrader_each.py (make homework, autograde, feedback): nbgrader's own command
    classes in one process; a failing assignment is named at the end and the exit status
    is 1, but the assignments after it are still done."""
    import shutil
    import subprocess
    import sys

    from _helpers import ROOT

    course = tmp_path / "course"
    first = NOTEBOOKS[0]
    (course / "source" / first.stem).mkdir(parents=True)
    shutil.copy(first, course / "source" / first.stem)
    result = subprocess.run(
        [sys.executable, "tools/nbgrader_each.py", "generate_assignment", "00_missing", first.stem,
         "--", "--force", "--log-level=WARN", f"--CourseDirectory.root={course}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "generate_assignment failed for: 00_missing" in result.stderr
    assert (course / "release" / first.stem / first.name).is_file()
    usage = subprocess.run([sys.executable, "tools/nbgrader_each.py", "grade"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=False)
    assert usage.returncode == 2 and "COMMAND is generate_assignment" in usage.stderr
