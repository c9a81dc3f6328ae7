"""Grade a handed-in notebook headless: run it, collect the self-check verdicts, print a score.

    python -m course_utils.grade path/to/handed_in.ipynb [more.ipynb ...]

The notebook is executed top to bottom with nbclient in a temporary directory (the
handed-in file is never modified), by a kernel of this Python environment, with errors
allowed so one broken exercise does not hide the others. Every cell that calls a
``check_...`` function counts as one exercise: 1 point when its verdict is "✔ ...
passed", 0 otherwise (failed, not answered, or no verdict because the cell raised).
The exit code is 0 whenever the notebook could be read and run; 2 when a file is missing
or not a notebook.
"""

from __future__ import annotations

import argparse
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

    @property
    def score(self) -> int:
        return sum(exercise.points for exercise in self.exercises)

    def table(self) -> str:
        width = max([len("exercise")] + [len(e.name) for e in self.exercises])
        lines = [
            f"Grading {self.path.name} (ran in {self.seconds:.0f} s)",
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


def run_notebook(path: Path, timeout: int = 1200):
    """Execute a copy of the notebook in a temporary directory; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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


def collect(nb, path: Path, seconds: float) -> Report:
    """Read the verdict of every check cell (and the errors of other cells) from outputs."""
    report = Report(path=path, seconds=seconds)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        errors = _errors(outputs)
        verdicts = [m for line in _text(outputs).splitlines() if (m := _VERDICT.match(line))]
        is_check = bool(_CHECK_CALL.search(cell.source))
        if is_check and verdicts:
            for symbol, name, rest in (m.groups() for m in verdicts):
                status = {PASS: "passed", FAIL: "failed", TODO: "not answered"}[symbol]
                detail = rest if symbol == FAIL else ""
                report.exercises.append(Exercise(number, name, status, detail))
        elif is_check:
            name = _CHECK_CALL.search(cell.source).group(0).rstrip("( ")
            detail = errors[0] if errors else "the cell printed no verdict"
            report.exercises.append(Exercise(number, name, "no verdict", detail))
        expected_error = cell.source.lstrip().startswith("# NBVAL_RAISES_EXCEPTION")
        for error in errors:
            if not (error.startswith("NotImplementedError") or is_check or expected_error):
                report.other_errors.append(f"cell {number}: {error}")
    return report


def grade(path: str | Path, timeout: int = 1200) -> Report:
    """Run the notebook at `path` and return its Report."""
    path = Path(path)
    start = time.perf_counter()
    nb = run_notebook(path, timeout=timeout)
    return collect(nb, path, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.grade",
        description="Run handed-in notebooks headless and print each self-check's verdict "
        "and a score (1 point per passed check).",
    )
    parser.add_argument("notebooks", nargs="+", type=Path, help="handed-in .ipynb file(s)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not path.is_file() or path.suffix != ".ipynb":
            print(f"error: {path} is not a notebook file (.ipynb)", file=sys.stderr)
            return 2
    for i, path in enumerate(args.notebooks):
        if i:
            print()
        print(grade(path, timeout=args.timeout).table(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
