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

from course_utils.checks import Outcome, call
from course_utils.exercises import answer_callable
from course_utils.grading import wire


def answer(inputs_path: str, output_path: str) -> None:
    """Call the answer named in the inputs file on every case; write the outcomes."""
    import __main__

    spec = wire.load(Path(inputs_path))
    student = vars(__main__).get(spec["name"])
    if student is None:
        result = {"missing": True}
    else:
        target = answer_callable(student, spec["kind"], dict(spec["settings"]))
        result = {"outcomes": [_plain(call(target, args)) for args in spec["cases"]]}
    Path(output_path).write_text(json.dumps(result), encoding="utf-8")


def _plain(outcome: Outcome) -> dict:
    """The outcome as JSON data (see grader._outcome, which reads it back)."""
    if outcome.not_answered:
        return {"not_answered": True}
    if outcome.raised is not None:
        return {"raised": outcome.raised[:300]}
    try:
        return {"value": json.loads(json.dumps(wire.encode(outcome.value)))}
    except (TypeError, ValueError, RecursionError):
        return {"value": {"__opaque__": f"an object of type {type(outcome.value).__name__}"}}
