"""Run every benchmark (what `make bench` calls) and repeat their ratio lines at the end.

Each script runs in its own Python process, so TensorFlow's threads and tracemalloc of one
cannot disturb another. Their output is streamed as it comes, then every line with a
ratio is printed again as a summary. Exit status: non-zero only when a script crashed;
a missed goal is reported ("MISSED"), not failed: timings are noisy.

Usage: .venv/bin/python benchmarks/run_all.py [--keep-openblas-env] [name ...]
       e.g. `run_all.py convolve2d`
Environment: BENCH_QUICK=1 runs toy sizes (tests/test_benchmarks_smoke.py does).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: some machines (this project's sandbox among them)
set these to steer old OpenBLAS builds away from kernels that once crashed on their CPU.
They make NumPy's current OpenBLAS pick an older, slower kernel (Haswell instead of
SkylakeX here: about 20% on a training epoch). A student's computer does not set them, so
the benchmark processes run without them (this script says so when it removes them);
--keep-openblas-env keeps them. Only the benchmark processes are affected, never the
tests, and every benchmark checks its results against SciPy or TensorFlow before timing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A result line ends in a ratio ("...: 1.12x"), optionally followed by its goal and verdict.
RATIO = re.compile(r": [\d.,]+x(  \(goal .*)?$")
SCRIPTS = [
    "bench_convolve2d.py", "bench_conv_layer.py", "bench_cnn_epoch.py", "bench_memory.py",
    "profile_epoch.py", "bench_adam.py", "bench_numpy_floor.py",
]


OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def main(argv: list[str]) -> int:
    keep_openblas = "--keep-openblas-env" in argv
    argv = [a for a in argv if a != "--keep-openblas-env"]
    chosen = [s for s in SCRIPTS if not argv or any(a in s for a in argv)]
    if not chosen:
        print(f"no benchmark matches {argv}; choose from {SCRIPTS}")
        return 2
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    removed = [f"{k}={env.pop(k)}" for k in OPENBLAS_OVERRIDES if k in env and not keep_openblas]
    if removed:
        print(f"benchmarks run without {', '.join(removed)} (see benchmarks/run_all.py; "
              "--keep-openblas-env keeps them)")
    summary, crashed = [], []
    for script in chosen:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(HERE / script)], cwd=HERE.parent, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for line in process.stdout:
            print(line, end="", flush=True)
            # the ratio lines, and the warnings that say how far to trust them
            if RATIO.search(line) or line.lstrip().startswith("WARNING:"):
                summary.append(line.rstrip())
        if process.wait() != 0:
            crashed.append(script)
        print(f"[{script}: {time.perf_counter() - start:.1f} s]", flush=True)
    print("\n=== summary (ours / reference, or speed-up) ===")
    if removed:
        print(f"(measured without {', '.join(removed)})")
    print("\n".join(summary))
    if crashed:
        print(f"CRASHED: {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
