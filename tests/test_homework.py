"""Student copies (`make homework`) run, their checks say "not answered yet", and grading
gives full marks to the stored notebooks and zero to the student copies.

The student copies of all notebooks are made once (`make homework` into a temporary
folder, conftest.homework_course) and executed once, two at a time, for the whole session.
nbgrader's own pipeline (autograde, feedback, formgrader) is tested in test_nbgrader.py.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from course_utils.grade import _CHECK_CALL, collect, run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = "### BEGIN SOLUTION"


def _is_check_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(_CHECK_CALL.search(cell.source))


def _stored(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def student_dir(homework_course) -> Path:
    """`make homework` into a temporary folder (the same command a teacher runs)."""
    return homework_course["student"]


@pytest.fixture(scope="session")
def executed_copies(student_dir) -> dict[str, nbformat.NotebookNode]:
    """Every student copy executed top to bottom (errors allowed), two notebooks at a time."""
    paths = [student_dir / path.name for path in NOTEBOOKS]
    context = multiprocessing.get_context("spawn")
    # What matters here is that the copies run, not their numbers: notebook 07's grid
    # trains each model for 2 epochs instead of 40 (the README documents the variable).
    saved = os.environ.get("COURSE_GRID_EPOCHS")
    os.environ["COURSE_GRID_EPOCHS"] = "2"
    try:
        with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            executed = list(pool.map(run_notebook, paths))
    finally:
        if saved is None:
            del os.environ["COURSE_GRID_EPOCHS"]
        else:
            os.environ["COURSE_GRID_EPOCHS"] = saved
    return {path.name: nb for path, nb in zip(paths, executed)}


def test_make_homework_clears_every_solution_and_output(student_dir):
    for path in NOTEBOOKS:
        stored, student = _stored(path), _stored(student_dir / path.name)
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


def _forbidden_errors(name: str, nb) -> list[str]:
    """Errors other than NotImplementedError raised by an exercise cell itself."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.source.lstrip().startswith("# NBVAL_RAISES_EXCEPTION"):
            continue  # a demo of an expected error, as in the stored notebook
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            exercise = "# YOUR CODE HERE" in cell.source
            if not (exercise and output.ename == "NotImplementedError"):
                problems.append(f"{name} cell {i}: {output.ename}: {output.evalue}")
    return problems


def test_forbidden_errors_catch_a_later_cell_that_needs_an_exercise():
    stub = nbformat.v4.new_code_cell("def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    later = nbformat.v4.new_code_cell("y = f()")
    error = nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[])
    later.outputs = [error]
    nb = nbformat.v4.new_notebook(cells=[stub, later])
    assert _forbidden_errors("x", nb) == ["x cell 1: NotImplementedError: "]
    stub.outputs, later.outputs = [error], []
    assert _forbidden_errors("x", nb) == []


def test_student_copies_run_with_only_not_implemented_errors_from_exercises(executed_copies):
    problems = [p for name, nb in executed_copies.items() for p in _forbidden_errors(name, nb)]
    assert not problems, "student copies must run top to bottom:\n" + "\n".join(problems)


def test_every_check_in_a_student_copy_says_not_answered_yet(executed_copies):
    for name, nb in executed_copies.items():
        for i, cell in enumerate(nb.cells):
            if not _is_check_cell(cell):
                continue
            stdout = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "not answered yet" in stdout, f"{name} cell {i} printed:\n{stdout}"
            assert "✔" not in stdout and "✘" not in stdout, f"{name} cell {i}:\n{stdout}"


def test_grading_a_student_copy_gives_zero(executed_copies):
    for name, nb in executed_copies.items():
        report = collect(nb, Path(name), seconds=0.0)
        assert report.score == 0, report.table()
        assert all(e.status == "not answered" for e in report.exercises), report.table()
        assert len(report.exercises) == sum(_is_check_cell(c) for c in nb.cells), report.table()


def test_grading_the_stored_notebooks_gives_full_marks():
    """The stored outputs (which nbval shows to reproduce) are what a perfect hand-in prints."""
    for path in NOTEBOOKS:
        nb = _stored(path)
        report = collect(nb, path, seconds=0.0)
        assert len(report.exercises) == sum(_is_check_cell(c) for c in nb.cells), report.table()
        assert report.score == len(report.exercises), report.table()
        assert not report.other_errors, report.table()


# ----------------------------------------------------------------------------- the grade command
def _handed_in(body: str, extra_cell: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 00 · Handed in"),
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_utils import checks"),
        nbformat.v4.new_code_cell(f"def my_convolve1d(x, w):\n{body}"),
        nbformat.v4.new_code_cell("checks.check_convolve1d(my_convolve1d);"),
        nbformat.v4.new_code_cell("def my_same_padding(i, k, s):\n"
                                  "    # YOUR CODE HERE\n    raise NotImplementedError()"),
        nbformat.v4.new_code_cell("checks.check_same_padding(my_same_padding);"),
    ]
    if extra_cell:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cell))
    return nb


def test_grade_command_prints_verdicts_and_score(tmp_path):
    right = tmp_path / "right.ipynb"
    wrong = tmp_path / "wrong.ipynb"
    nbformat.write(_handed_in("    return np.convolve(x, w)"), right)
    nbformat.write(_handed_in("    return np.convolve(x, w, mode='same')",
                              extra_cell="print(undefined_name)"), wrong)
    before = right.read_text()
    result = subprocess.run([sys.executable, "-m", "course_utils.grade", str(right), str(wrong)],
                            check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("Grading wrong.ipynb")
    assert "my_convolve1d" in first and "passed" in first and "score: 1/2" in first, first
    assert "my_same_padding" in first and "not answered" in first, first
    assert "failed on case 1 of" in second and "score: 0/2" in second, second
    assert "NameError: name 'undefined_name' is not defined" in second, second
    assert right.read_text() == before  # the handed-in file is not modified


def test_grade_command_rejects_a_missing_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "course_utils.grade", str(tmp_path / "no.ipynb")],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "is not a notebook file" in result.stderr
