#!/usr/bin/env python3
"""The stored notebooks as a student runs them: answers replaced by nbgrader's stubs.

    .venv/bin/python tools/student_run.py OUT_DIR [notebooks/NN_name.ipynb ...]

writes OUT_DIR/NN_name.ipynb for each notebook (default: all): nbgrader's own
ClearSolutions (the preprocessor of `make homework`) turns every answer into
`# YOUR CODE HERE / raise NotImplementedError()`; every other cell and every stored output
stays. The answer cells and their check cells are tagged `nbval-ignore-output` (a stub
prints "not answered yet" where the solution printed a pass); an answer cell whose stub raises
at its top level (a model exercise's training cell) is tagged `raises-exception`. `make nbval-portable` runs
these under another processor's BLAS kernel: one execution shows both that the outputs
reproduce there and that a student's copy runs from top to bottom with nothing answered.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearSolutions

ROOT = Path(__file__).resolve().parents[1]
STUB_AT_TOP_LEVEL = "raise NotImplementedError()"


def student_run(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb, _ = ClearSolutions().preprocess(nb, {"language": "python"})
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            tags = cell.metadata.setdefault("tags", [])
            if "nbval-ignore-output" not in tags:
                tags.append("nbval-ignore-output")
            # A model exercise trains at the cell's top level, so its stub raises when run
            # (a function's stub raises only when called): the unanswered copy's one error.
            if meta.get("solution") and STUB_AT_TOP_LEVEL in cell.source.splitlines():
                tags.append("raises-exception")
    return nb


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in argv[1:]] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        nbformat.write(student_run(path), out / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
