"""A class of hand-ins through the sandboxed grader: seconds per hand-in, and 300 x 8 projected.

    .venv/bin/python benchmarks/bench_grading.py [hand-ins per notebook, default 3] [--jobs 2]

Builds a throw-away course folder (release/ = the stored notebooks, whose check cells are
the released ones; submitted/ = right and unanswered hand-ins of every notebook, made with
tools/student_run.py's stubs), grades it with `python -m course_utils.grading`'s own
function, two hand-ins at a time by default, and prints each notebook's mean seconds per
hand-in, the batch's wall time, and the time 300 students x 8 notebooks would take at the
batch's rate, against the goal of 8 hours on 2 cores. The second step of `make
autograde`, nbgrader recording the verdicts, is not included: time it with `make
autograde` on a course (see docs/grading.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tools"))

from student_run import student_run

from course_utils.grading import classroom, sandbox

GOAL_HOURS = 8.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("per_notebook", nargs="?", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    sandbox.check_available()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as folder:
        root = Path(folder)
        for path in notebooks:
            (root / "release" / path.stem).mkdir(parents=True)
            nbformat.write(nbformat.read(path, as_version=4), root / "release" / path.stem / path.name)
            stub = student_run(path)
            for i in range(args.per_notebook):
                target = root / "submitted" / f"s{i:03d}" / path.stem / path.name
                target.parent.mkdir(parents=True)
                # even students hand in the solutions, odd ones the unanswered copy
                nbformat.write(nbformat.read(path, as_version=4) if i % 2 == 0 else stub, target)
        start = time.perf_counter()
        done = classroom.grade_class(root, jobs=args.jobs)
        wall = time.perf_counter() - start
    per = {}
    for paths, result in done:
        per.setdefault(paths.assignment, []).append(result.seconds)
        assert result.status == "graded", (paths, result.status, result.problems)
    print(f"{len(done)} hand-ins ({args.per_notebook} per notebook), {args.jobs} at a time: "
          f"{wall:.0f} s wall; boxes: {sandbox.confinement_here()}")
    for assignment, seconds in sorted(per.items()):
        print(f"  {assignment:<24} {statistics.mean(seconds):5.1f} s per hand-in "
              f"(min {min(seconds):.1f}, max {max(seconds):.1f})")
    cores = os.cpu_count() or 1
    measured = [r.cpu_seconds for _, r in done if r.cpu_seconds is not None]
    cpu = sum(measured) / len(measured) * len(done) if measured else float("nan")
    print(f"CPU time of the boxes (their cgroups): {cpu:.0f} s ({cpu / len(done):.1f} s per hand-in); on "
          f"{cores} otherwise idle cores 300 x {len(notebooks)} would take "
          f"{cpu / len(done) * 300 * len(notebooks) / cores / 3600:.1f} h "
          f"(load average now {os.getloadavg()[0]:.1f})")
    projected = wall / len(done) * 300 * len(notebooks) / 3600
    print(f"300 students x {len(notebooks)} notebooks at this rate: {projected:.1f} h; "
          f"goal {GOAL_HOURS:.0f} h: {projected / GOAL_HOURS:.2f}x of the goal "
          f"({'met' if projected <= GOAL_HOURS else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
