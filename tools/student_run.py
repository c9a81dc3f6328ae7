#!/usr/bin/env python3
"""The stored notebooks as a student runs them: answers replaced by nbgrader's stubs.

    .venv/bin/python tools/student_run.py OUT_DIR [notebooks/NN_name.ipynb ...]

writes OUT_DIR/NN_name.ipynb for each notebook (default: all): nbgrader's own
ClearSolutions (the preprocessor of `make homework`) turns every answer into
`# YOUR CODE HERE / raise NotImplementedError()`; every other cell and every stored output
stays. The answer cells and their check cells are tagged `nbval-ignore-output` (a stub
prints "not answered yet" where the solution printed a pass). `make nbval-portable` runs
these under another processor's BLAS kernel: one execution shows both that the outputs
reproduce there and that a student's copy runs from top to bottom with nothing answered.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearSolutions

ROOT = Path(__file__).resolve().parents[1]


def student_run(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb, _ = ClearSolutions().preprocess(nb, {"language": "python"})
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            tags = cell.metadata.setdefault("tags", [])
            if "nbval-ignore-output" not in tags:
                tags.append("nbval-ignore-output")
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
