"""Notebook 07's experiments with Keras: training one CNN, the grid search over learning rate
and regularisation, its heatmap, the binomial error of an accuracy, dead units, and the
losses of single steps.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import finite_array, positive_int
from .keras_builders import build_cnn
from .keras_import import keras, tf

__all__ = [
    "DEFAULT_GRID_EPOCHS", "GRID_EPOCHS_VARIABLE", "GridResult", "binomial_standard_error",
    "dead_units", "grid_epochs", "grid_search", "plot_accuracy_grid", "step_losses", "train_cnn",
]

#: Epochs of every run of notebook 07's grid unless the environment variable below says otherwise.
DEFAULT_GRID_EPOCHS = 40
#: Name of the environment variable that shrinks (or grows) the grid's epochs, e.g. for CI.
GRID_EPOCHS_VARIABLE = "COURSE_GRID_EPOCHS"


def grid_epochs(default: int = DEFAULT_GRID_EPOCHS) -> int:
    """Epochs per grid run: the integer in $COURSE_GRID_EPOCHS if it is set, else `default`.

    CI, or a student on a slow laptop, runs e.g. `COURSE_GRID_EPOCHS=5 make test` to train
    every model of the grid for 5 epochs instead of the full number. Notebook 07's checked
    outputs hold for any value >= 2 (one diverging run needs a second epoch to blow up).
    """
    default = positive_int("default", default)
    text = os.environ.get(GRID_EPOCHS_VARIABLE, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ValueError(
            f"environment variable {GRID_EPOCHS_VARIABLE} must be a positive integer, got "
            f"{text!r}; set e.g. {GRID_EPOCHS_VARIABLE}=5, or unset it for {default} epochs."
        )
    return value


def _check_images_and_labels(X, y, X_name: str, y_name: str, n_classes: int):
    X = finite_array(X_name, X, ndim=4, layout="(N, H, W, C), channels last").astype(np.float32)
    if X.shape[1] < X.shape[3] and X.shape[2] >= X.shape[1]:
        raise ValueError(
            f"{X_name} has shape {X.shape}, which looks like (N, C, H, W); Keras wants channels "
            f"last: pass {X_name}.transpose(0, 2, 3, 1)."
        )
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{y_name} must be integer class labels of shape ({X.shape[0]},), one per image of "
            f"{X_name}, got shape {y.shape}; for one-hot rows pass {y_name}.argmax(axis=1)."
        )
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(
            f"{y_name} must hold integer labels 0..{n_classes - 1}, got dtype {y.dtype} with "
            f"values in [{y.min() if y.size else '-'}, {y.max() if y.size else '-'}]."
        )
    return X, y.astype(np.int64)


def _accuracy(model: keras.Model, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of images whose most probable class is the label (NaN if outputs are not finite)."""
    probabilities = np.asarray(model(X, training=False))
    if not np.all(np.isfinite(probabilities)):
        return float("nan")
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


class _StopOnNaN(keras.callbacks.Callback):
    """Stop training once the loss is NaN or infinite (like keras.callbacks.TerminateOnNaN,
    which also prints a line that would land in the notebook's stored output)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True


class _ValAccuracy(keras.callbacks.Callback):
    """Adds the validation accuracy after each epoch to the logs (cheaper than validation_data)."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        super().__init__()
        self.X, self.y = X, y

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_accuracy"] = _accuracy(self.model, self.X, self.y)


def _batches(X: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int, seed: int):
    """Mini-batches (images, one-hot rows), reshuffled every pass from a generator seeded by `seed`.

    A tf.data pipeline built once is much cheaper per epoch than handing Keras NumPy arrays.
    """
    one_hot = keras.utils.to_categorical(y, n_classes).astype(np.float32)
    return (
        tf.data.Dataset.from_tensor_slices((X, one_hot))
        .shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .prefetch(2)
    )


