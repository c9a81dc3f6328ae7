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
    """Whether a verdict exists for exactly the bytes handed in."""
    if not paths.verdict.exists():
        return False
    try:
        return grader.Result.from_json(paths.verdict.read_text("utf-8")).sha256 == grader.fingerprint(paths.handin)
    except (ValueError, TypeError, KeyError):
        return False


def grade_file(paths: HandinPaths, limits: sandbox.Limits = sandbox.DEFAULT_LIMITS,
               unsafe: bool = False) -> grader.Result:
    """Grade one hand-in and store its verdict (written whole, then renamed into place)."""
    course = nbformat.read(paths.course, as_version=4)
    result = grader.grade_notebook(paths.handin, course, limits, unsafe=unsafe)
    paths.verdict.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=paths.verdict.parent, delete=False,
                                     suffix=".tmp", encoding="utf-8") as out:
        out.write(result.to_json())
    os.replace(out.name, paths.verdict)
    return result


def grade_class(root: Path, assignments: Iterable[str] | None = None, jobs: int = 2,
                limits: sandbox.Limits = sandbox.DEFAULT_LIMITS, unsafe: bool = False,
                force: bool = False,
                report: Callable[[HandinPaths, grader.Result], None] | None = None,
                ) -> list[tuple[HandinPaths, grader.Result]]:
    """Grade every hand-in without a current verdict, `jobs` at a time; (paths, result) each."""
    todo = [p for p in handins(root, assignments) if force or not verdict_is_current(p)]

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
        if not paths.verdict.exists():
            continue
        result = grader.Result.from_json(paths.verdict.read_text("utf-8"))
        rows.append({
            "student": paths.student, "assignment": paths.assignment, "notebook": paths.notebook,
            "score": result.score, "max_score": result.max_score, "status": result.status,
            "seconds": round(result.seconds, 1),
            "flags": " | ".join(result.flags + result.problems),
        })
    with open(csv_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["student", "assignment", "notebook", "score",
                                                 "max_score", "status", "seconds", "flags"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
