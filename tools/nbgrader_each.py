"""Run one nbgrader command on several assignments in ONE Python process.

    python tools/nbgrader_each.py COMMAND ASSIGNMENT... -- NBGRADER_OPTION...
    python tools/nbgrader_each.py autograde 01_convolution 02_toeplitz -- --CourseDirectory.root=course

does what `for a in ASSIGNMENT...; do nbgrader COMMAND $a NBGRADER_OPTION...; done` does,
with the same nbgrader application classes, options and nbgrader_config.py (read from the
working folder, as the command line reads it), but nbgrader's start-up (about 3.5 s of
imports per command on a 2-core machine) is paid once instead of once per assignment:
for the course's nine notebooks, `make homework` went from 36 s to about 9 s.

COMMAND is generate_assignment, autograde or generate_feedback. For autograde, each
assignment's hand-ins that the sandboxed grader could not grade (status error) are left
out, as `--errors-of` of `python -m course_utils.grading` lists them, so that nbgrader
records no score for them. A failing assignment does not stop the others: they are named
at the end and the exit status is 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

COMMANDS = ("generate_assignment", "autograde", "generate_feedback")


def run(command: str, assignment: str, options: list[str]) -> bool:
    """`nbgrader command assignment options`, in this process; True if it succeeded."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app_class = NbGraderApp.subcommands[command][0]
    app = app_class()  # a new application each time: no state left from the last one
    try:
        app.initialize([assignment, *options])
        app.start()
    except SystemExit as stop:  # nbgrader's apps end a failure with self.fail -> sys.exit(1)
        return stop.code in (None, 0)
    except Exception as error:  # noqa: BLE001 -- report it, go on with the next assignment
        print(f"nbgrader {command} {assignment}: {type(error).__name__}: {error}",
              file=sys.stderr)
        return False
    return True


def course_root(options: list[str]) -> Path:
    for option in options:
        if option.startswith("--CourseDirectory.root="):
            return Path(option.split("=", 1)[1])
    raise SystemExit("autograde needs --CourseDirectory.root=COURSE_DIR among the options")


def main(argv: list[str]) -> int:
    if "--" in argv:
        split = argv.index("--")
        names, options = argv[:split], argv[split + 1 :]
    else:
        names, options = argv, []
    if len(names) < 2 or names[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    command, assignments = names[0], names[1:]
    # nbgrader runs `alembic` (the gradebook's migrations) from PATH: ours, beside this Python
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                          os.environ.get("PATH", "")])
    failed = []
    for assignment in assignments:
        extra = []
        if command == "autograde":
            from course_utils.grading import classroom

            errors = classroom.errors_of(course_root(options), assignment)
            extra = [f"--CourseDirectory.student_id_exclude={','.join(errors)}"]
        if not run(command, assignment, [*options, *extra]):
            failed.append(assignment)
    if failed:
        print(f"nbgrader {command} failed for: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