def train_cnn(
    X_train,
    y_train,
    *,
    eta: float,
    lam: float,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    X_val=None,
    y_val=None,
    **architecture,
) -> tuple[keras.Model, dict[str, np.ndarray]]:
    """Build `build_cnn(eta=eta, lam=lam, seed=seed, **architecture)` and train it with SGD.

    X_train: (N, H, W, C) images (channels last), y_train: (N,) integer labels.
    Mini-batches of `batch_size` are reshuffled every epoch from a generator seeded with
    `seed`, so the same call gives the same model. Training stops early when the loss
    becomes NaN or infinite: the run has diverged.
    If X_val, y_val (validation images and labels) are given, the history also holds their
    accuracy after every epoch.
    Returns (model, history) with history["loss"], history["accuracy"] (per epoch, averaged
    over the epoch's batches as Keras reports them), optionally history["val_accuracy"],
    and history["diverged"] (a 0-d bool array).
    """
    epochs = positive_int("epochs", epochs)
    batch_size = positive_int("batch_size", batch_size)
    n_classes = architecture.get("n_classes", 10)
    X_train, y_train = _check_images_and_labels(X_train, y_train, "X_train", "y_train", n_classes)
    if batch_size > len(X_train):
        raise ValueError(
            f"batch_size={batch_size} is larger than the {len(X_train)} training images; use "
            f"batch_size <= {len(X_train)}."
        )
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither.")
    callbacks: list[keras.callbacks.Callback] = [_StopOnNaN()]
    if X_val is not None:
        X_val, y_val = _check_images_and_labels(X_val, y_val, "X_val", "y_val", n_classes)
        callbacks.append(_ValAccuracy(X_val, y_val))
    architecture.setdefault("input_shape", X_train.shape[1:])
    steps = math.ceil(len(X_train) / batch_size)
    model = build_cnn(eta=eta, lam=lam, seed=seed, steps_per_execution=steps, **architecture)
    batches = _batches(X_train, y_train, n_classes, batch_size, seed)
    fitted = model.fit(batches, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)
    history = {key: np.asarray(values, dtype=float) for key, values in fitted.history.items()}
    weights_finite = all(np.all(np.isfinite(w)) for w in model.get_weights())
    history["diverged"] = np.array(not (np.all(np.isfinite(history["loss"])) and weights_finite))
    return model, history


@dataclass
class GridResult:
    """Outcome of grid_search: row i is etas[i], column j is lambdas[j].

    train_accuracy, val_accuracy: (len(etas), len(lambdas)) accuracies on the training and
    on the validation images, measured after training; NaN where the run diverged (loss
    became NaN/inf), never a misleading number. n_val: number of validation images (the
    size behind each val_accuracy, for its standard error).
    diverged: boolean array of the same shape. histories[i][j]: that run's history dict
    (see train_cnn). seconds: wall-clock time of the whole grid.
    """

    etas: np.ndarray
    lambdas: np.ndarray
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    n_val: int
    diverged: np.ndarray
    histories: list[list[dict[str, np.ndarray]]] = field(repr=False)
    epochs: int
    batch_size: int
    seed: int
    seconds: float

    def best(self) -> tuple[int, int]:
        """Indices (i, j) of the highest finite validation accuracy (the first one if tied)."""
        if np.all(self.diverged):
            raise ValueError("every run of the grid diverged: there is no best cell.")
        scores = np.where(self.diverged, -np.inf, self.val_accuracy)
        i, j = np.unravel_index(np.argmax(scores), scores.shape)
        return int(i), int(j)


def _grid_values(name: str, values) -> np.ndarray:
    array = finite_array(name, values, ndim=1, layout="(a 1D list of values)")
    if array.size == 0:
        raise ValueError(f"{name} is empty; give at least one value, e.g. np.logspace(-5, 1, 7).")
    return array.astype(np.float64)


