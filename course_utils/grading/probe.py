"""Runs inside the student's kernel at grading time: the answers' outputs, as plain data.

The grader's runner executes, in the kernel of the hand-in, one cell per exercise:

    from course_utils.grading import probe; probe.answer("in/my_convolve2d.json", "out/my_convolve2d.json")

`answer` reads the inputs the grader chose (JSON, see `wire`), calls the student's function
(or builds their scheduler class) on each, and writes what happened. Nothing here decides
a grade, and nothing here needs to be trusted: the kernel runs the student's code, which
may have replaced this very module. The grader checks the outputs against references it
computes itself, on inputs drawn from a seed this kernel never sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from course_utils.grading import wire


def answer(inputs_path: str, output_path: str) -> None:
    """Call the answer named in the inputs file on every case; write the outcomes."""
    import __main__

    spec = wire.load(Path(inputs_path))
    student = vars(__main__).get(spec["name"])
    if student is None:
        result = {"missing": True}
    else:
        target = student
        if spec["kind"] == "scheduler":
            from course_utils.exercises import scheduler_changes

            settings = dict(spec["settings"])

            def target(gradients, reset):
                return scheduler_changes(student, settings, gradients, reset)

        result = {"outcomes": [_outcome(target, args) for args in spec["cases"]]}
    Path(output_path).write_text(json.dumps(result), encoding="utf-8")


def _outcome(target, args: tuple) -> dict:
    copies = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    try:
        value = target(*copies)
    except NotImplementedError:
        return {"not_answered": True}
    except Exception as error:  # noqa: BLE001 -- a bug in the answer is a failed case
        message = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        return {"raised": f"{type(error).__name__}: {message}" if message else type(error).__name__}
    try:
        return {"value": json.loads(json.dumps(wire.encode(value)))}
    except (TypeError, ValueError, RecursionError):
        return {"value": {"__opaque__": f"an object of type {type(value).__name__}"}}
