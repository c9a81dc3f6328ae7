"""Student copies (`make homework`) lose every solution and output, grading gives full marks
to the stored notebooks, and the grade command reports, scores and saves what it ran.

The student copies of all notebooks are made once (`make homework` into a temporary
folder, conftest.homework_course). That they run top to bottom, say "not answered yet"
and score zero is tested in test_nbgrader.py, on the runs of `python -m course_utils.grade`
that also check nbgrader's own pipeline (autograde, feedback, formgrader).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grade import _CHECK_CALL, collect

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
    (tmp_path / "bob").mkdir()
    also_right = tmp_path / "bob" / "right.ipynb"
    also_right.write_text(right.read_text())
    result = subprocess.run([sys.executable, "-m", "course_utils.grade", "--executed=ran",
                             str(right), str(wrong), str(also_right)],
                            check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("Grading wrong.ipynb")
    second, third = second.split("Grading right.ipynb")
    assert "score: 1/2" in third, third
    assert "my_convolve1d" in first and "passed" in first and "score: 1/2" in first, first
    assert "my_same_padding" in first and "not answered" in first, first
    assert "failed on case 1 of" in second and "score: 0/2" in second, second
    assert "NameError: name 'undefined_name' is not defined" in second, second
    assert right.read_text() == before  # the handed-in file is not modified
    # --executed: what ran, outputs in place; two hand-ins named alike kept apart.
    assert sorted(p.name for p in (tmp_path / "ran").iterdir()) == sorted([
        f"{tmp_path.name}_right.ipynb", "bob_right.ipynb", "wrong.ipynb"])
    ran = nbformat.read(tmp_path / "ran" / "wrong.ipynb", as_version=4)
    assert "NameError" in [o.get("ename") for o in ran.cells[-1].outputs]
    assert "failed on case 1 of" in "".join(o.get("text", "") for o in ran.cells[3].outputs)


def test_grade_command_rejects_a_missing_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "course_utils.grade", str(tmp_path / "no.ipynb")],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "is not a notebook file" in result.stderr