def grid_search(
    X_train,
    y_train,
    X_val,
    y_val,
    etas,
    lambdas,
    *,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = False,
    **architecture,
) -> GridResult:
    """Train one build_cnn model per (eta, lam) pair and measure train and validation accuracy.

    X_*: (N, H, W, C) images, y_*: (N,) integer labels. The validation images choose the
    cell (GridResult.best); keep a separate test set for the chosen model. Every run starts
    from the same seed (same initial weights, same batch order), so cells differ only by eta
    and lam.
    A run whose loss turns NaN/inf is stopped and reported as diverged (NaN accuracy)
    instead of crashing the grid. `progress=True` prints one line per eta.
    """
    etas = _grid_values("etas", etas)
    lambdas = _grid_values("lambdas", lambdas)
    if np.any(etas <= 0):
        raise ValueError(f"etas must all be > 0, got {etas.tolist()}.")
    if np.any(lambdas < 0):
        raise ValueError(f"lambdas must all be >= 0, got {lambdas.tolist()}.")
    n_classes = architecture.get("n_classes", 10)
    X_val, y_val = _check_images_and_labels(X_val, y_val, "X_val", "y_val", n_classes)
    X_train, y_train = _check_images_and_labels(X_train, y_train, "X_train", "y_train", n_classes)
    shape = (len(etas), len(lambdas))
    train_accuracy, val_accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    diverged = np.zeros(shape, dtype=bool)
    histories: list[list[dict[str, np.ndarray]]] = [[{} for _ in lambdas] for _ in etas]
    start = time.perf_counter()
    for i, eta in enumerate(etas):
        for j, lam in enumerate(lambdas):
            keras.backend.clear_session()  # drop the previous model's graphs and names
            model, history = train_cnn(
                X_train, y_train, eta=float(eta), lam=float(lam), epochs=epochs,
                batch_size=batch_size, seed=seed, **architecture,
            )
            histories[i][j] = history
            if not history["diverged"]:
                train_accuracy[i, j] = _accuracy(model, X_train, y_train)
                val_accuracy[i, j] = _accuracy(model, X_val, y_val)
            diverged[i, j] = bool(history["diverged"]) or np.isnan(val_accuracy[i, j])
        if progress:
            print(f"eta = {eta:.0e}: {time.perf_counter() - start:6.1f} s", flush=True)
    keras.backend.clear_session()
    return GridResult(
        etas=etas, lambdas=lambdas, train_accuracy=train_accuracy, val_accuracy=val_accuracy,
        n_val=len(y_val),
        diverged=diverged, histories=histories, epochs=epochs, batch_size=batch_size,
        seed=seed, seconds=time.perf_counter() - start,
    )


def binomial_standard_error(accuracy, n_images: int) -> np.ndarray:
    """Standard error of an accuracy measured on `n_images` independent images.

    Each image is right with probability p, so the count right is binomial and the
    fraction right has standard deviation sqrt(p (1 - p) / n); the measured accuracy
    stands in for p. accuracy: a number or array in [0, 1] (NaN stays NaN).
    Two accuracies closer than about two standard errors are not told apart by these images.
    """
    n_images = positive_int("n_images", n_images)
    accuracy = np.asarray(accuracy, dtype=float)
    if np.any((accuracy < 0) | (accuracy > 1)):
        raise ValueError(
            f"accuracy must lie in [0, 1] (a fraction correct), got values from "
            f"{np.nanmin(accuracy)} to {np.nanmax(accuracy)}; divide percentages by 100."
        )
    return np.sqrt(accuracy * (1 - accuracy) / n_images)


def dead_units(model: keras.Model, X) -> dict[str, float]:
    """Fraction of the ReLU units of each layer that output 0 for every image of X.

    model: a built Keras model (e.g. from build_cnn); X: (N, H, W, C) images.
    A unit of a Dense layer is one of its outputs; a unit of a Conv2D layer is one feature
    map (its output at every pixel of every image counts). A dead unit passes no gradient
    (ReLU'(z) = 0 wherever z < 0), so training can never revive it.
    Returns {layer name: fraction dead} for the layers whose activation is ReLU.
    """
    X = finite_array("X", X, ndim=4, layout="(N, H, W, C), channels last").astype(np.float32)
    relu_layers = [layer for layer in model.layers
                   if getattr(layer, "activation", None) is keras.activations.relu]
    if not relu_layers:
        raise ValueError(f"model {model.name!r} has no layer with a ReLU activation.")
    probe = keras.Model(inputs=model.inputs[0], outputs=[layer.output for layer in relu_layers])
    outputs = probe(X, training=False)
    fractions = {}
    for layer, output in zip(relu_layers, outputs):
        output = np.asarray(output)
        active = np.any(output.reshape(-1, output.shape[-1]) > 0, axis=0)  # one per unit
        fractions[layer.name] = float(np.mean(~active))
    return fractions


def _tick_label(value: float) -> str:
    """'$10^{-5}$' for exact powers of ten, else the value with 2 significant digits."""
    if value > 0:
        exponent = math.log10(value)
        if abs(exponent - round(exponent)) < 1e-9:
            return f"$10^{{{round(exponent)}}}$"
    return f"{value:.2g}"


