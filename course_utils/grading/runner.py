"""Inside the sandbox: run the selected cells of a hand-in and its probe cells, in one kernel.

    python -m course_utils.grading.runner /job /scratch FD

reads /job/job.json (read-only in the box, written by the grader):

    {"handin": "handin.ipynb", "cells": [indices of the code cells to run, in order],
     "preamble": "import numpy as np ...", "probes": ["probe source", ...],
     "cell_timeout": seconds, "budgets": {"cell index": seconds},
     "outputs": {"file name in /scratch/out": byte cap}, "notebook_cap": bytes}

and runs the preamble, those cells and the probes with nbclient (errors recorded, never
fatal; a cell that runs past its time, `budgets` or else `cell_timeout`, is interrupted
and the next one runs). It reports on fd FD, a pipe only the grader reads (see `channel`):
"hello" when it starts, "kernel" once the kernel answers (before any student code), then
"cells" (each cell's measured seconds and whether it was interrupted), every answer file
the probes wrote (read as hostile: `channel.read_regular`), the executed notebook, "end".
Everything this process and its kernel write is untrusted data to the grader.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from course_utils.grading import channel


def _not_dumpable() -> None:
    """No process of the same user (the student's kernel) may ptrace this one or read its memory."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)     # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def main(job_folder: Path, scratch: Path, fd: int) -> int:
    _not_dumpable()
    os.set_inheritable(fd, False)      # the kernel (the student's code) never gets it
    report = os.fdopen(fd, "wb", buffering=0)
    report.write(channel.frame("hello", b""))
    job = json.loads((job_folder / "job.json").read_text(encoding="utf-8"))
    handin = nbformat.read(job_folder / job["handin"], as_version=4)
    (scratch / "out").mkdir(exist_ok=True)
    (scratch / "work").mkdir(exist_ok=True)
    cells = [nbformat.v4.new_code_cell(job["preamble"])]
    cells += [nbformat.v4.new_code_cell(handin.cells[i].source) for i in job["cells"]]
    cells += [nbformat.v4.new_code_cell(source) for source in job["probes"]]
    origin = [None] + list(job["cells"]) + [None] * len(job["probes"])
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    client = NotebookClient(nb, timeout=job["cell_timeout"], kernel_name="python3",
                            allow_errors=True, interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(scratch / "work")}})
    timings = []
    with client.setup_kernel():
        report.write(channel.frame("kernel", b""))
        client.reset_execution_trackers()
        for index, cell in enumerate(nb.cells):
            limit = job["budgets"].get(str(origin[index]), job["cell_timeout"])
            client.timeout = limit
            start = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                timings.append({"cell": origin[index], "seconds": time.monotonic() - start,
                                "interrupted": False, "died": True})
                break
            seconds = time.monotonic() - start
            timings.append({"cell": origin[index], "seconds": seconds,
                            "interrupted": seconds >= limit})
    report.write(channel.frame("cells", json.dumps(timings).encode()))
    for name, cap in job["outputs"].items():
        try:
            data = channel.read_regular(scratch / "out", name, cap)
        except FileNotFoundError:
            continue
        except (channel.Refused, OSError) as error:
            report.write(channel.frame(name + ".refused", str(error)[:300].encode()))
            continue
        report.write(channel.frame(name, data))
    executed = nbformat.writes(nb).encode()
    if len(executed) <= job["notebook_cap"]:
        report.write(channel.frame("executed.ipynb", executed))
    report.write(channel.frame("end", b""))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
