"""Calling a student's answer in the box: what the probe needs, and no reference answer.

The box holds a copy of course_utils without `exercises` (the references and the cases)
and with a stand-in for `checks` (sandbox.box_package), so the probe cannot import them.
This module is what it uses instead: how an answer of each kind is called on a case, and
what happened, as plain data. It must never import course_utils.exercises or .checks.

How an answer of each kind is called (`answer_callable`, `scheduler_changes`) is defined in
course_utils.homework, which the box holds and course_utils.exercises imports as well, so
the self-checks and the probe call an answer the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils.homework import answer_callable, scheduler_changes  # noqa: F401


def describe_error(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def call(student_fn: Callable, args: tuple) -> dict:
    """Run the student's code on one case (on copies of the inputs): {"value": ...},
    {"raised": "TypeError: ..."} or {"not_answered": True} (read back by grader._outcome)."""
    copies = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    try:
        return {"value": student_fn(*copies)}
    except NotImplementedError:
        return {"not_answered": True}
    except Exception as error:  # noqa: BLE001 -- any bug in the student code is a failed case
        return {"raised": describe_error(error)[:300]}
