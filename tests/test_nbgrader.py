"""nbgrader grades the homework: cell metadata, and the real pipeline on a throw-away course.

`make homework` (conftest.homework_course) makes a course in a temporary folder. One
hand-in per notebook, by "alice", answers the first exercise right, the second wrong and
edits its check cell to redefine the check so that it prints a pass and returns 1.0,
and leaves the third unanswered (as many as the notebook has). A notebook with a single
exercise gets a second hand-in, by "mallory", with the wrong answer and the edited check.
`make autograde` and `make feedback` then run once over all of them, while
`python -m course_utils.grade` grades, in parallel, every student copy as released (no
answer) with its first check cell edited the same way ("trudy"): those runs also show
that the student copies run top to bottom. Every notebook is executed once by each
grader, and by nothing else in the unit tests.
"""

from __future__ import annotations

import copy
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = "### BEGIN SOLUTION"
STUB = re.compile(r"# YOUR CODE HERE\n(\s*)raise NotImplementedError\(\)")
CHECK_SOURCE = re.compile(
    r"from course_utils\.checks import (check_\w+), points\n\npoints\(\1\((\w+)[,)]")
# Notebook 07's grid: 1 epoch per model is enough to run the notebook (README). The two
# graders run side by side (and make test runs nbval meanwhile): one BLAS thread per kernel.
FAST = {"COURSE_GRID_EPOCHS": "1", "MAKEFLAGS": "", "OPENBLAS_NUM_THREADS": "1"}


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


# ----------------------------------------------------------------------------- hand-ins
def _answer(cell, body: str) -> None:
    assert STUB.search(cell.source), cell.source
    cell.source = STUB.sub(lambda m: body, cell.source, count=1)


def _tamper(cell) -> None:
    """Redefine the check in its own cell: it prints a pass and the cell ends with 1.0."""
    function, name = CHECK_SOURCE.match(cell.source).groups()
    cell.source = (f"from course_utils.checks import points\n\n"
                   f"def {function}(f, *args, **kwargs):\n"
                   f"    print('✔ {name}: passed 13 cases')\n"
                   f"    return True\n\n"
                   f"points({function}({name}))")


def hand_in(release, course, right=(), wrong=(), tampered=()):
    """A filled-in copy of the release notebook (nbgrader metadata as the student got it)."""
    nb = copy.deepcopy(release)
    answers = {_meta(c).get("grade_id"): c for c in course.cells if SOLUTION in c.source}
    assert set(right) | set(wrong) | set(tampered) <= set(answers), answers.keys()
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id in right:
            cell.source = answers[grade_id].source
        elif grade_id in wrong:
            _answer(cell, "return None")
        elif grade_id and grade_id.startswith("check_") and grade_id.removeprefix("check_") in tampered:
            _tamper(cell)
    return nb


def _plan(course) -> dict[str, dict]:
    """Per student: what the hand-in does with each exercise of the course notebook."""
    exercises = _exercises(course)
    plans = {"alice": {"right": exercises[:1], "wrong": exercises[1:2],
                       "tampered": exercises[1:2], "unanswered": exercises[2:]}}
    if len(exercises) == 1:
        plans["mallory"] = {"right": [], "wrong": exercises, "tampered": exercises,
                            "unanswered": []}
    return plans


