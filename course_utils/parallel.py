"""Threads for CNN.fit and CNN.predict: everything the training loop needs only for speed.

    passes = Passes(layers, split=False)         # or split=True: two threads
    prediction = passes.forward_backward(forward_backward, X_batch, t_batch)
    output = passes.forward(forward, X)          # in chunks of PREDICT_BATCH_SIZE images
    passes.close()

Passes runs the functions it is given (cnn.forward and cnn.forward_backward) on the
model's layers. With split=True a mini-batch of at least PARALLEL_MIN_BATCH images is cut
in two halves whose passes run at the same time, the second on a worker thread through
shallow copies of the layers, and the gradients are combined exactly; the prediction
chunks are shared between the two threads the same way. Whether that pays depends on
the machine (free cores, memory bandwidth, what else runs): notebook 06, section 7,
measures it, and `make bench` prints it. fit therefore keeps batches whole by default.

Every function here runs its matrix products on one BLAS thread (one_blas_thread).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    ThreadpoolController = None

__all__ = [
    "PARALLEL_MIN_BATCH", "PREDICT_BATCH_SIZE", "Passes", "available_cores", "one_blas_thread",
]

#: images per forward pass in predict/predict_proba and when computing scores (bounds memory)
#: 64, near a training batch: smaller working arrays stay closer to the CPU caches (scoring
#: measured ~7% faster than with 256 on MNIST) and a fit's peak memory stays near that of a
#: training step instead of several times more (benchmarks/bench_memory.py)
PREDICT_BATCH_SIZE = 64
#: Passes(split=True) splits mini-batches of at least this many images in two halves.
#: Measured on 2 cores (notebook 06's network): batches of 16 ran slower split than whole,
#: 32 faster. Changing it changes which batches are split, hence the rounding of results.
PARALLEL_MIN_BATCH = 32


@functools.cache
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, scanned once (see one_blas_thread)."""
    return ThreadpoolController()


def one_blas_thread():
    """Run the matrix products of one mini-batch on a single BLAS thread.

    They are small, so several BLAS threads spend more time waiting for each other than
    computing -- dramatically so when other programs share the cores (fit ran 10x faster
    with one thread on a busy 2-core machine). One thread also makes results independent
    of the number of cores.

    threadpoolctl finds the BLAS libraries by scanning every library the process has
    loaded: 3 ms, 8 ms with TensorFlow loaded, per fit and again per validation pass. So
    the scan runs once, at the first call, and is kept; NumPy's BLAS, the one our matrix
    products use, is loaded with NumPy, long before.
    """
    if ThreadpoolController is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")


def available_cores() -> int:
    """Cores this process may run on (os.sched_getaffinity where the system has it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class Passes:
    """Forward and backward passes of a model's layers, on one thread or split over two.

    layers: the model's layers (the worker uses shallow copies of them, see SecondHalf).
    split: False runs everything on the calling thread; True gives the second half of
    each large enough mini-batch, and of the prediction chunks, to a worker thread.
    """

    def __init__(self, layers: list, split: bool = False) -> None:
        self.layers = layers
        self.worker = SecondHalf(layers) if split else None

    def forward_backward(self, func: Callable, X: np.ndarray, t: np.ndarray) -> np.ndarray:
        """func(layers, X, t) -> prediction; fills every layer's grads (for the whole batch).

        Split in halves of n1 and n2 images: the cost is a mean over images, so each half's
        gradient g1, g2 is the mean over its own images, and the whole batch's gradient is
        exactly (n1 * g1 + n2 * g2) / (n1 + n2).
        """
        n_images = X.shape[0]
        if self.worker is None or n_images < PARALLEL_MIN_BATCH:
            return func(self.layers, X, t)
        n1 = (n_images + 1) // 2
        future = self.worker.start(func, X[n1:], t[n1:])
        first = func(self.layers, X[:n1], t[:n1])
        second = future.result()  # re-raises what the worker raised
        w1, w2 = n1 / n_images, (n_images - n1) / n_images
        for layer, twin in zip(self.layers, self.worker.layers):
            layer.grads = {
                key: w1 * gradient + w2 * twin.grads[key] for key, gradient in layer.grads.items()
            }
        return np.concatenate([first, second])

    def forward(self, func: Callable, X: np.ndarray) -> np.ndarray:
        """func(layers, chunk) for chunks of PREDICT_BATCH_SIZE images, concatenated.

        Split: the second half of the chunks runs on the worker while this thread does the
        first half. The chunks are the same either way, and so are the results, bit for
        bit. Each chunk is its own task, so Ctrl-C cancels the waiting ones.
        """
        chunks = [X[start : start + PREDICT_BATCH_SIZE]
                  for start in range(0, X.shape[0], PREDICT_BATCH_SIZE)]
        with one_blas_thread():
            if self.worker is None or len(chunks) < 2:
                return np.concatenate([func(self.layers, chunk) for chunk in chunks], axis=0)
            half = (len(chunks) + 1) // 2
            futures = [self.worker.start(func, chunk) for chunk in chunks[half:]]
            outputs = [func(self.layers, chunk) for chunk in chunks[:half]]
            outputs += [future.result() for future in futures]
        return np.concatenate(outputs, axis=0)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


class SecondHalf:
    """A worker thread that runs passes through copies of the model's layers.

    The copies are shallow: a copy shares its layer's `params` dict, so it always sees the
    current weights (a step rebinds the arrays in that dict), but it keeps its own saved
    activations and `grads`, so the two threads never overwrite each other's. (A shallow
    copy also shares methods replaced on the layer *instance*, bound to the original layer:
    to wrap a layer's method, e.g. for timing, patch its class.) NumPy releases the GIL
    inside its loops and matrix products, so the two threads really compute at the same
    time, on two cores. With only one core available, the passes run right away on the
    calling thread instead: the same numbers, without a thread.
    """

    def __init__(self, layers: list) -> None:
        self._originals = layers
        self.layers: list = []
        self._executor: ThreadPoolExecutor | None = None

    def start(self, func: Callable, *args) -> Future:
        """Start func(copies of the layers, *args) on the worker; returns its Future.

        The worker computes under the caller's np.errstate (which is per thread).
        """
        if not self.layers:
            # Copied at the first use: a copy holds on to the arrays its layer saved in its
            # last forward pass, so copies that never run would only waste memory.
            self.layers = [copy.copy(layer) for layer in self._originals]
        if available_cores() < 2:
            # run it now (an error is raised here, not by future.result(): same handling)
            future = Future()
            future.set_result(self._run(np.geterr(), func, args))
            return future
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="CNN")
        return self._executor.submit(self._run, np.geterr(), func, args)

    def _run(self, errstate: dict, func: Callable, args: tuple):
        with np.errstate(**errstate):
            return func(self.layers, *args)

    def close(self) -> None:
        """Cancel the passes not started yet, wait for a running one (after Ctrl-C in the
        other thread) and end the thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self.layers = []