def plot_accuracy_grid(
    accuracy,
    etas,
    lambdas,
    *,
    title: str = "accuracy",
    ax=None,
    mark: tuple[int, int] | None = None,
    n_images: int | None = None,
):
    """Seaborn heatmap of a (len(etas), len(lambdas)) accuracy grid; NaN cells read "diverged".

    Rows are learning rates eta (growing upwards), columns L2 strengths lambda; tick labels
    show the values, not indices. Each cell prints its accuracy; colours span [0, 1] so two
    heatmaps can be compared by eye. NaN cells (diverged runs) are masked out of the
    colour map, hatched and labelled "diverged", never given a colour. `mark=(i, j)`
    outlines one cell (e.g. the best), indexed like `accuracy`. `n_images=n` (the number
    of images each accuracy was measured on) adds each cell's binomial standard error
    below its accuracy ("0.975" over "±0.008"), so differences within noise show.
    Returns the matplotlib Axes (the caller ends the cell with plt.show()).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Rectangle

    etas = _grid_values("etas", etas)
    lambdas = _grid_values("lambdas", lambdas)
    accuracy = np.asarray(accuracy, dtype=float)
    if accuracy.shape != (len(etas), len(lambdas)):
        raise ValueError(
            f"accuracy has shape {accuracy.shape}, expected (len(etas), len(lambdas)) = "
            f"({len(etas)}, {len(lambdas)}): row i belongs to etas[i], column j to lambdas[j]."
        )
    if mark is not None and not (
        len(mark) == 2 and 0 <= mark[0] < len(etas) and 0 <= mark[1] < len(lambdas)
    ):
        raise ValueError(f"mark must be a cell (i, j) of the {accuracy.shape} grid, got {mark!r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.2))
    # seaborn draws row 0 at the top: flip the rows so that eta grows upwards
    flipped = accuracy[::-1]
    n_rows = len(etas)
    annot = np.vectorize(lambda a: f"{a:.3f}")(flipped)
    if n_images is not None:
        errors = binomial_standard_error(flipped, n_images)
        annot = np.vectorize(lambda a, e: f"{a:.3f}\n±{e:.3f}")(flipped, errors)
    sns.heatmap(
        flipped, mask=np.isnan(flipped), vmin=0.0, vmax=1.0, cmap="viridis",
        annot=annot, fmt="", annot_kws={"fontsize": 8 if n_images else 9}, square=True, ax=ax,
        xticklabels=[_tick_label(v) for v in lambdas],
        yticklabels=[_tick_label(v) for v in etas[::-1]],
        cbar_kws={"label": "accuracy (fraction correct)"},
    )
    for i, j in np.argwhere(np.isnan(accuracy)):
        row = n_rows - 1 - i
        ax.add_patch(Rectangle((j, row), 1, 1, fill=False, hatch="///", edgecolor="0.6",
                               linewidth=0))
        ax.text(j + 0.5, row + 0.5, "diverged", ha="center", va="center", fontsize=8,
                color="0.2", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    if mark is not None:
        i, j = mark
        ax.add_patch(Rectangle((j, n_rows - 1 - i), 1, 1, fill=False, edgecolor="red",
                               linewidth=2.5))
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel(r"L2 strength $\lambda$")
    ax.set_ylabel(r"learning rate $\eta$")
    ax.set_title(title)
    return ax


def step_losses(
    X_train,
    y_train,
    *,
    eta: float,
    lam: float,
    steps: int,
    batch_size: int = 32,
    seed: int = 0,
    **architecture,
) -> np.ndarray:
    """Loss (cross-entropy + L2 penalty) of each of the first `steps` SGD steps, one batch each.

    The model, the seed and the batch order are those of train_cnn with the same arguments,
    so this zooms in on the start of that run. It stops at the first NaN/inf loss, which
    is kept as the last entry: plotting the result shows how fast a run blows up.
    Returns a float array of length <= steps.
    """
    steps = positive_int("steps", steps)
    batch_size = positive_int("batch_size", batch_size)
    n_classes = architecture.get("n_classes", 10)
    X_train, y_train = _check_images_and_labels(X_train, y_train, "X_train", "y_train", n_classes)
    architecture.setdefault("input_shape", X_train.shape[1:])
    model = build_cnn(eta=eta, lam=lam, seed=seed, **architecture)
    losses = []
    for images, targets in _batches(X_train, y_train, n_classes, batch_size, seed).repeat():
        losses.append(float(model.train_on_batch(images, targets, return_dict=True)["loss"]))
        if len(losses) == steps or not math.isfinite(losses[-1]):
            break
    return np.array(losses)