@pytest.fixture(scope="session")
def graded(homework_course, tmp_path_factory):
    """Hand in, `make autograde`, `make feedback` and course_utils.grade, once for all."""
    course_dir = homework_course["course"]
    submitted = tmp_path_factory.mktemp("handed_in") / "submitted"
    plans, to_grade = {}, []
    for path in NOTEBOOKS:
        course = nbformat.read(path, as_version=4)
        release = nbformat.read(course_dir / "release" / path.stem / path.name, as_version=4)
        plans[path.stem] = _plan(course)
        for student, plan in plans[path.stem].items():
            target = submitted / student / path.stem / path.name
            target.parent.mkdir(parents=True)
            nbformat.write(hand_in(release, course, plan["right"], plan["wrong"],
                                   plan["tampered"]), target)
        # course_utils.grade: each student copy as released, its first check edited.
        trudy = submitted.parent / "trudy" / path.name
        trudy.parent.mkdir(exist_ok=True)
        nbformat.write(hand_in(release, course, tampered=_exercises(course)[:1]), trudy)
        to_grade.append(trudy)
    env = {**os.environ, **FAST}
    executed = submitted.parent / "executed"
    grade_log = (submitted.parent / "grade.out").open("w+")
    grader = subprocess.Popen([sys.executable, "-m", "course_utils.grade",
                               f"--executed={executed}", *map(str, to_grade)],
                              stdout=grade_log, stderr=subprocess.STDOUT, text=True, env=env,
                              cwd=submitted.parent)
    try:
        start = time.perf_counter()
        make = ["make", "--no-print-directory", f"COURSE_DIR={course_dir}"]
        autograde = subprocess.run(
            [*make, "autograde", f"SUBMITTED={submitted}"], cwd=ROOT, check=False,
            capture_output=True, text=True, env=env, timeout=1800)
        assert autograde.returncode == 0, autograde.stdout + autograde.stderr
        autograde_seconds = time.perf_counter() - start
        feedback = subprocess.run([*make, "feedback"], cwd=ROOT, check=False,
                                  capture_output=True, text=True, env=env, timeout=900)
        assert feedback.returncode == 0, feedback.stdout + feedback.stderr
        grader.wait(timeout=1800)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    grade_log.seek(0)
    grade_output = grade_log.read()
    grade_log.close()
    assert grader.returncode == 0, grade_output
    print(f"make autograde of {sum(map(len, plans.values()))} hand-ins: "
          f"{autograde_seconds:.0f} s")
    return {"course": course_dir, "plans": plans, "autograde": autograde.stdout + autograde.stderr,
            "grade": grade_output,
            "executed": {path.name: nbformat.read(executed / path.name, as_version=4)
                         for path in NOTEBOOKS}}


