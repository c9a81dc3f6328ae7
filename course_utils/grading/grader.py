"""Grade one hand-in: run it boxed, read back plain data, judge it here.

    result = grade_notebook(handin_path, course_notebook)

1. The hand-in is read as JSON (at most MAX_NOTEBOOK_BYTES) and never executed here.
2. The exercises come from the COURSE's notebook (the trusted copy, not the hand-in): each
   locked check cell `points(check_x(my_x, ...))` names the answer `my_x`, the
   `course_utils.checks` exercise that judges it and its points.
3. Inputs for every exercise are drawn from a fresh secret seed and written as JSON into
   the scratch folder of a sandbox (`sandbox`), where the hand-in's set-up imports and its
   Exercises section run in a kernel, followed by one probe cell per exercise (`probe`).
4. The probes' outputs are read back as plain data (`wire`) and compared, here, with the
   references computed here: `checks.judge`. What the student's kernel printed, returned or
   patched decides nothing.

Only the notebook's imports and its "## Exercises" section run when grading: the answers
are functions of their inputs, so the lecture part (trainings, timings) cannot change a
verdict, and a class of hand-ins grades in minutes instead of hours.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from course_utils import checks, exercises
from course_utils.grading import channel, sandbox, scan, wire

MAX_NOTEBOOK_BYTES = 20 * 2**20     # the course's largest stored notebook is about 2 MB
EXERCISES_HEADING = re.compile(r"^##\s+Exercises\b")
CHECK_CALL = re.compile(r"points\(\s*check_\w+\(")


class HandinError(ValueError):
    """The file is not a notebook the grader can read."""


@dataclass(frozen=True)
class Graded:
    """One exercise of a course notebook: answer name, check cell, how it is judged."""

    answer: str            # the name the student defines, e.g. "my_convolve2d"
    answer_id: str         # nbgrader grade_id of the answer cell (the same name)
    check_id: str          # nbgrader grade_id of the check cell, "check_my_convolve2d"
    points: float
    exercise: exercises.Exercise


@dataclass
class Verdict:
    answer: str
    check_id: str
    points: float
    max_points: float
    lines: list[str]
    flags: list[str] = field(default_factory=list)


@dataclass
class Result:
    """Everything the grader concluded about one hand-in (JSON-able with `to_json`)."""

    notebook: str
    sha256: str
    status: str                      # "graded", "timed out", "not a notebook", "error"
    seconds: float
    verdicts: list[Verdict]
    flags: list[str]
    outputs: dict[str, list]          # hand-in cell index -> outputs as run (sanitised)
    problems: list[str] = field(default_factory=list)
    confinement: str = ""            # which limits held (sandbox.Finished.confinement)
    cpu_seconds: float | None = None  # CPU time of the box, where a cgroup measured it

    @property
    def score(self) -> float:
        return sum(v.points for v in self.verdicts)

    @property
    def max_score(self) -> float:
        return sum(v.max_points for v in self.verdicts)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Result:
        data = json.loads(text)
        data["verdicts"] = [Verdict(**v) for v in data["verdicts"]]
        return cls(**data)


# ----------------------------------------------------------------------------- the course side
def course_exercises(course: nbformat.NotebookNode) -> list[Graded]:
    """The graded exercises of a course notebook, read from its locked check cells."""
    graded = []
    for cell in course.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or not CHECK_CALL.search(cell.source):
            continue
        call = _check_call(cell.source)
        if call is None:
            raise ValueError(f"check cell {meta.get('grade_id')!r} does not end with "
                             "points(check_x(my_x, ...)) of literal arguments")
        check, answer, arguments = call
        answer_id = meta["grade_id"].removeprefix("check_")
        graded.append(Graded(answer, answer_id, meta["grade_id"], float(meta.get("points", 1)),
                             exercises.exercise_of_check(check, **arguments)))
    return graded


def _check_call(source: str) -> tuple[str, str, dict] | None:
    """(check name, answer name, keyword arguments) of the cell's last line points(check(...))."""
    try:
        last = ast.parse(source).body[-1]
        outer = last.value
        inner = outer.args[0]
        check, answer = inner.func.id, inner.args[0].id
        arguments = {k.arg: ast.literal_eval(k.value) for k in inner.keywords}
    except (SyntaxError, IndexError, AttributeError, ValueError):
        return None
    if outer.func.id != "points" or len(inner.args) != 1:
        return None
    return check, answer, arguments


