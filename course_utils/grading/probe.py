"""Runs inside the student's kernel at grading time: the answers' outputs, as plain data.

The grader's runner executes, in the kernel of the hand-in, one cell per exercise:

    from course_utils.grading import probe; probe.answer("/job/in-my_f.json", "/scratch/out/my_f.json")

`answer` reads the inputs the grader chose (JSON, see `wire`), calls the student's function
(or builds their scheduler class) on each, and writes what happened. For an exercise of
kind "model" the answer is a trained network: the probe saves it with its `.save(path)`
next to the outcome file, and the grader judges that file outside the box. Nothing here
decides a grade, and nothing here needs to be trusted: the kernel runs the student's code,
which may have replaced this very module. The grader checks the outputs against
references it computes itself, on inputs drawn from a seed this kernel never sees. This
module imports no reference (the box has none to import: see `calling`).
"""

from __future__ import annotations

import json
from pathlib import Path

from course_utils.grading import calling, wire


def answer(inputs_path: str, output_path: str) -> None:
    """Call the answer named in the inputs file on every case; write the outcomes."""
    import __main__

    spec = wire.load(Path(inputs_path))
    student = vars(__main__).get(spec["name"])
    if student is None:
        result = {"missing": True}
    elif spec["kind"] == "model":
        result = _save_model(student, output_path + ".model")
    else:
        target = calling.answer_callable(student, spec["kind"], dict(spec["settings"]))
        result = {"outcomes": [_plain(calling.call(target, args)) for args in spec["cases"]]}
    Path(output_path).write_text(json.dumps(result), encoding="utf-8")


def _save_model(model, path: str) -> dict:
    save = getattr(model, "save", None)
    if not callable(save):
        return {"raised": f"TypeError: an object of type {type(model).__name__} has no save(path)"}
    try:
        save(path)
    except NotImplementedError:
        return {"not_answered": True}
    except Exception as error:  # noqa: BLE001 -- the student's model: any failure is theirs
        return {"raised": calling.describe_error(error)[:300]}
    return {"saved": True}


def _plain(outcome: dict) -> dict:
    """The outcome as JSON data (see grader._outcome, which reads it back)."""
    if "value" not in outcome:
        return outcome
    value = outcome["value"]
    try:
        return {"value": json.loads(json.dumps(wire.encode(value)))}
    except (TypeError, ValueError, RecursionError):
        return {"value": {"__opaque__": f"an object of type {type(value).__name__}"}}
