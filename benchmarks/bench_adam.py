"""Adam's update of the benchmark network's 8 parameter arrays: ours against the textbook form.

course_utils.schedulers.Adam computes Kingma & Ba's formulas rearranged (four temporary
arrays per call instead of fourteen, see its update_change); the textbook form below is
the code it replaced, line for line the formulas of Adam's docstring. Both are timed on
the gradients of the network of bench_cnn_epoch.py (conv 1x8x3x3, conv 8x16x3x3, dense
784x64, dense 64x10 and their biases; float32), 40 steps = one epoch of 2,000 images in
batches of 50, in interleaved rounds (_common.best_times), and checked equal up to rounding.
Then whole training epochs of that network (bench_cnn_epoch.py's, one thread), once with
our Adam and once with the textbook form in every parameter's place, interleaved: what
the change is worth inside CNN.fit, measured so that the machine's load hits both alike.

Run: .venv/bin/python benchmarks/bench_adam.py   (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import numpy as np
from _common import QUICK, best_times, header, ratio_line
from bench_cnn_epoch import BATCH, N_IMAGES, mnist_subset, our_cnn
from threadpoolctl import threadpool_limits

from course_utils.schedulers import Adam

SHAPES = [(1, 8, 3, 3), (8,), (8, 16, 3, 3), (16,), (784, 64), (64,), (64, 10), (10,)]
STEPS = 40


class TextbookAdam:
    """Adam as the docstring writes it: a new array for every term."""

    def __init__(self, eta: float, rho: float, rho2: float) -> None:
        self.eta, self.rho, self.rho2, self.delta = eta, rho, rho2, 1e-8
        self.moment = self.second = None
        self.t = 0

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        dtype = gradient.dtype.type
        moment = np.zeros_like(gradient) if self.moment is None else self.moment
        second = np.zeros_like(gradient) if self.second is None else self.second
        self.t += 1
        self.moment = dtype(self.rho) * moment + dtype(1 - self.rho) * gradient
        self.second = dtype(self.rho2) * second + dtype(1 - self.rho2) * gradient * gradient
        moment_corrected = self.moment / dtype(1 - self.rho**self.t)
        second_corrected = self.second / dtype(1 - self.rho2**self.t)
        return dtype(self.eta) * moment_corrected / (np.sqrt(second_corrected) + dtype(self.delta))


def main() -> None:
    header("Adam update of the benchmark network's 8 parameter arrays, one epoch (40 steps)")
    rng = np.random.default_rng(0)
    gradients = [rng.normal(size=shape).astype(np.float32) for shape in SHAPES]

    def epoch(cls):
        schedulers = [cls(1e-3, 0.9, 0.999) for _ in SHAPES]

        def run():
            for _ in range(STEPS):
                changes = [s.update_change(g) for s, g in zip(schedulers, gradients)]
            return changes
        return run

    ours, textbook = epoch(Adam), epoch(TextbookAdam)
    for a, b in zip(ours(), textbook()):  # after 40 (ours) and 40 (textbook) steps each
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
    times = best_times({"ours": epoch(Adam), "textbook": epoch(TextbookAdam)})
    for name, seconds in times.items():
        print(f"  {name:10s} {seconds * 1e3:7.2f} ms per epoch (40 steps x 8 arrays)")
    print(ratio_line("Adam update ours / textbook form (8 arrays, 40 steps)",
                     times["ours"] / times["textbook"]))
    epochs()


def epochs() -> None:
    """One training epoch with our Adam and with the textbook form, interleaved."""
    X, t = mnist_subset()
    models = {"ours": our_cnn(), "textbook": our_cnn()}
    for cnn in models.values():
        cnn.build(X.shape[1:])  # the weights and the schedulers, the same for both
    textbook = models["textbook"]
    # benchmark-only: the textbook form in every parameter's place (it has no state_dict,
    # so fit's roll-back leaves it alone, which a run that does not diverge never needs)
    textbook._param_schedulers = [(layer, key, TextbookAdam(1e-3, 0.9, 0.999))
                                  for layer, key, _ in textbook.parameter_schedulers]

    def epoch(cnn):
        return lambda: cnn.fit(X, t, epochs=1, batches=N_IMAGES // BATCH, progress=False)

    with threadpool_limits(limits=1, user_api="blas"):
        times = best_times({name: epoch(cnn) for name, cnn in models.items()},
                           rounds=3 if QUICK else 7, budget=20.0)
    for name, seconds in times.items():
        print(f"  one epoch, Adam {name:9s} {seconds * 1e3:7.1f} ms")
    print(ratio_line("CNN epoch on one thread with our Adam / with the textbook form",
                     times["ours"] / times["textbook"]))


if __name__ == "__main__":
    main()