def course_sources(course: nbformat.NotebookNode) -> set[str]:
    return {cell.source.strip() for cell in course.cells if cell.cell_type == "code"}


# ----------------------------------------------------------------------------- the hand-in side
def _handin_bytes(path: Path) -> bytes:
    """The hand-in's bytes, read as hostile (a plain file, no link, no FIFO, at most the cap)."""
    path = Path(path)
    try:
        return channel.read_regular(path.parent, path.name, MAX_NOTEBOOK_BYTES)
    except channel.Refused as error:
        raise HandinError(f"{error} (a hand-in is one notebook file of at most "
                          f"{MAX_NOTEBOOK_BYTES // 2**20} MB: clear the outputs and hand it in "
                          "again)") from None


def fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes: a verdict belongs to exactly what was handed in."""
    try:
        return hashlib.sha256(_handin_bytes(path)).hexdigest()
    except (HandinError, OSError):
        return "unreadable"


def read_handin(path: Path) -> nbformat.NotebookNode:
    """The hand-in as a notebook, read as JSON only; HandinError says why it cannot be."""
    data = _handin_bytes(path)
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        cells = nb.cells
        if not all(isinstance(c.get("source"), str) and c.get("cell_type") for c in cells):
            raise ValueError("a cell without source or type")
    except Exception as error:  # noqa: BLE001 -- any failure to read is "not a notebook"
        raise HandinError(f"not a Jupyter notebook ({type(error).__name__}: "
                          f"{str(error)[:200]})") from None
    return nb


def cells_to_run(nb: nbformat.NotebookNode) -> tuple[str, list[int]]:
    """(the imports of the lecture part, the code cells of the Exercises section).

    The section starts at the "## Exercises" heading, or at the first nbgrader cell if a
    student removed the heading.
    """
    start = next((i for i, c in enumerate(nb.cells)
                  if c.cell_type == "markdown" and EXERCISES_HEADING.match(c.source)), None)
    if start is None:
        start = next((i for i, c in enumerate(nb.cells)
                      if c.get("metadata", {}).get("nbgrader")), len(nb.cells))
    imports = []
    for cell in nb.cells[:start]:
        if cell.cell_type != "code":
            continue
        tree = scan.parse(cell.source)
        if tree is None:
            continue
        imports += [ast.unparse(node) for node in tree.body
                    if isinstance(node, (ast.Import, ast.ImportFrom))]
    section = [i for i in range(start, len(nb.cells)) if nb.cells[i].cell_type == "code"]
    return "\n".join(dict.fromkeys(imports)), section


# ----------------------------------------------------------------------------- grading
DEFAULT_MODEL_BYTES = 8 * 2**20     # a saved course network is a few hundred kB


def grade_notebook(handin_path: Path, course: nbformat.NotebookNode,
                   limits: sandbox.Limits = sandbox.DEFAULT_LIMITS, unsafe: bool = False,
                   seed: int | None = None) -> Result:
    """Grade one hand-in against its course notebook. Never raises for what is in the hand-in.

    status "graded" or "timed out" (the hand-in's doing: what it earned counts), "not a
    notebook", or "error": the box or the grader failed, before any of the student's code
    ran; no verdict of such a result may be recorded as a grade.
    """
    handin_path = Path(handin_path)
    digest = fingerprint(handin_path)
    graded = course_exercises(course)

    def zero(status: str, lines: list[str], seconds: float = 0.0) -> Result:
        verdicts = [Verdict(g.answer, g.check_id, 0.0, g.points, lines) for g in graded]
        return Result(handin_path.name, digest, status, seconds, verdicts, [], {},
                      [lines[0]] if status == "error" else [])

    try:
        nb = read_handin(handin_path)
    except HandinError as error:
        return zero("not a notebook", [f"✘ the hand-in could not be read: {error}"])

    seed = seed if seed is not None else secrets.randbits(128)
    rng = np.random.default_rng(seed)
    cases = {g.answer_id: g.exercise.cases(rng) for g in graded}
    preamble, section = cells_to_run(nb)
    with tempfile.TemporaryDirectory(prefix="grading-") as folder:
        job = Path(folder) / "job"          # read-only in the box at /job
        job.mkdir()
        scratch = Path(folder) / "scratch"  # used only without the box (unsafe)
        scratch.mkdir(mode=0o700)
        inside, out = (job, scratch / "out") if unsafe else (Path("/job"), Path("/scratch/out"))
        probes, outputs, budgets = [], {}, {}
        for g in graded:
            inputs = {"name": g.answer, "kind": g.exercise.kind,
                      "settings": dict(g.exercise.settings), "cases": cases[g.answer_id]}
            wire.dump(inputs, job / f"in-{g.answer_id}.json")
            probes.append("from course_utils.grading import probe\n"
                          f"probe.answer({str(inside / f'in-{g.answer_id}.json')!r}, "
                          f"{str(out / f'{g.answer_id}.json')!r})")
            outputs[f"{g.answer_id}.json"] = wire.MAX_BYTES
            if g.exercise.kind == "model":
                outputs[f"{g.answer_id}.json.model"] = _model_bytes(g.exercise)
                cell = _answer_cell(nb, g.answer_id, section)
                if cell is not None:
                    budgets[str(cell)] = float(g.exercise.budget_seconds)
        (job / "handin.ipynb").write_bytes(_handin_bytes(handin_path))
        spec = {"handin": "handin.ipynb", "cells": section, "preamble": preamble,
                "probes": probes, "cell_timeout": limits.cell_seconds, "budgets": budgets,
                "outputs": outputs, "notebook_cap": MAX_NOTEBOOK_BYTES}
        (job / "job.json").write_text(json.dumps(spec), encoding="utf-8")
        for path in [Path(folder), job, *job.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)   # readable by the box's uid
        runner = ["-m", "course_utils.grading.runner", str(inside), str(out.parent)]
        finished = sandbox.run(job, runner, limits, unsafe=unsafe, scratch=scratch)
        if not finished.started or (not finished.kernel_started and not finished.timed_out):
            where = "the box did not start" if not finished.started else \
                "the kernel did not start in the box"
            result = zero("error", [(f"grading failed, not the student's doing: {where} "
                                    f"(exit code {finished.returncode}): "
                                    f"{finished.log.strip()[-400:]}")], finished.seconds)
            result.confinement = finished.confinement
            return result
        timings = _timings(finished.frames.get("cells", b""))
        verdicts = [_judge(g, cases[g.answer_id], finished.frames, limits, timings,
                           _answer_cell(nb, g.answer_id, section), seed) for g in graded]
        outputs_shown = _outputs(finished.frames.get("executed.ipynb", b""), section)
    status = "timed out" if finished.timed_out else "graded"
    problems = []
    if finished.timed_out:
        problems.append(f"stopped at the time limit of {limits.wall_seconds:.0f} s for a notebook")
    elif finished.returncode != 0:
        problems.append(f"the notebook runner ended with code {finished.returncode}: "
                        f"{finished.log.strip()[-300:]}")
    if finished.overflow:
        problems.append(f"the box reported more than {limits.result_bytes:,} bytes; the rest "
                        "was not read")
    answers = {g.answer: g.exercise.references for g in graded}
    flags = scan.flags(((i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"),
                       course_sources(course), answers)
    for verdict in verdicts:
        verdict.flags = [f.text for f in flags if f.answer == verdict.answer]
    return Result(handin_path.name, digest, status, finished.seconds, verdicts,
                  [f.text for f in flags], outputs_shown, problems, finished.confinement,
                  finished.cpu_seconds)


def _model_bytes(exercise) -> int:
    return int(getattr(exercise, "max_bytes", None) or DEFAULT_MODEL_BYTES)


def _answer_cell(nb: nbformat.NotebookNode, answer_id: str, section: list[int]) -> int | None:
    """Index of the hand-in's answer cell (nbgrader grade_id) in the section run, if any."""
    return next((i for i in section
                 if nb.cells[i].get("metadata", {}).get("nbgrader", {}).get("grade_id")
                 == answer_id), None)


def _timings(data: bytes) -> dict[int, dict]:
    """hand-in cell index -> {"seconds", "interrupted"} as the runner measured them."""
    try:
        rows = json.loads(data.decode("utf-8"))
        return {int(r["cell"]): r for r in rows
                if isinstance(r, dict) and isinstance(r.get("cell"), int)
                and isinstance(r.get("seconds"), (int, float))}
    except (UnicodeDecodeError, ValueError, TypeError, KeyError):
        return {}


def _load_answer(frames: dict[str, bytes], name: str):
    """The probe's outcome file from the runner's report, decoded; ValueError says why not."""
    if name + ".refused" in frames:
        raise ValueError(frames[name + ".refused"].decode("utf-8", "replace"))
    if name not in frames:
        raise FileNotFoundError(name)
    if len(frames[name]) > wire.MAX_BYTES:
        raise ValueError(f"{name} is larger than {wire.MAX_BYTES:,} bytes")
    try:
        return wire.decode(json.loads(frames[name].decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{name} is not the JSON the grader expects: {error}") from None


def _judge(g: Graded, cases: list[tuple], frames: dict[str, bytes], limits: sandbox.Limits,
           timings: dict[int, dict], answer_cell: int | None, seed: int) -> Verdict:
    """Compare the probe's outputs with the references computed here."""
    def verdict(points: float, lines: list[str]) -> Verdict:
        return Verdict(g.answer, g.check_id, points, g.points, lines)

    if g.exercise.kind == "model":     # past its budget: said first, whatever else happened
        budget = float(g.exercise.budget_seconds)
        ran = timings.get(answer_cell) if answer_cell is not None else None
        if ran is not None and (ran.get("interrupted") or ran["seconds"] > budget):
            return verdict(0.0, [(f"✘ {g.answer}: the training cell ran longer than its budget of "
                                 f"{budget:.0f} s (measured in the grader's box: stopped after "
                                 f"{ran['seconds']:.0f} s); train for fewer epochs or on less data")])
    try:
        data = _load_answer(frames, f"{g.answer_id}.json")
    except FileNotFoundError:
        why = (f"✘ {g.answer}: no answer came back (the notebook crashed, or the function ran "
               f"longer than {limits.cell_seconds:.0f} s on the grader's cases)")
        return verdict(0.0, [why])
    except ValueError as error:
        return verdict(0.0, [f"✘ {g.answer}: {error}"])
    if not isinstance(data, dict):
        return verdict(0.0, [f"✘ {g.answer}: the answer file was tampered with"])
    if data.get("missing") is True:
        why = f"… {g.answer}: not answered (no function or class of this name after the notebook ran)"
        return verdict(0.0, [why])
    if g.exercise.kind == "model":
        return _judge_model(g, data, frames, seed, verdict)
    outcomes = data.get("outcomes")
    if not isinstance(outcomes, list) or len(outcomes) != len(cases):
        return verdict(0.0, [f"✘ {g.answer}: the answer file was tampered with"])
    passed, lines = checks.judge(g.exercise, g.answer, cases, (_outcome(o) for o in outcomes))
    return verdict(g.points if passed else 0.0, lines)


def _judge_model(g: Graded, data: dict, frames: dict[str, bytes], seed: int, verdict) -> Verdict:
    """A trained network (within its budget): exercise.judge_model, here, on a copy of the file."""
    if data.get("not_answered") is True:
        return verdict(0.0, [f"… {g.answer}: not answered yet"])
    if isinstance(data.get("raised"), str):
        return verdict(0.0, [f"✘ {g.answer}: saving the model raised {data['raised'][:300]}"])
    name = f"{g.answer_id}.json.model"
    if data.get("saved") is not True or name not in frames:
        refused = frames.get(name + ".refused", b"no file came back").decode("utf-8", "replace")
        return verdict(0.0, [f"✘ {g.answer}: no saved model came back ({refused[:300]})"])
    with tempfile.TemporaryDirectory(prefix="grading-model-") as folder:
        path = Path(folder) / "model.npz"     # the grader's own copy of the hostile file
        path.write_bytes(frames[name])
        try:
            fraction, feedback = g.exercise.judge_model(path, seed)
            fraction = float(fraction)
        except Exception as error:  # noqa: BLE001 -- a malformed file is the hand-in's fault
            return verdict(0.0, [(f"✘ {g.answer}: the saved model could not be judged "
                                 f"({type(error).__name__}: {str(error)[:300]})")])
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"judge_model of {g.answer} returned the fraction {fraction}, "
                         "expected a number in [0, 1]")
    mark = "✔" if fraction == 1.0 else "✘" if fraction == 0.0 else "◐"
    return verdict(g.points * fraction, [f"{mark} {g.answer}: {feedback}"])


def _outcome(data) -> checks.Outcome:
    if not isinstance(data, dict):
        return checks.Outcome(value=wire.Opaque("a tampered answer"))
    if data.get("not_answered") is True:
        return checks.Outcome(not_answered=True)
    if isinstance(data.get("raised"), str):
        return checks.Outcome(raised=data["raised"][:300])
    return checks.Outcome(value=data.get("value"))


def _outputs(executed: bytes, section: list[int]) -> dict[str, list]:
    """The outputs of the section's cells as they ran: text and PNG only, size-limited."""
    if not executed or len(executed) > MAX_NOTEBOOK_BYTES:
        return {}
    try:
        cells = nbformat.reads(executed.decode("utf-8"), as_version=4).cells
    except Exception:  # noqa: BLE001 -- written by the hand-in's box: untrusted
        return {}
    ran = cells[1:1 + len(section)]
    return {str(index): _safe(cell.get("outputs", [])) for index, cell in zip(section, ran)}


def _safe(outputs: list) -> list:
    """Outputs with only plain text and PNG images (no HTML or scripts into the grader's pages)."""
    kept, budget = [], 100_000
    for out in outputs[:50]:
        kind = out.get("output_type") if isinstance(out, dict) else None
        if kind == "stream" and isinstance(out.get("text"), str):
            text = out["text"][:budget]
            kept.append({"output_type": "stream", "name": "stdout", "text": text})
        elif kind in ("execute_result", "display_data") and isinstance(out.get("data"), dict):
            data = {k: v for k, v in out["data"].items()
                    if k in ("text/plain", "image/png") and isinstance(v, str)}
            if "text/plain" in data:
                data["text/plain"] = data["text/plain"][:budget]
            # a result becomes display data: only the grader's verdicts end a check cell
            kept.append({"output_type": "display_data", "data": data, "metadata": {}})
        elif kind == "error":
            text = f"{str(out.get('ename'))[:100]}: {str(out.get('evalue'))[:500]}"
            kept.append({"output_type": "stream", "name": "stdout", "text": text + "\n"})
    return kept
