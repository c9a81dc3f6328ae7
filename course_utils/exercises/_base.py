"""What every exercise module shares: the `Exercise` record, the compare functions, and how
a student's answer becomes a function of a case's inputs (`answer_callable`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# A compare function returns None when `got` is right, else a short reason.
Compare = Callable[[Any, Any], "str | None"]

# ----------------------------------------------------------------------------- compares
def same_array(rtol: float = 1e-7, atol: float = 1e-9) -> Compare:
    """Compare array-like results: same shape, equal up to a tolerance scaled by the size."""

    def compare(expected, got) -> str | None:
        if got is None:
            return "your function returned None (is a `return` missing?)"
        if np.iscomplexobj(got):
            return "the result is complex; keep its real part (np.real) at the end"
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return f"expected an array, got a {type(got).__name__}"
        expected = np.asarray(expected, dtype=float)
        if got.shape != expected.shape:
            return f"shape {got.shape}, expected shape {expected.shape}"
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        if not np.allclose(got, expected, rtol=rtol, atol=atol * scale, equal_nan=True):
            where = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol * scale))
            first = tuple(int(i) for i in where[0])
            return (f"{len(where)} of {expected.size} entries differ, first at index {first}: "
                    f"{got[first]:.6g} instead of {expected[first]:.6g}")
        return None

    return compare


def same_arrays(rtol: float = 1e-7, atol: float = 1e-9) -> Compare:
    """Compare a tuple of arrays (e.g. (dX, dkernel)) element by element."""
    one = same_array(rtol, atol)

    def compare(expected, got) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} arrays, got {type(got).__name__}"
        for i, (e, g) in enumerate(zip(expected, got)):
            reason = one(e, g)
            if reason:
                return f"element [{i}] of the result: {reason}"
        return None

    return compare


def same_ints(expected, got) -> str | None:
    """Compare an int or a tuple of ints exactly (3.0 is not accepted for 3)."""
    exp = expected if isinstance(expected, tuple) else (expected,)
    values = got if isinstance(expected, tuple) else (got,)
    if isinstance(expected, tuple) and (not isinstance(got, (tuple, list)) or len(got) != len(exp)):
        return f"expected a tuple of {len(exp)} ints, got {got!r}"
    for e, g in zip(exp, values):
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)):
            return f"expected an int, got {type(g).__name__} {g!r}"
        if g != e:
            return "wrong value"
    return None


def same_int_or_none(expected, got) -> str | None:
    """Compare an int answer exactly, where None is the answer "impossible"."""
    if expected is None:
        return None if got is None else f"no value works here, expected None, got {got!r}"
    if got is None:
        return "you returned None, but a value works here"
    return same_ints(expected, got)


def same_floats(expected, got) -> str | None:
    """Compare a tuple of floats (e.g. a chosen (eta, lambda))."""
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        return f"expected a tuple of {len(expected)} numbers, got {got!r}"
    try:
        values = [float(g) for g in got]
    except (TypeError, ValueError):
        return f"expected numbers, got {got!r}"
    if not all(math.isclose(g, e, rel_tol=1e-12) for g, e in zip(values, expected)):
        return "wrong value"
    return None



def same_int_list(expected: list, got) -> str | None:
    """Compare a list of ints exactly, naming the first layer whose count is wrong."""
    if got is None:
        return "your function returned None (is a `return` missing?)"
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        return f"expected a list of {len(expected)} ints (one per layer), got {got!r}"
    for index, (e, g) in enumerate(zip(expected, got)):
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)):
            return f"layer {index}: expected an int, got {type(g).__name__} {g!r}"
        if g != e:
            return f"layer {index}: {g} parameters, expected {e}"
    return None


def same_float(expected, got) -> str | None:
    """Compare one float (nan means "no answer exists", and must be nan)."""
    if got is None:
        return "your function returned None (is a `return` missing?)"
    try:
        value = float(got)
    except (TypeError, ValueError):
        return f"expected a number, got {got!r}"
    if math.isnan(expected):
        return None if math.isnan(value) else "the curve never crosses the level: expected nan"
    if not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12):
        return "wrong value"
    return None


def scheduler_changes(cls, hyper, gradients, reset_and_repeat):
    """Stack the changes a fresh scheduler returns for a gradient sequence (optionally twice)."""
    scheduler = cls(**hyper)
    changes = [np.array(scheduler.update_change(g.copy()), dtype=float) for g in gradients]
    if reset_and_repeat:
        scheduler.reset()
        changes += [np.array(scheduler.update_change(g.copy()), dtype=float) for g in gradients]
    return np.stack(changes)


# ----------------------------------------------------------------------------- exercises
KINDS = ("function", "scheduler", "model", "diagnosis")

# A model judge reads a handed-in model file and returns (fraction of the points in [0, 1],
# one line of feedback); it never raises for what is in the file.
ModelJudge = Callable[[str, int], "tuple[float, str]"]


@dataclass(frozen=True)
class Exercise:
    """What a check needs to judge one exercise, as data the grader can use too.

    cases(rng): the inputs, hand-picked small ones first (the edge cases the statement
    defines), then random ones drawn from rng (a self-check draws them from
    np.random.default_rng(0); the grader from a seed of its own, so an answer that only
    memorises the self-check's cases fails).
    reference(*case): the right answer. compare(expected, got): None or the reason why not.
    kind:
      "function"   the student's function is called with each case;
      "scheduler"  the student's class is built with `settings` and fed the case's gradients;
      "diagnosis"  the student's fix of a failing run: a corrected function (called with
                   each case, like "function") or plain data such as a configuration dict
                   (returned as it is for every case); `compare` re-runs or re-checks it
                   on the grader's inputs and names the symptom that remains;
      "model"      a trained CNN held in the variable `answer`: the grader saves it in the
                   box (CNN.save), gives the box `budget_seconds` for the answer cell, and
                   calls judge_model(path, seed) outside it. cases/reference/compare are
                   unused (the judge draws its own held-out data from the seed).
    references: names whose use in an answer the grader flags for a teaching assistant
    (the course's own implementation of the exercise, or the library call it checks against).
    """

    topic: str
    cases: Callable[[np.random.Generator], list[tuple]]
    reference: Callable
    compare: Compare
    arg_names: tuple[str, ...]
    reference_label: str = ""
    kind: str = "function"
    settings: tuple[tuple[str, float], ...] = ()
    references: tuple[str, ...] = ()
    # kind "model" only
    answer: str = ""
    budget_seconds: float = 0.0
    max_bytes: int = 0
    max_parameters: int = 0
    judge_model: ModelJudge | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "model" and not (self.answer and self.budget_seconds > 0 and self.max_bytes > 0
                                         and self.max_parameters > 0 and self.judge_model):
            raise ValueError(f"model exercise {self.topic!r} needs answer, budget_seconds, "
                             "max_bytes, max_parameters and judge_model")

    def student_callable(self, student: Any) -> Callable:
        """The function of a case's inputs that the student's answer stands for."""
        return answer_callable(student, self.kind, dict(self.settings))


def answer_callable(student: Any, kind: str, settings: dict) -> Callable:
    """The function of a case's inputs that the student's answer stands for.

    A scheduler class: the changes it returns; a diagnosis answered with data (a corrected
    configuration): that data, whatever the case; otherwise the student's function itself.
    """
    if kind == "scheduler":
        return lambda gradients, reset: scheduler_changes(student, settings, gradients, reset)
    if kind == "diagnosis" and not callable(student):
        return lambda *case: student
    return student


def no_cases(rng: np.random.Generator) -> list[tuple]:
    """The cases of a model exercise: none (its judge draws held-out data of its own)."""
    return []


def no_reference(*case: Any) -> None:
    return None


def no_compare(expected: Any, got: Any) -> str | None:
    return "a model exercise is judged by its judge_model, not by compare"
