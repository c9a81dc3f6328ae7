"""Shared helpers of the benchmark scripts: timing, the ratio lines, quick mode, machine facts.

Every benchmark times our code AND a reference (scipy, TensorFlow, Keras) in the same
process, so both see the same machine, the same BLAS and the same two threads, and
prints the ratio ours / reference (or a speed-up) with the goal it is measured against.
Benchmarks print; they never fail on a slow number (timings are noisy), only on a crash.

BENCH_QUICK=1 shrinks every problem to a toy size so that tests/test_benchmarks_smoke.py
can prove in seconds that the scripts run; its numbers mean nothing.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def best_time(func: Callable[[], object], repeat: int = 5, min_run: float = 0.05,
              budget: float = 3.0) -> float:
    """Seconds per call of func(): the minimum over `repeat` runs (timeit's rule).

    One warm-up call first (caches, lazy imports, TensorFlow tracing). A run repeats the
    call until it lasts at least `min_run` seconds, so that fast functions are not
    measured at the resolution of the clock. Slow functions get fewer repeats, so that
    the whole measurement stays near `budget` seconds. The minimum is the least noisy
    estimate of what the code costs: every other run was slowed by something else.
    """
    start = time.perf_counter()
    func()
    first = time.perf_counter() - start
    if QUICK:
        return max(first, 1e-9)
    number = max(1, int(min_run / max(first, 1e-9)))
    repeat = max(1, min(repeat, int(budget / max(first * number, 1e-9))))
    best = first
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def best_times(funcs: dict[str, Callable[[], object]], rounds: int = 7, min_run: float = 0.05,
               budget: float = 8.0) -> dict[str, float]:
    """Seconds per call of each function, timed in interleaved rounds; minimum per function.

    Every round times every function once (each for at least `min_run` seconds), so a
    slow spell of the machine hits all of them alike and their RATIOS stay meaningful
    even when the absolute times drift. Rounds stop early when `budget` seconds are used.
    """
    numbers, best = {}, {}
    for name, func in funcs.items():  # warm-up call, and how many calls make min_run
        start = time.perf_counter()
        func()
        first = max(time.perf_counter() - start, 1e-9)
        numbers[name], best[name] = max(1, int(min_run / first)), first
    if QUICK:
        return best
    start_all = time.perf_counter()
    for _ in range(rounds):
        for name, func in funcs.items():
            start = time.perf_counter()
            for _ in range(numbers[name]):
                func()
            best[name] = min(best[name], (time.perf_counter() - start) / numbers[name])
        if time.perf_counter() - start_all > budget:
            break
    return best


def ratio_line(label: str, ratio: float, goal: float | None = None, better: str = "<=") -> str:
    """One result line, e.g. 'convolve2d fft / scipy fftconvolve (49x49): 1.12x  (goal <= 1.5) OK'.

    better="<=": the goal is met when ratio <= goal (ours / reference, a slow-down);
    better=">=": met when ratio >= goal (a speed-up). goal=None: information only.
    """
    text = f"{label}: {ratio:.3g}x" if ratio < 100 else f"{label}: {ratio:,.0f}x"
    if goal is None:
        return text
    met = ratio <= goal if better == "<=" else ratio >= goal
    verdict = "OK" if met else "MISSED"
    if QUICK:
        verdict = "(quick mode: not meaningful)"
    return f"{text}  (goal {better} {goal:g}) {verdict}"


def ms(seconds: float) -> str:
    """Seconds as a short millisecond string for tables."""
    return f"{seconds * 1e3:9.3f} ms"


def machine_facts() -> str:
    """One paragraph on what the numbers depend on: CPU count, BLAS kernel and threads."""
    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs"
        + ("  [BENCH_QUICK=1: toy sizes, numbers not meaningful]" if QUICK else "")
    ]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            lines.append(
                f"{pool.get('internal_api')} {pool.get('version')}: kernel "
                f"{pool.get('architecture')}, {pool.get('num_threads')} threads"
            )
    except ImportError:  # threadpoolctl comes with scikit-learn; only the report needs it
        lines.append("threadpoolctl not installed: BLAS kernel unknown")
    lines.append(load_line())
    openblas = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    lines.append(
        "OPENBLAS_* environment: "
        + (", ".join(f"{k}={v}" for k, v in sorted(openblas.items())) or "none set")
    )
    return "\n".join(lines)


def load_average() -> float | None:
    """The system's load average over the last minute (None where the system has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None


def load_line() -> str:
    """The load average beside the number of CPUs: other programs' share of the machine.

    A reference that uses all cores (Keras, TensorFlow) loses more to other programs than
    our code on one thread does, so on a busy machine a ratio ours / reference looks
    better than it is: read it with this line (and busy_warning) beside it.
    """
    load = load_average()
    if load is None:
        return "load average: unknown on this system"
    return f"load average (1 min): {load:.2f} on {os.cpu_count()} CPUs"


def busy_warning() -> str | None:
    """A warning when the machine was busier than this benchmark alone makes it, else None.

    The benchmark itself keeps up to all cores busy (Keras), so a 1-minute load average
    above the number of CPUs means other programs shared them: they slow an all-core
    reference more than our one thread, and the ratios against it flatter us.
    """
    load, cpus = load_average(), os.cpu_count() or 1
    if load is None or load <= cpus:
        return None
    return (f"  WARNING: load average {load:.2f} on {cpus} CPUs while measuring: other programs "
            "shared the cores, which slows an all-core reference more than our one thread; "
            "the ratios against Keras above are flattered. Measure again on an idle machine.")


def header(title: str) -> None:
    """Print the benchmark's title and the machine facts, flushed (run_all streams them)."""
    print(f"\n=== {title} ===")
    print(machine_facts())
    sys.stdout.flush()
