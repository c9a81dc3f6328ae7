"""Grade a class of hand-ins, sandboxed and in parallel, before nbgrader records the verdicts.

    python -m course_utils.grading COURSE_DIR [--assignment 01_convolution ...] [--jobs 2]

COURSE_DIR is nbgrader's course directory (`make homework` made it; the hand-ins are in
its submitted/ folder). `make autograde` runs this, then `nbgrader autograde`, then the
export. Before the class, the course's own notebook of every assignment (source/, with
its solutions) is graded as a self-test: it must earn full marks.

Exit code: 0 all graded; 1 some hand-ins could not be graded (status "error" in the
report, no score recorded, the rest of the class graded); 2 no sandbox can start here;
3 the self-test failed (nothing graded).

    python -m course_utils.grading COURSE_DIR --errors-of 01_convolution

prints the students whose hand-in of that assignment has status error, comma-separated
(for nbgrader's --CourseDirectory.student_id_exclude).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course_utils.grading import classroom, sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("course", type=Path, help="nbgrader's course directory")
    parser.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="hand-ins graded at once (default: one per core)")
    parser.add_argument("--wall-seconds", type=float, default=sandbox.Limits.wall_seconds,
                        help="time limit for one notebook (default %(default)s)")
    parser.add_argument("--cell-seconds", type=float, default=sandbox.Limits.cell_seconds,
                        help="time limit for one cell (default %(default)s)")
    parser.add_argument("--memory-gib", type=float, default=sandbox.Limits.memory / 2**30,
                        help="memory (address space) of one notebook (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="grade again what has a verdict")
    parser.add_argument("--no-self-test", action="store_true",
                        help="skip grading the course's own notebook first (not recommended)")
    parser.add_argument("--errors-of", metavar="ASSIGNMENT",
                        help="only print the students whose hand-in could not be graded")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run hand-ins WITHOUT the sandbox (only for hand-ins you trust)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.errors_of:
        print(",".join(classroom.errors_of(args.course, args.errors_of)))
        return 0
    if not (args.course / "submitted").is_dir():
        parser.error(f"no hand-ins: {args.course / 'submitted'} is not a folder")

    if args.unsafe_no_sandbox:
        print("WARNING: grading without a sandbox: hand-ins run with your rights.", file=sys.stderr)
    else:
        try:
            sandbox.check_available()
        except sandbox.SandboxUnavailable as error:
            print(f"cannot grade safely: {error}", file=sys.stderr)
            return 2

    limits = sandbox.Limits(wall_seconds=args.wall_seconds, cell_seconds=args.cell_seconds,
                            memory=int(args.memory_gib * 2**30))
    lock, start = threading.Lock(), time.monotonic()
    print(f"boxes: {sandbox.confinement_here() if not args.unsafe_no_sandbox else 'none'}",
          flush=True)
    if not args.no_self_test:
        todo = classroom.to_grade(args.course, args.assignment, args.force)
        assignments = sorted({p.assignment for p in todo})
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            tests = list(pool.map(lambda a: classroom.self_test(args.course, a, limits,
                                                                args.unsafe_no_sandbox),
                                  assignments))
        for assignment, (passed, how) in zip(assignments, tests):
            print(f"self-test {assignment}: {'passed' if passed else 'FAILED'} ({how})", flush=True)
        failed = [a for a, (passed, _) in zip(assignments, tests) if not passed]
        if failed:
            print(f"grading stopped: the course's own notebook of {', '.join(failed)} does not "
                  "earn full marks, so the grader or this machine is broken (nothing was graded)",
                  file=sys.stderr)
            return 3

    def report(paths, result):
        with lock:
            print(f"{paths.student:>16} {paths.assignment:<24} {result.score:g}/{result.max_score:g} "
                  f"{result.status:<10} {result.seconds:6.1f} s"
                  + (f"  ⚑ {len(result.flags)} flag(s)" if result.flags else ""), flush=True)

    done = classroom.grade_class(args.course, args.assignment, args.jobs, limits,
                                 args.unsafe_no_sandbox, args.force, report)
    rows = classroom.write_report(args.course, args.course / "grading_report.csv")
    errors = [paths for paths, result in done if result.status == "error"]
    print(f"graded {len(done) - len(errors)} hand-in(s) in {time.monotonic() - start:.0f} s with "
          f"{args.jobs} at a time; {rows} verdict(s) listed in "
          f"{args.course / 'grading_report.csv'}")
    if errors:
        print(f"{len(errors)} hand-in(s) could not be graded (status error, no score recorded; "
              "the reasons are in the report; make autograde grades them again): "
              + ", ".join(f"{p.student}/{p.assignment}" for p in errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
