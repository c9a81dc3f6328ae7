"""Inside the sandbox: run the selected cells of a hand-in and its probe cells, in one kernel.

    python -m course_utils.grading.runner /scratch

reads /scratch/job.json, written by the grader:

    {"handin": "handin.ipynb", "cells": [indices of the code cells to run, in order],
     "preamble": "import numpy as np ...", "probes": ["probe source", ...],
     "cell_timeout": seconds}

and writes /scratch/executed.ipynb: the preamble, those cells and the probes, executed with
nbclient (errors recorded, never fatal; a cell that runs out of time is interrupted and
the next one runs). The probe cells write /scratch/out/<grade_id>.json. Everything this
process and its kernel write is untrusted data to the grader.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(scratch: Path) -> None:
    job = json.loads((scratch / "job.json").read_text(encoding="utf-8"))
    handin = nbformat.read(scratch / job["handin"], as_version=4)
    cells = [nbformat.v4.new_code_cell(job["preamble"])]
    cells += [nbformat.v4.new_code_cell(handin.cells[i].source) for i in job["cells"]]
    cells += [nbformat.v4.new_code_cell(source) for source in job["probes"]]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    client = NotebookClient(nb, timeout=job["cell_timeout"], kernel_name="python3",
                            allow_errors=True, interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(scratch / "work")}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, scratch / "executed.ipynb")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
