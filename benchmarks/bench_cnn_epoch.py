"""One training epoch of our float32 CNN against its Keras twin.

Architecture (both): conv 3x3, 8 maps, "same", LRELU -> max pool 2x2 stride 2 -> conv 3x3,
16 maps, "same", LRELU -> max pool 2x2 stride 2 -> flatten -> dense 64 LRELU -> dense 10
softmax; categorical cross-entropy, Adam(1e-3, 0.9, 0.999). Data: 2,000 MNIST images (a
seeded random subset of course_utils.data.load_mnist, all ten classes, float32), batches
of 50 (40 steps per epoch). Same architecture, data, batch size and dtype; the weights'
random initial values differ (that costs nothing either way).

Each side is timed twice: as a user runs it in a notebook, with its progress output (our
CNN.fit(..., progress=True) with its tqdm bar and per-epoch scores, Keras
model.fit(..., verbose=1) with its progress bar), and without it (progress=False,
verbose=0): the arithmetic, not the printing. The bars are written into memory buffers, so
they cost what they cost without flooding this output. Both report the training scores the
same way: means over the epoch's batches, from the forward passes the steps make anyway.
Each fit runs EPOCHS epochs after a warm-up fit (Keras traces its graph there); seconds per
epoch = fit time / EPOCHS, best of REPEATS fits, all fits alternating.

Keras uses all cores (TensorFlow splits each operation over its threads). Ours runs on one
thread (the default: whole batches, BLAS on one thread) and with fit(parallel=True) (each
batch split in two halves on two threads). The goal: ours on one thread, without progress
output, at most 0.7 of Keras on all cores; and two threads at most 0.6 of one thread
(issue 34; if the split is slower than one thread, keep the default).

A breakdown of our one-thread epoch (each layer's forward and backward, the optimiser, the
training scores and the rest) says where the time goes.

Run: .venv/bin/python benchmarks/bench_cnn_epoch.py   (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _common import QUICK, busy_warning, header, load_line, ratio_line

from course_utils.activations import LRELU, LRELU_SLOPE, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostCrossEntropy
from course_utils.data import load_mnist, onehot
from course_utils.schedulers import Adam

N_IMAGES, BATCH, EPOCHS, REPEATS = (200, 50, 1, 1) if QUICK else (2000, 50, 3, 7)
ETA = 1e-3


def mnist_subset() -> tuple[np.ndarray, np.ndarray]:
    """N_IMAGES MNIST images (float32, N, 1, 28, 28) and one-hot targets, all ten classes.

    load_mnist's images are sorted by class, so we draw a seeded random subset.
    """
    X, labels = load_mnist(dtype=np.float32)
    chosen = np.random.default_rng(0).permutation(len(X))[:N_IMAGES]
    return X[chosen], onehot(labels[chosen], 10, dtype=np.float32)


def our_cnn(seed: int = 0) -> CNN:
    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=ETA, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution2DLayer(input_channels=1, feature_maps=8, kernel_height=3, kernel_width=3,
                               pad="same", act_func=LRELU)
    cnn.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2, pooling="max")
    cnn.add_Convolution2DLayer(input_channels=8, feature_maps=16, kernel_height=3, kernel_width=3,
                               pad="same", act_func=LRELU)
    cnn.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2, pooling="max")
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(64, act_func=LRELU)
    cnn.add_OutputLayer(10, output_func=softmax)
    return cnn


def keras_twin(seed: int = 0):
    from course_utils.keras_models import keras  # here, so bench_memory never loads TensorFlow

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(8, 3, padding="same"),
        keras.layers.LeakyReLU(negative_slope=LRELU_SLOPE),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, padding="same"),
        keras.layers.LeakyReLU(negative_slope=LRELU_SLOPE),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64),
        keras.layers.LeakyReLU(negative_slope=LRELU_SLOPE),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=ETA, beta_1=0.9, beta_2=0.999),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def seconds_per_epoch(fits: dict) -> dict[str, float]:
    """Per-epoch seconds of each fit(epochs) function: best of REPEATS fits of EPOCHS epochs.

    One warm-up fit each first; then the fits alternate (ours, Keras, ours, ...), so a
    slow spell of the machine hits both alike.
    """
    for fit in fits.values():
        fit(1)
    best = dict.fromkeys(fits, np.inf)
    for _ in range(REPEATS):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit(EPOCHS)
            best[name] = min(best[name], (time.perf_counter() - start) / EPOCHS)
    return best


def main() -> None:
    from course_utils.keras_models import keras, tf

    header("one training epoch: our CNN.fit vs its Keras twin (float32)")
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}: intra-op threads "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default (all cores)'}")
    X, t = mnist_subset()
    batches = N_IMAGES // BATCH
    print(f"{N_IMAGES} MNIST images, batch {BATCH} ({batches} steps per epoch), "
          f"{EPOCHS} epochs per fit, best of {REPEATS}")

    cnn = our_cnn()
    model = keras_twin()
    X_nhwc = np.ascontiguousarray(X.transpose(0, 2, 3, 1))
    sink = io.StringIO()

    def ours(progress, parallel=False):
        def fit(epochs):
            with contextlib.redirect_stderr(sink):
                return cnn.fit(X, t, epochs=epochs, batches=batches, progress=progress,
                               parallel=parallel)
        return fit

    def theirs(verbose):
        def fit(epochs):
            with contextlib.redirect_stdout(sink):
                return model.fit(X_nhwc, t, epochs=epochs, batch_size=BATCH, verbose=verbose)
        return fit

    times = seconds_per_epoch({
        "ours, one thread, progress bar": ours(True),
        "ours, one thread, no progress": ours(False),
        "ours, two threads, no progress": ours(False, parallel=True),
        "Keras, all cores, verbose=1": theirs(1),
        "Keras, all cores, verbose=0": theirs(0),
    })
    scores = cnn.fit(X, t, epochs=1, batches=batches, progress=False)
    for name, seconds in times.items():
        print(f"  {name:32s} {seconds * 1e3:8.1f} ms per epoch")
    print(f"  (our training accuracy in the last epoch: {scores['train_acc'][-1]:.3f})")
    sys.stdout.flush()
    breakdown(cnn, ours(False))
    one_bar, one = times["ours, one thread, progress bar"], times["ours, one thread, no progress"]
    two = times["ours, two threads, no progress"]
    keras_bar, keras = times["Keras, all cores, verbose=1"], times["Keras, all cores, verbose=0"]
    print()
    print(ratio_line(f"CNN epoch ours on one thread / Keras on all cores, no progress output "
                     f"({N_IMAGES} images, batch {BATCH})", one / keras, 0.7))
    print(ratio_line("CNN epoch ours on one thread / Keras on all cores, both with progress bars",
                     one_bar / keras_bar))
    print(ratio_line("CNN epoch ours on two threads (parallel=True) / Keras on all cores, "
                     "no progress output", two / keras))
    print(ratio_line("CNN epoch ours on two threads / ours on one thread (fit(parallel=True) "
                     "pays below 1; issue 34's goal 0.6)", two / one, 0.6))
    print(f"  after the fits: {load_line()}")
    warning = busy_warning()
    if warning:
        print(warning)


def breakdown(cnn: CNN, fit_one_thread) -> None:
    """Where one epoch's time goes, measured inside a real fit on one thread (whole batches:
    with two threads the layers' times overlap and do not add up): each layer's forward and
    backward, the optimiser, the training scores and the rest (shuffling, batch copies,
    divergence checks, progress bar).

    Wraps the model's internal methods with timers (benchmark-only instrumentation, ~1
    microsecond per call) for REPEATS epochs, one fit each, then removes the wrappers. The
    fastest epoch's figures are printed: a single epoch is at the mercy of whatever else
    the machine does meanwhile.
    """
    totals: dict = defaultdict(float)
    wrapped = []

    def wrap(obj, name, key):
        original = getattr(obj, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[key] += time.perf_counter() - start

        setattr(obj, name, timed)
        wrapped.append((obj, name))

    try:
        for index, layer in enumerate(cnn.layers):
            label = f"{index} {type(layer).__name__}"
            wrap(layer, "forward", (label, "forward"))
            wrap(layer, "backward", (label, "backward"))
        for _, _, scheduler in cnn.parameter_schedulers:
            wrap(scheduler, "update_change", "optimiser")
        wrap(cnn, "_batch_error", "scores")
        wrap(cnn, "_n_right", "scores")
    except AttributeError as error:  # the model's internals changed: no breakdown
        print(f"  (no breakdown: {error})")
        return
    total, best = np.inf, {}
    try:
        for _ in range(REPEATS):
            totals.clear()
            start = time.perf_counter()
            fit_one_thread(1)
            seconds = time.perf_counter() - start
            if seconds < total:
                total, best = seconds, dict(totals)
    finally:
        for obj, name in wrapped:
            delattr(obj, name)  # the instance attribute hid the class's method
    totals = defaultdict(float, best)

    print(f"  breakdown of one epoch on one thread ({total * 1e3:.1f} ms, the fastest of "
          f"{REPEATS}, measured inside CNN.fit):")
    accounted = 0.0
    for index, layer in enumerate(cnn.layers):
        label = f"{index} {type(layer).__name__}"
        fwd, bwd = totals[(label, "forward")], totals[(label, "backward")]
        accounted += fwd + bwd
        print(f"    {label:28s} forward {fwd * 1e3:6.1f} ms   backward {bwd * 1e3:6.1f} ms")
    accounted += totals["optimiser"] + totals["scores"]
    print(f"    {'optimiser (Adam, 8 arrays)':28s} {totals['optimiser'] * 1e3:6.1f} ms")
    print(f"    {'training scores (per batch)':28s} {totals['scores'] * 1e3:6.1f} ms")
    rest = total - accounted
    print(f"    {'rest (shuffle, copies, checks)':28s} {rest * 1e3:6.1f} ms "
          f"({rest / total:.0%} of the epoch)")


if __name__ == "__main__":
    main()
