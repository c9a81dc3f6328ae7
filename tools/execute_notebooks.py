"""Execute notebooks in place, top to bottom in one fresh kernel, as nbval expects them stored.

    .venv/bin/python tools/execute_notebooks.py notebooks/04_cnn_from_scratch.ipynb [...]

Same as `jupyter nbconvert --execute --inplace`, plus one tidy-up: progress bars (tqdm)
write hundreds of stream fragments separated by carriage returns; they are merged into
the final bar, as the browser shows it, so the stored notebook stays small and readable.
Cells tagged `raises-exception` (the NBVAL_RAISES_EXCEPTION demos) may raise.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, ExecutePreprocessor


def execute(path: Path) -> float:
    """Execute the notebook at `path` in its own folder and store it; return seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    ExecutePreprocessor(timeout=1800, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(path.parent)}}
    )
    seconds = time.perf_counter() - start
    CoalesceStreamsPreprocessor().preprocess(notebook, {})
    nbformat.write(notebook, path)
    return seconds


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in paths:
        path = Path(name)
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"{name} is not a notebook file", file=sys.stderr)
            return 2
        print(f"{path.name}: executed in {execute(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
