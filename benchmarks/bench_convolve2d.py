"""Every convolve2d method against scipy.signal on the sample photo (427 x 640, grey).

Kernels: the Sobel 3x3 (edges) and a Gaussian with sigma = 6 cut at 4 sigma (49 x 49).
Both are separable (rank 1), so every method applies. Mode "same", as for a photo filter.

Goals (issue "Fast convolution"):
  best method >= 100x faster than the naive loop, for both kernels;
  method="direct" faster than scipy.signal.convolve2d for 3x3;
  method="fft" within 1.5x of scipy.signal.fftconvolve;
  method="auto" never more than 1.2x the best method.

The naive loop is timed on a band of rows and extrapolated to the whole photo: its cost
is the same for every output pixel, so time per pixel x pixels is what the full run
would take (tens of seconds to minutes otherwise).

Run: .venv/bin/python benchmarks/bench_convolve2d.py   (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import scipy.signal
from _common import QUICK, best_time, best_times, header, ms, ratio_line

from course_utils.convolution import convolve2d
from course_utils.data import load_photo

METHODS = ("direct", "separable", "fft", "auto")


def sobel() -> np.ndarray:
    """Horizontal-gradient Sobel kernel (rank 1: [1, 2, 1]^T times [1, 0, -1])."""
    return np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def gaussian(sigma: float, radius: int) -> np.ndarray:
    """Normalised (2 radius + 1)^2 Gaussian kernel, the outer product of two 1D Gaussians."""
    x = np.arange(-radius, radius + 1, dtype=float)
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def naive_seconds(image: np.ndarray, kernel: np.ndarray, budget: float = 1.5) -> float:
    """Extrapolated seconds of method="naive" on the whole image (see module docstring)."""
    height = image.shape[0]
    start = time.perf_counter()
    convolve2d(image[:1], kernel, mode="same", method="naive")  # one row, to size the band
    per_row = time.perf_counter() - start
    rows = int(min(height, max(1, budget / max(per_row, 1e-9))))
    if QUICK:
        rows = 1
    start = time.perf_counter()
    convolve2d(image[:rows], kernel, mode="same", method="naive")
    seconds = time.perf_counter() - start
    return seconds * height / rows


def main() -> None:
    header("convolve2d: every method vs scipy.signal on the sample photo")
    image = load_photo(grey=True)
    kernels = {"3x3": sobel(), "49x49": gaussian(6.0, 24)}
    if QUICK:
        image = image[:40, :50]
        kernels = {"3x3": sobel(), "49x49": gaussian(6.0, 24)[20:29, 20:29]}
    print(f"image {image.shape[0]}x{image.shape[1]} float64, mode='same'")

    lines = []
    for name, kernel in kernels.items():
        reference = scipy.signal.convolve2d(image, kernel, mode="same")
        agree = all(
            np.allclose(convolve2d(image, kernel, mode="same", method=m), reference,
                        rtol=1e-9, atol=1e-8)
            for m in METHODS
        )
        funcs = {m: (lambda m=m, k=kernel: convolve2d(image, k, mode="same", method=m))
                 for m in METHODS}
        funcs["scipy fftconvolve"] = lambda k=kernel: scipy.signal.fftconvolve(image, k, "same")
        if name == "3x3":  # 0.7 s per call at 49x49: timed alone below
            funcs["scipy convolve2d"] = lambda k=kernel: scipy.signal.convolve2d(image, k, "same")
        seconds = {"naive (extrapolated)": naive_seconds(image, kernel)}
        seconds.update(best_times(funcs))
        if name != "3x3":
            seconds["scipy convolve2d"] = best_time(
                lambda k=kernel: scipy.signal.convolve2d(image, k, mode="same"), repeat=3
            )
        print(f"\nkernel {name}: every method equals scipy.signal.convolve2d: {agree}")
        for label, value in seconds.items():
            print(f"  {label:22s}{ms(value)}")
        sys.stdout.flush()

        best_method = min(("direct", "separable", "fft"), key=seconds.get)
        best = seconds[best_method]
        tag = f"({name})"
        lines += [
            ratio_line(f"convolve2d best ({best_method}) speed-up over naive {tag}",
                       seconds["naive (extrapolated)"] / best, 100, ">="),
            ratio_line(f"convolve2d direct / scipy convolve2d {tag}",
                       seconds["direct"] / seconds["scipy convolve2d"],
                       1.0 if name == "3x3" else None),
            ratio_line(f"convolve2d fft / scipy fftconvolve {tag}",
                       seconds["fft"] / seconds["scipy fftconvolve"], 1.5),
            ratio_line(f"convolve2d auto / best ({best_method}) {tag}",
                       seconds["auto"] / best, 1.2),
        ]
        if not agree:
            lines.append(f"WARNING: a method disagrees with scipy for {name}")
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
