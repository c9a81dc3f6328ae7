"""One training epoch of our float32 CNN against its Keras twin.

Architecture (both): conv 3x3, 8 maps, "same", LRELU -> max pool 2x2 stride 2 -> conv 3x3,
16 maps, "same", LRELU -> max pool 2x2 stride 2 -> flatten -> dense 64 LRELU -> dense 10
softmax; categorical cross-entropy, Adam(1e-3, 0.9, 0.999). Data: 2,000 MNIST images (a
seeded random subset of course_utils.data.load_mnist, all ten classes, float32), batches
of 50 (40 steps per epoch). Same architecture, data, batch size and dtype; the weights'
random initial values differ (that costs nothing either way).

Both are timed as a user runs them: our CNN.fit(..., progress=True) with its tqdm bar and
per-epoch scores, Keras model.fit(..., verbose=1) with its progress bar and accuracy
metric. The bars are written into memory buffers, so they cost what they cost without
flooding this output. Each fit runs EPOCHS epochs after a warm-up fit (Keras traces its
graph there); seconds per epoch = fit time / EPOCHS, best of REPEATS fits, ours and
Keras' fits alternating. Both get this machine's 2 cores (our fit runs BLAS on one
thread by choice: see course_utils/cnn.py).

After the ratio, a breakdown of our epoch (each layer's forward and backward, the
optimiser, the per-epoch scoring pass and the rest) says where the time goes.

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
from _common import QUICK, header, ratio_line

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

    def ours(epochs):
        with contextlib.redirect_stderr(sink):
            return cnn.fit(X, t, epochs=epochs, batches=batches, progress=True)

    def theirs(epochs):
        with contextlib.redirect_stdout(sink):
            return model.fit(X_nhwc, t, epochs=epochs, batch_size=BATCH, verbose=1)

    times = seconds_per_epoch({"ours": ours, "keras": theirs})
    t_ours, t_keras = times["ours"], times["keras"]
    scores = cnn.fit(X, t, epochs=1, batches=batches, progress=False)
    print(f"  our CNN.fit      {t_ours * 1e3:8.1f} ms per epoch "
          f"(train accuracy after {EPOCHS * REPEATS + 2} epochs: {scores['train_acc'][-1]:.3f})")
    print(f"  Keras model.fit  {t_keras * 1e3:8.1f} ms per epoch")
    sys.stdout.flush()
    scoring_share = breakdown(cnn, ours)
    print()
    print(ratio_line("CNN epoch ours / Keras (conv8-pool-conv16-pool-dense64-softmax10, "
                     f"{N_IMAGES} images, batch {BATCH})", t_ours / t_keras, 1.0))
    if scoring_share is not None:
        # Keras reports running means of the batch losses; our fit scores the model after
        # each epoch on all training images, one more forward pass. Without it:
        print(ratio_line("CNN epoch ours without the per-epoch scoring pass / Keras",
                         t_ours * (1 - scoring_share) / t_keras))


def breakdown(cnn: CNN, fit) -> float | None:
    """Where one epoch's time goes, measured inside a real fit: each layer's forward and
    backward, the optimiser, the per-epoch scoring, and the rest (shuffling, batch copies,
    divergence checks, progress bar).

    Wraps the model's internal methods with timers for one epoch (benchmark-only
    instrumentation, ~1 microsecond per call), then removes the wrappers.
    """
    totals: dict = defaultdict(float)
    phase = ["train"]
    wrapped = []

    def wrap(obj, name, key):
        original = getattr(obj, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[key() if callable(key) else key] += time.perf_counter() - start

        setattr(obj, name, timed)
        wrapped.append((obj, name))

    def scoring(*args, **kwargs):
        phase[0] = "score"
        try:
            return score_epoch(*args, **kwargs)
        finally:
            phase[0] = "train"

    try:
        for index, layer in enumerate(cnn.layers):
            label = f"{index} {type(layer).__name__}"
            wrap(layer, "_forward", lambda label=label: (phase[0], label, "forward"))
            wrap(layer, "_backward", (phase[0], label, "backward"))
        for _, _, scheduler in cnn._param_schedulers:
            wrap(scheduler, "update_change", "optimiser")
        score_epoch = cnn._score_epoch
        cnn._score_epoch = scoring
        wrapped.append((cnn, "_score_epoch"))
    except AttributeError as error:  # the model's internals changed: no breakdown
        print(f"  (no breakdown: {error})")
        return None
    try:
        start = time.perf_counter()
        fit(1)
        total = time.perf_counter() - start
    finally:
        for obj, name in wrapped:
            delattr(obj, name)  # the instance attribute hid the class's method

    print(f"  breakdown of one epoch ({total * 1e3:.1f} ms, measured inside CNN.fit):")
    accounted = 0.0
    for index, layer in enumerate(cnn.layers):
        label = f"{index} {type(layer).__name__}"
        fwd, bwd = totals[("train", label, "forward")], totals[("train", label, "backward")]
        accounted += fwd + bwd
        print(f"    {label:28s} forward {fwd * 1e3:6.1f} ms   backward {bwd * 1e3:6.1f} ms")
    score = sum(v for k, v in totals.items() if isinstance(k, tuple) and k[0] == "score")
    optimiser = totals["optimiser"]
    accounted += score + optimiser
    print(f"    {'optimiser (Adam, 8 arrays)':28s} {optimiser * 1e3:6.1f} ms")
    print(f"    {'scoring (forward, all images)':28s} {score * 1e3:6.1f} ms")
    print(f"    {'rest (shuffle, copies, checks)':28s} {(total - accounted) * 1e3:6.1f} ms")
    return score / total


if __name__ == "__main__":
    main()
