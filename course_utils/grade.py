"""Grade a handed-in notebook headless: run it, collect the self-check verdicts, print a score.

    python -m course_utils.grade path/to/handed_in.ipynb [more.ipynb ...] [--executed FOLDER]

Before running, every locked cell (the check cells, nbgrader metadata ``locked``) is
taken from the course's own notebook in ``notebooks/`` (the one whose locked cells the
hand-in shares, matched by cell id, else by nbgrader ``grade_id``), as ``nbgrader
autograde`` restores them from its source: a student who edits or redefines a check
earns nothing for it, and the report lists the locked cells the student changed. Only
those check cells count, one point each.

The notebook is then executed top to bottom with nbclient in a temporary directory
(the handed-in file is never modified), by a kernel of this Python environment, with
errors allowed so one broken exercise does not hide the others. A check cell earns its
point when it ends with the value 1.0 (``points(check_...(...))``) and its verdict is
"✔ ... passed"; 0 otherwise (failed, not answered, or no verdict because the cell
raised). A notebook that is not made from a course notebook is graded as handed in:
every cell calling a ``check_...`` function counts, and the report says so.
The exit code is 0 whenever the notebook could be read and run; 2 when a file is missing
or not a notebook.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_utils import checks
from course_utils.checks import FAIL, PASS, TODO

# A call of one of course_utils.checks' check_... functions (not a notebook's own helper).
_CHECK_NAMES = sorted(name for name in dir(checks) if name.startswith("check_"))
_CHECK_CALL = re.compile(rf"\b({'|'.join(_CHECK_NAMES)})\s*\(")
_VERDICT = re.compile(rf"^([{PASS}{FAIL}{TODO}]) (.+?): (.*)$")

# The course's notebooks, next to the package in the repository (as data.DATA_DIR).
COURSE_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass
class Exercise:
    """One check cell of the notebook and what its verdict said."""

    cell: int  # index of the code cell among all cells, counting from 1
    name: str
    status: str  # "passed", "failed", "not answered", "no verdict"
    detail: str = ""

    @property
    def points(self) -> int:
        return int(self.status == "passed")


@dataclass
class Report:
    """Grading result of one notebook."""

    path: Path
    seconds: float
    exercises: list[Exercise] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)
    source: Path | None = None  # the course notebook the check cells were taken from
    changed: list[str] = field(default_factory=list)  # locked cells the student changed

    @property
    def score(self) -> int:
        return sum(exercise.points for exercise in self.exercises)

    def table(self) -> str:
        width = max([len("exercise")] + [len(e.name) for e in self.exercises])
        lines = [f"Grading {self.path.name} (ran in {self.seconds:.0f} s)"]
        if self.source is not None:
            lines.append(f"check cells taken from the course's {self.source.name}")
        else:
            lines.append("no course notebook shares its check cells: graded as handed in")
        lines += [
            "",
            f"{'cell':>4}  {'exercise':<{width}}  {'verdict':<13}  points",
        ]
        for e in self.exercises:
            lines.append(f"{e.cell:>4}  {e.name:<{width}}  {e.status:<13}  {e.points}/1")
            if e.detail:
                lines.append(f"{'':>4}  {'':<{width}}  {e.detail}")
        if not self.exercises:
            lines.append("      (no cell calls a check_... function)")
        lines += ["", f"score: {self.score}/{len(self.exercises)}"]
        if self.changed:
            lines += ["", "Locked cells the student changed (the course's version was run):"]
            lines += [f"  {change}" for change in self.changed]
        if self.other_errors:
            lines += ["", "Errors in other cells (not exercises):"]
            lines += [f"  {error}" for error in self.other_errors]
        return "\n".join(lines)


def _kernel_manager_class():
    """A kernel manager that always starts a kernel of *this* Python (like nbval --current-env).

    The handed-in notebook may name a kernel from the student's machine; grading must use
    the course's environment, where course_utils is installed.
    """
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets import default

    class ThisPythonKernelSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir="", **get_kernel_dict())

    class ThisPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _default_kernel_spec_manager(self):
            return ThisPythonKernelSpecs(data_dir=self.data_dir)

    return ThisPythonKernelManager


def _locked(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _find(cells, like):
    """The cell of `cells` with `like`'s cell id, else with its nbgrader grade_id."""
    for key in (lambda c: c.get("id"), _grade_id):
        wanted = key(like)
        if wanted:
            found = [i for i, c in enumerate(cells) if key(c) == wanted]
            if found:
                return found[0]
    return None


def course_notebook(nb, notebooks: Path = COURSE_NOTEBOOKS) -> Path | None:
    """The course notebook whose locked cells the hand-in shares most (None if none)."""
    import nbformat

    best, best_count = None, 0
    for candidate in sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb")):
        course = nbformat.read(candidate, as_version=4)
        count = sum(_find(nb.cells, cell) is not None for cell in course.cells if _locked(cell))
        if count > best_count:
            best, best_count = candidate, count
    return best


def restore_locked_cells(nb, course) -> tuple[list[str], list[str]]:
    """Put the course's version of every locked cell into `nb` (in place).

    A locked cell is found by cell id, else by grade_id; a changed one gets the course's
    source and metadata, a deleted one is put back after the cell that precedes it in
    the course notebook. Returns (the ids of the locked cells in `nb`, what was changed).
    """
    ids, changed = [], []
    for position, cell in enumerate(course.cells):
        if not _locked(cell):
            continue
        name = _grade_id(cell) or cell.get("id")
        index = _find(nb.cells, cell)
        if index is None:
            before = _find(nb.cells, course.cells[position - 1]) if position else None
            index = len(nb.cells) if before is None else before + 1
            nb.cells.insert(index, copy.deepcopy(cell))
            changed.append(f"{name}: deleted (put back)")
        else:
            mine = nb.cells[index]
            if mine.cell_type != cell.cell_type or mine.source != cell.source:
                changed.append(f"cell {index + 1} ({name}): source changed")
            nb.cells[index] = copy.deepcopy(cell)
        nb.cells[index]["outputs"] = []
        nb.cells[index]["execution_count"] = None
        ids.append(cell.get("id"))
    return ids, changed


