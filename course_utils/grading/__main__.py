"""Grade a class of hand-ins, sandboxed and in parallel, before nbgrader records the verdicts.

    python -m course_utils.grading COURSE_DIR [--assignment 01_convolution ...] [--jobs 2]

COURSE_DIR is nbgrader's course directory (`make homework` made it; the hand-ins are in
its submitted/ folder). `make autograde` runs this, then `nbgrader autograde`, then the
export. Exit code 2 when no sandbox can start here (nothing is graded), else 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
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
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run hand-ins WITHOUT the sandbox (only for hand-ins you trust)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
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

    def report(paths, result):
        with lock:
            print(f"{paths.student:>16} {paths.assignment:<24} {result.score:g}/{result.max_score:g} "
                  f"{result.status:<10} {result.seconds:6.1f} s"
                  + (f"  ⚑ {len(result.flags)} flag(s)" if result.flags else ""), flush=True)

    done = classroom.grade_class(args.course, args.assignment, args.jobs, limits,
                                 args.unsafe_no_sandbox, args.force, report)
    rows = classroom.write_report(args.course, args.course / "grading_report.csv")
    print(f"graded {len(done)} hand-in(s) in {time.monotonic() - start:.0f} s with {args.jobs} "
          f"at a time; {rows} verdict(s) listed in {args.course / 'grading_report.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
