"""The benchmark scripts run: each one, through run_all.py, in quick mode (toy sizes).

Only that they finish without a crash and print their ratio lines is tested; times are
never asserted (they belong to `make bench`, on an idle machine, not to a test).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _helpers import ROOT

RUN_ALL = ROOT / "benchmarks" / "run_all.py"

# script -> a line it must print (its first ratio line's label)
EXPECTED = {
    "convolve2d": "convolve2d fft / scipy fftconvolve (49x49)",
    "conv_layer": "conv layer fwd+bwd OPT / tf.nn.conv2d tf.function",
    "cnn_epoch": "CNN epoch ours on one thread / Keras on all cores, no progress output",
    "memory": "memory peak of one training step / largest im2col buffer",
    "profile_epoch": "CNN epoch on one thread / its matrix products at numpy's matmul speed",
    "adam": "Adam update ours / textbook form",
    "numpy_floor": "training step, fused numpy / course_utils (one thread)",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_benchmark_runs_in_quick_mode_and_prints_its_ratios(name):
    env = dict(os.environ, BENCH_QUICK="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        # --keep-openblas-env: tests run in the machine's environment as it is (run_all.py
        # would otherwise drop OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the benchmarks)
        [sys.executable, str(RUN_ALL), "--keep-openblas-env", name], cwd=ROOT, env=env,
        capture_output=True,
        text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "=== summary" in output, output[-3000:]
    summary = output.split("=== summary", 1)[1]
    assert EXPECTED[name] in summary, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def test_run_all_exits_non_zero_on_an_unknown_benchmark():
    result = subprocess.run(
        [sys.executable, str(RUN_ALL), "no-such-benchmark"], cwd=ROOT, capture_output=True,
        text=True, timeout=60, check=False,
    )
    assert result.returncode != 0
    assert "no benchmark matches" in result.stdout
