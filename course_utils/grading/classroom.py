"""A class of hand-ins in nbgrader's course layout, graded in parallel.

    <course>/submitted/<student>/<assignment>/<notebook>.ipynb   the hand-ins (nbgrader collect)
    <course>/release/<assignment>/<notebook>.ipynb              the course's copy (make homework)
    <course>/verdicts/<student>/<assignment>/<notebook>.json    what the grader concluded

nbgrader's autograde runs one notebook after another and keeps one SQLite gradebook that
two of its processes must not write at once. So the slow part, running each hand-in in its
box, happens here, several at a time (each box is its own process; the threads only wait);
`nbgrader autograde` afterwards only records these verdicts (nbgrader_plugin), one
notebook after another, in about a second each. A verdict belongs to the exact bytes it
was computed from (SHA-256): a hand-in replaced after grading is graded again.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.grading import grader, sandbox


@dataclass(frozen=True)
class HandinPaths:
    student: str
    assignment: str
    notebook: str
    handin: Path
    course: Path        # the released notebook the hand-in was made from
    verdict: Path


def paths_of(root: Path, student: str, assignment: str, notebook: str) -> HandinPaths:
    root = Path(root)
    return HandinPaths(
        student, assignment, notebook,
        handin=root / "submitted" / student / assignment / f"{notebook}.ipynb",
        course=root / "release" / assignment / f"{notebook}.ipynb",
        verdict=root / "verdicts" / student / assignment / f"{notebook}.json",
    )


def handins(root: Path, assignments: Iterable[str] | None = None) -> list[HandinPaths]:
    """Every hand-in under <root>/submitted whose assignment has a released notebook."""
    root, wanted = Path(root), set(assignments or ())
    found = []
    for path in sorted((root / "submitted").glob("*/*/*.ipynb")):
        student, assignment = path.parent.parent.name, path.parent.name
        if wanted and assignment not in wanted:
            continue
        paths = paths_of(root, student, assignment, path.stem)
        if paths.course.exists():
            found.append(paths)
    return found


def verdict_is_current(paths: HandinPaths) -> bool:
    """Whether a verdict (not an error) exists for exactly the bytes handed in."""
    result = stored(paths)
    return (result is not None and result.status != "error"
            and result.sha256 == grader.fingerprint(paths.handin))


def stored(paths: HandinPaths) -> grader.Result | None:
    """The stored verdict of a hand-in, if it has a readable one."""
    try:
        return grader.Result.from_json(paths.verdict.read_text("utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def errors_of(root: Path, assignment: str) -> list[str]:
    """Students whose hand-in of this assignment could not be graded (status error)."""
    return [p.student for p in handins(root, [assignment])
            if (r := stored(p)) is not None and r.status == "error"]


def self_test(root: Path, assignment: str, limits: sandbox.Limits = sandbox.DEFAULT_LIMITS,
              unsafe: bool = False) -> tuple[bool, str]:
    """Grade the course's own notebook (<root>/source/, with its solutions): it must earn full marks.

    (passed, what happened). A grader that cannot give the known-right hand-in every
    point would mis-grade the class: grading stops before any student is graded.
    """
    root = Path(root)
    source = root / "source" / assignment / f"{assignment}.ipynb"
    release = root / "release" / assignment / f"{assignment}.ipynb"
    if not source.exists() or not release.exists():
        return False, f"no {source} or {release} to test the grader with (run make homework)"
    try:
        result = grader.grade_notebook(source, nbformat.read(release, as_version=4), limits,
                                       unsafe=unsafe)
    except Exception as error:  # noqa: BLE001 -- any failure stops the class
        return False, f"{type(error).__name__}: {error}"
    if result.status == "graded" and result.score == result.max_score:
        return True, f"{result.score:g}/{result.max_score:g} in {result.seconds:.1f} s"
    lines = [line for v in result.verdicts if v.points < v.max_points for line in v.lines[:4]]
    return False, (f"{result.status}, {result.score:g}/{result.max_score:g}: "
                   + " | ".join(result.problems + lines)[:2000])


RETRIES = 2          # a hand-in whose grading failed is graded again this many times
RETRY_PAUSE = 2.0    # seconds between tries


def grade_file(paths: HandinPaths, limits: sandbox.Limits = sandbox.DEFAULT_LIMITS,
               unsafe: bool = False, retries: int = RETRIES) -> grader.Result:
    """Grade one hand-in and store its verdict (written whole, then renamed into place).

    A failure of the box or of the grader itself is retried; if it persists the verdict
    has status "error" with the reason, and is never recorded as a grade.
    """
    for attempt in range(retries + 1):
        result = _grade_once(paths, limits, unsafe)
        if result.status != "error":
            break
        if attempt < retries:
            time.sleep(RETRY_PAUSE)
    if result.status == "error":
        result.problems.append(f"tried {retries + 1} times")
    _store(paths, result)
    return result


def _grade_once(paths: HandinPaths, limits: sandbox.Limits, unsafe: bool) -> grader.Result:
    try:
        course = nbformat.read(paths.course, as_version=4)
        return grader.grade_notebook(paths.handin, course, limits, unsafe=unsafe)
    except Exception as error:  # noqa: BLE001 -- the grader's own failure: an error, not a grade
        reason = f"grading failed, not the student's doing: {type(error).__name__}: {error}"
        return grader.Result(paths.handin.name, grader.fingerprint(paths.handin), "error", 0.0,
                             [], [], {}, [reason[:500]])


def _store(paths: HandinPaths, result: grader.Result) -> None:
    paths.verdict.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=paths.verdict.parent, delete=False,
                                     suffix=".tmp", encoding="utf-8") as out:
        out.write(result.to_json())
    os.replace(out.name, paths.verdict)


def to_grade(root: Path, assignments: Iterable[str] | None = None,
             force: bool = False) -> list[HandinPaths]:
    """The hand-ins without a current verdict (or all, with force)."""
    return [p for p in handins(root, assignments) if force or not verdict_is_current(p)]


def grade_class(root: Path, assignments: Iterable[str] | None = None, jobs: int = 2,
                limits: sandbox.Limits = sandbox.DEFAULT_LIMITS, unsafe: bool = False,
                force: bool = False,
                report: Callable[[HandinPaths, grader.Result], None] | None = None,
                ) -> list[tuple[HandinPaths, grader.Result]]:
    """Grade every hand-in without a current verdict, `jobs` at a time; (paths, result) each."""
    todo = to_grade(root, assignments, force)

    def one(paths: HandinPaths) -> tuple[HandinPaths, grader.Result]:
        result = grade_file(paths, limits, unsafe)
        if report is not None:
            report(paths, result)
        return paths, result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, todo))


def write_report(root: Path, csv_path: Path) -> int:
    """One row per graded hand-in: scores, status, time and flags. Returns the number of rows."""
    rows = []
    for paths in handins(root):
        result = stored(paths)
        if result is None:
            continue
        error = result.status == "error"
        rows.append({
            "student": paths.student, "assignment": paths.assignment, "notebook": paths.notebook,
            "score": "" if error else result.score, "max_score": result.max_score,
            "status": result.status,
            "seconds": round(result.seconds, 1),
            "flags": " | ".join(result.flags + result.problems),
        })
    with open(csv_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["student", "assignment", "notebook", "score",
                                                 "max_score", "status", "seconds", "flags"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
