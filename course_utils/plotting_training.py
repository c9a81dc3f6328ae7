"""Pictures of training: optimisers' paths on a cost surface (notebook 04), learning curves
and the confusion matrix (notebook 05).

Every function draws on matplotlib objects it is given (or creates and returns) and never
calls `plt.show()`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["plot_confusion_matrix", "plot_optimizer_paths", "plot_training_curves"]


def plot_optimizer_paths(
    ax: Axes,
    cost,
    paths: dict,
    *,
    limits: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0),
    levels: int = 20,
    title: str = "paths of the optimisers",
) -> None:
    """Draw contour lines of a 2D cost and the path each optimiser took over it.

    cost: function of two arrays (w0, w1) of equal shape, returning the cost there.
    paths: {label: (steps + 1, 2) array of the parameters (w0, w1) after each step}.
    limits: (w0_min, w0_max, w1_min, w1_max) of the drawn region.
    """
    w0_min, w0_max, w1_min, w1_max = limits
    w0, w1 = np.meshgrid(np.linspace(w0_min, w0_max, 200), np.linspace(w1_min, w1_max, 200))
    ax.contour(w0, w1, cost(w0, w1), levels=levels, colors="0.75", linewidths=0.8)
    for label, path in paths.items():
        path = np.asarray(path)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"path {label!r} must have shape (steps + 1, 2), got {path.shape}.")
        ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1.2, label=label)
    ax.plot(*np.asarray(next(iter(paths.values())))[0], "ks", label="start")
    ax.set_xlim(w0_min, w0_max)
    ax.set_ylim(w1_min, w1_max)
    ax.set_xlabel("parameter $w_0$")
    ax.set_ylabel("parameter $w_1$")
    ax.set_title(title)
    ax.legend(fontsize=8)


def plot_training_curves(
    scores: dict, *, title: str = "training history", size: float = 4.0
) -> tuple[Figure, np.ndarray]:
    """Cost and accuracy per epoch, training and validation, side by side.

    scores: the dict CNN.fit returns ("train_error", "train_acc", "val_error",
    "val_acc", one value per epoch, NaN where not computed), or a Keras
    History.history renamed to those keys. Epochs are counted from 1.
    Returns (figure, the two axes).
    """
    fig, axes = plt.subplots(1, 2, figsize=(2.6 * size, size), layout="constrained")
    for ax, kind, label in ((axes[0], "error", "cost"), (axes[1], "acc", "accuracy")):
        for prefix, name in (("train", "training"), ("val", "validation")):
            values = np.asarray(scores.get(f"{prefix}_{kind}", []), dtype=float)
            if values.size and not np.all(np.isnan(values)):
                ax.plot(np.arange(1, values.size + 1), values, "o-", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label} per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig, axes


def plot_confusion_matrix(
    ax: Axes,
    labels,
    predictions,
    n_classes: int | None = None,
    *,
    title: str = "confusion matrix",
) -> np.ndarray:
    """Draw and return the confusion matrix M, M[i, j] = images of class i predicted as j.

    labels, predictions: (N,) integer classes. Each cell shows its count; the
    diagonal holds the correct predictions.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(
            f"labels and predictions must be (N,) integer arrays of equal length, got shapes "
            f"{labels.shape} and {predictions.shape}; for one-hot rows use .argmax(axis=1)."
        )
    if n_classes is None:
        n_classes = int(max(labels.max(), predictions.max())) + 1
    from matplotlib.colors import PowerNorm  # a gamma < 1 keeps small off-diagonal counts visible

    M = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(M, (labels, predictions), 1)
    ax.imshow(M, cmap="Blues", norm=PowerNorm(0.4), interpolation="nearest")
    for i in range(n_classes):
        for j in range(n_classes):
            if M[i, j]:
                colour = "white" if M[i, j] > 0.5 * M.max() else "black"
                ax.text(j, i, str(M[i, j]), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(n_classes))
    ax.set_yticks(range(n_classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return M