def _cell_scores(course_dir: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {grade.name: grade.score for grade in notebook.grades}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_autograde_scores_right_wrong_unanswered_and_edited_checks(graded, path):
    for student, plan in graded["plans"][path.stem].items():
        scores = _cell_scores(graded["course"], path.stem, student)
        expected = {f"check_{name}": 1.0 if name in plan["right"] else 0.0
                    for kind in ("right", "wrong", "unanswered") for name in plan[kind]}
        assert scores == expected, (student, graded["autograde"][-3000:])
        # nbgrader ran the course's check, not the edited one.
        autograded = nbformat.read(graded["course"] / "autograded" / student / path.stem
                                   / path.name, as_version=4)
        for cell in autograded.cells:
            if _meta(cell).get("grade"):
                assert CHECK_SOURCE.match(cell.source), cell.source
    rows = list(csv.DictReader((graded["course"] / "grades.csv").open()))
    alice = next(r for r in rows if r["assignment"] == path.stem and r["student_id"] == "alice")
    plan = graded["plans"][path.stem]["alice"]
    assert float(alice["score"]) == len(plan["right"])
    assert float(alice["max_score"]) == len(_exercises(nbformat.read(path, as_version=4)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_feedback_html_shows_the_diagnosis_of_the_wrong_answer(graded, path):
    for student, plan in graded["plans"][path.stem].items():
        html = (graded["course"] / "feedback" / student / path.stem
                / f"{path.stem}.html").read_text()
        for name in plan["wrong"]:
            failed = re.search(rf"✘ {name}: failed on case 1 of \d+ \((.*?)\)", html)
            assert failed, f"{student} {name}: no ✘ verdict in the feedback"
            after = html[failed.end():]
            assert "input " in after[:3000] and "expected:" in after and "got:" in after, after[:3000]
        for name in plan["unanswered"]:
            assert f"… {name}: not answered yet" in html
        for name in plan["right"]:
            assert f"✔ {name}: passed" in html


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_course_utils_grade_runs_the_course_check_not_the_edited_one(graded, path):
    """trudy answered nothing and made her first check print a pass: she scores 0."""
    exercises = _exercises(nbformat.read(path, as_version=4))
    report = graded["grade"].split("Grading ")[NOTEBOOKS.index(path) + 1]
    assert report.startswith(path.name), report
    assert f"check cells taken from the course's {path.name}" in report, report
    assert f"score: 0/{len(exercises)}" in report, report
    for name in exercises:
        assert re.search(rf"^\s+\d+\s+{name}\s+not answered\s+0/1$", report, re.MULTILINE), report
    assert re.search(rf"^  cell \d+ \(check_{exercises[0]}\): source changed$", report,
                     re.MULTILINE), report


# ----------------------------------------------------------------------------- student copies
def _is_check_cell(cell) -> bool:
    return _meta(cell).get("grade", False) and cell.cell_type == "code"


def forbidden_errors(name: str, nb) -> list[str]:
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
    assert forbidden_errors("x", nb) == ["x cell 1: NotImplementedError: "]
    stub.outputs, later.outputs = [error], []
    assert forbidden_errors("x", nb) == []


def test_student_copies_run_with_only_not_implemented_errors_from_exercises(graded):
    problems = [p for name, nb in graded["executed"].items() for p in forbidden_errors(name, nb)]
    assert not problems, "student copies must run top to bottom:\n" + "\n".join(problems)


def test_every_check_in_a_student_copy_says_not_answered_yet(graded):
    for name, nb in graded["executed"].items():
        checks = [cell for cell in nb.cells if _is_check_cell(cell)]
        assert len(checks) == len(_exercises(nbformat.read(ROOT / "notebooks" / name,
                                                           as_version=4))), name
        for i, cell in enumerate(checks):
            stdout = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "not answered yet" in stdout, f"{name} check {i} printed:\n{stdout}"
            assert "✔" not in stdout and "✘" not in stdout, f"{name} check {i}:\n{stdout}"


def test_grading_a_student_copy_gives_zero(graded):
    from course_utils.grade import collect

    for name, nb in graded["executed"].items():
        report = collect(nb, Path(name), seconds=0.0)
        assert report.score == 0, report.table()
        assert report.exercises and all(e.status == "not answered" for e in report.exercises), \
            report.table()


# ----------------------------------------------------------------------------- formgrader
def test_formgrader_in_the_browser_lists_every_assignment(graded, tmp_path):
    """A teaching assistant's view: JupyterLab with nbgrader's formgrader on the course."""
    from _chromium import chromium, require_chromium
    from _lab import jupyterlab

    require_chromium()
    course = graded["course"]
    # The project's nbgrader_config.py, with the throw-away course as its root. The
    # server's root folder must contain the course folder.
    root = course.parent
    (root / "nbgrader_config.py").write_text(
        f"config = {str(ROOT / 'nbgrader_config.py')!r}\n"
        "exec(compile(open(config).read(), config, 'exec'),\n"
        "     {'get_config': get_config, '__file__': config})\n"
        f"get_config().CourseDirectory.root = {str(course)!r}\n")
    with jupyterlab(root, tmp_path) as lab, chromium() as driver:
        driver.get(f"{lab['url']}/formgrader?token={lab['token']}")
        deadline = time.monotonic() + 60
        while True:
            text = driver.execute_script("return document.body ? document.body.innerText : ''")
            rows = [line for line in text.splitlines() if line.startswith(tuple(
                path.stem for path in NOTEBOOKS))]
            if len(rows) == len(NOTEBOOKS) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "Manage Assignments" in text, text[-2000:]
        assert [row.split()[0] for row in rows] == [path.stem for path in NOTEBOOKS], text[-2000:]
        # Every assignment shows its hand-ins (alice, and mallory where planned).
        for row, path in zip(rows, NOTEBOOKS):
            assert str(len(graded["plans"][path.stem])) in row.split()[1:], row
