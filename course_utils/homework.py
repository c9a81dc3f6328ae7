"""What the homework's exercises hand a student: data to work with and runs to repair.

The grader's box holds this module (it has no `course_utils.exercises`, where the cases and
references live), so the notebooks' answer cells may import from here:

- `distort_digits`: the shifts, rotations and noise of the digits the grader judges the
  notebook 05 network on (exercise 3), for augmenting a training set;
- `FAILING_RUN` and `run_configuration`: the failing training run of notebook 05's
  diagnosis exercise, and the run itself (the grader re-runs a repaired configuration with
  it, on digits of its own);
- `dense_sigmoid_forward` and `buggy_dense_backward`: the dense layer of notebook 04's
  diagnosis exercise and its backward pass with two planted bugs.
"""

from __future__ import annotations

import numpy as np


# ----------------------------------------------------------------------------- notebook 04
def dense_sigmoid_forward(X, W, b):
    """A = sigmoid(X @ W + b): X (N, n_in), W (n_in, nodes), b (nodes,) -> A (N, nodes)."""
    return 1.0 / (1.0 + np.exp(-(X @ W + b)))


def buggy_dense_backward(X, W, b, dA):
    """The backward pass of dense_sigmoid_forward as a classmate wrote it. It has two bugs:
    the gradient check finds them (docs/instructor/04_cnn_layers.md names them)."""
    A = dense_sigmoid_forward(X, W, b)
    dZ = dA * sigmoid_derivative(A)
    dW = X.T @ dZ / len(X)
    db = dZ.sum(axis=0)
    dX = dZ @ W.T
    return dX, dW, db


def sigmoid_derivative(z):
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 - s)


# ----------------------------------------------------------------------------- notebook 05
MAX_SHIFT, MAX_DEGREES, NOISE = 2, 15.0, 0.1


def distort_digits(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each digit shifted, rotated and noised as the grader's held-out digits are.

    X: (N, 1, 28, 28) in [0, 1]. Every image gets its own integer shift (dy, dx) in
    [-2, 2], rotation in [-15, 15] degrees (about the centre, linear interpolation) and
    Gaussian noise of standard deviation 0.1; the result is clipped to [0, 1], float32.
    Use it to augment your training set: the grader draws its own distortions from a seed.
    """
    from scipy.ndimage import rotate

    from course_utils.data import shift_images

    X = np.asarray(X, dtype=np.float32)
    out = np.empty_like(X)
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(len(X), 2))
    angles = rng.uniform(-MAX_DEGREES, MAX_DEGREES, size=len(X))
    for n in range(len(X)):
        turned = rotate(X[n, 0], angles[n], reshape=False, order=1, mode="constant")
        out[n, 0] = shift_images(turned, int(shifts[n, 0]), int(shifts[n, 1]))
    out += rng.normal(0.0, NOISE, size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


# The run a student is asked to repair: a small dense network on 1,000 digits. Three things
# are wrong, each one the notebook teaches: raw pixel values 0..255 (inputs not scaled), a
# learning rate past divergence, and validation images drawn from the training images.
FAILING_RUN = {"divide_pixels_by": 1.0, "eta": 2.0, "epochs": 6, "batches": 20,
               "validation": "training"}
RUN_LIMITS = {"epochs": (1, 10), "batches": (1, 50)}   # bound the grader's re-run (seconds)


def run_configuration(config: dict, seed: int) -> dict:
    """Train the run that `config` describes, on digits chosen by seed; what it measured.

    Returns {"train_loss": per-epoch training cross-entropy, "val_acc": the last validation
    accuracy the run reports, "unseen_acc": the accuracy on 1,000 digits it never saw}.
    The data: raw pixels (0..255) of 1,000 training digits; validation: 500 other digits
    ("held_out") or 500 of the training digits ("training").
    """
    from course_utils import CNN, LRELU, Adam, softmax
    from course_utils.data import load_mnist, onehot

    X, y = load_mnist()
    order = np.random.default_rng(seed).permutation(len(y))
    train, held_out, unseen = order[:1000], order[1000:1500], order[1500:2500]
    validation = train[:500] if config["validation"] == "training" else held_out
    raw = X * 255.0
    inputs = raw / float(config["divide_pixels_by"])
    model = CNN(scheduler=Adam(eta=float(config["eta"]), rho=0.9, rho2=0.999), seed=int(seed) % 2**32)
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(32, LRELU)
    model.add_OutputLayer(10, softmax)
    with np.errstate(all="ignore"):
        scores = model.fit(inputs[train], onehot(y[train], 10), epochs=int(config["epochs"]),
                           batches=int(config["batches"]), X_val=inputs[validation],
                           t_val=onehot(y[validation], 10), progress=False)
        guess = model.predict_proba(inputs[unseen]).argmax(axis=1)
    return {"train_loss": np.asarray(scores["train_error"], dtype=float),
            "val_acc": float(np.asarray(scores["val_acc"])[-1]),
            "unseen_acc": float(np.mean(guess == y[unseen]))}