def run_notebook(path: Path | None = None, timeout: int = 1200, nb=None):
    """Execute a copy of the notebook (read from `path`, or `nb` itself) in a temporary
    directory; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if nb is None:
        nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="grade-") as workdir:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            kernel_manager_class=_kernel_manager_class(),
            resources={"metadata": {"path": workdir}},
        )
        client.execute()
    return nb


def _text(outputs, name: str = "stdout") -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream"
                   and o.get("name") == name)


def _errors(outputs) -> list[str]:
    return [f"{o.get('ename', 'Error')}: {o.get('evalue', '')}".strip()
            for o in outputs if o.get("output_type") == "error"]


def _value(outputs) -> float | None:
    """The number a cell ended with (its Out[] value), None when there is none."""
    for output in outputs:
        if output.get("output_type") == "execute_result":
            try:
                return float(output.get("data", {}).get("text/plain", ""))
            except ValueError:
                return None
    return None


def collect(nb, path: Path, seconds: float, check_ids: list[str] | None = None) -> Report:
    """Read the verdict of every check cell (and the errors of other cells) from outputs.

    `check_ids`: the ids of the course's check cells; when None, every cell that calls
    a check_... function is a check cell.
    """
    report = Report(path=path, seconds=seconds)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        errors = _errors(outputs)
        verdicts = [m for line in _text(outputs).splitlines() if (m := _VERDICT.match(line))]
        if check_ids is None:
            is_check = bool(_CHECK_CALL.search(cell.source))
        else:
            is_check = cell.get("id") in check_ids
        if is_check and verdicts:
            # The check prints its verdict after every call of the student's code: the last.
            symbol, name, rest = verdicts[-1].groups()
            status = {PASS: "passed", FAIL: "failed", TODO: "not answered"}[symbol]
            detail = rest if symbol == FAIL else ""
            value = _value(outputs)
            if status == "passed" and (errors or (value is not None and value < 1.0)):
                status, detail = "failed", errors[0] if errors else f"the check returned {value}"
            report.exercises.append(Exercise(number, name, status, detail))
        elif is_check:
            call = _CHECK_CALL.search(cell.source)
            name = call.group(0).rstrip("( ") if call else _grade_id(cell) or "check"
            detail = errors[0] if errors else "the cell printed no verdict"
            report.exercises.append(Exercise(number, name, "no verdict", detail))
        expected_error = cell.source.lstrip().startswith("# NBVAL_RAISES_EXCEPTION")
        for error in errors:
            if not (error.startswith("NotImplementedError") or is_check or expected_error):
                report.other_errors.append(f"cell {number}: {error}")
    return report


def grade(path: str | Path, timeout: int = 1200, notebooks: Path = COURSE_NOTEBOOKS,
          executed: Path | None = None) -> Report:
    """Restore the course's check cells in the notebook at `path`, run it, return its Report.

    With `executed` (a file path), the executed notebook, check cells restored and every
    output in place, is written there: what the grader saw, for a teaching assistant to open.
    """
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    source = course_notebook(nb, notebooks)
    check_ids, changed = None, []
    if source is not None:
        check_ids, changed = restore_locked_cells(nb, nbformat.read(source, as_version=4))
    start = time.perf_counter()
    nb = run_notebook(timeout=timeout, nb=nb)
    report = collect(nb, path, time.perf_counter() - start, check_ids=check_ids)
    report.source, report.changed = source, changed
    if executed is not None:
        nbformat.write(nb, executed)
    return report


def _executed_paths(notebooks: list[Path], folder: Path) -> list[Path]:
    """Where --executed puts each graded notebook: folder/<name>, or folder/<parent>_<name>
    when two hand-ins share a file name (alice/01_x.ipynb and bob/01_x.ipynb)."""
    names = [path.name for path in notebooks]
    return [folder / (name if names.count(name) == 1 else f"{path.resolve().parent.name}_{name}")
            for path, name in zip(notebooks, names)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.grade",
        description="Run handed-in notebooks headless, with the course's own check cells, "
        "and print each self-check's verdict and a score (1 point per passed check).",
    )
    parser.add_argument("notebooks", nargs="+", type=Path, help="handed-in .ipynb file(s)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell")
    parser.add_argument("--course", type=Path, default=COURSE_NOTEBOOKS,
                        help="folder of the course's notebooks, whose check cells are run "
                        "(default: %(default)s)")
    parser.add_argument("--executed", type=Path, metavar="FOLDER",
                        help="also write each executed notebook (course checks restored, "
                        "outputs in place) into this folder, under the hand-in's file name")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not path.is_file() or path.suffix != ".ipynb":
            print(f"error: {path} is not a notebook file (.ipynb)", file=sys.stderr)
            return 2
    targets = [None] * len(args.notebooks)
    if args.executed is not None:
        args.executed.mkdir(parents=True, exist_ok=True)
        targets = _executed_paths(args.notebooks, args.executed)
    for i, (path, target) in enumerate(zip(args.notebooks, targets)):
        if i:
            print()
        report = grade(path, timeout=args.timeout, notebooks=args.course, executed=target)
        print(report.table(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
