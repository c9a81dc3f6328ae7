"""Calling a student's answer in the box: what the probe needs, and no reference answer.

The box holds a copy of course_utils without `exercises` (the references and the cases)
and with a stand-in for `checks` (sandbox.box_package), so the probe cannot import them.
This module is what it uses instead: how an answer of each kind is called on a case, and
what happened, as plain data. It must never import course_utils.exercises or .checks.

`answer_callable` and `scheduler_changes` behave exactly as course_utils.exercises'
functions of the same names (tests/test_grading.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def scheduler_changes(cls: type, hyper: dict, gradients: list, reset_and_repeat: bool) -> np.ndarray:
    """Stack the changes a fresh scheduler returns for a gradient sequence (optionally twice)."""
    scheduler = cls(**hyper)
    changes = [np.array(scheduler.update_change(g.copy()), dtype=float) for g in gradients]
    if reset_and_repeat:
        scheduler.reset()
        changes += [np.array(scheduler.update_change(g.copy()), dtype=float) for g in gradients]
    return np.stack(changes)


def answer_callable(student: Any, kind: str, settings: dict) -> Callable:
    """The student's function itself, or for a scheduler class the changes it returns."""
    if kind == "scheduler":
        return lambda gradients, reset: scheduler_changes(student, settings, gradients, reset)
    if kind == "diagnosis" and not callable(student):
        return lambda *case: student     # a fix given as data (a configuration dict)
    return student


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
