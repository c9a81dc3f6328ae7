"""Keras side of the course, importable from one place (`from course_utils.keras_models import ...`).

Importing it imports TensorFlow (quietly, keras_import.py); `import course_utils` does not.
The pieces live in modules grouped by what they do:
  keras_import     tf, keras: the quiet import
  keras_builders   build_cnn (notebook 07), build_ising_cnn, CircularPadding2D, leaky_relu (08)
  keras_grid       train_cnn, grid_search, plot_accuracy_grid, dead_units, step_losses, ...
"""

from __future__ import annotations

from .keras_builders import CircularPadding2D, build_cnn, build_ising_cnn, leaky_relu
from .keras_grid import (
    DEFAULT_GRID_EPOCHS,
    GRID_EPOCHS_VARIABLE,
    GridResult,
    binomial_standard_error,
    dead_units,
    grid_epochs,
    grid_search,
    plot_accuracy_grid,
    step_losses,
    train_cnn,
)
from .keras_import import keras, tf  # first: the quiet import

__all__ = [
    "DEFAULT_GRID_EPOCHS", "GRID_EPOCHS_VARIABLE", "CircularPadding2D", "GridResult",
    "binomial_standard_error", "build_cnn", "build_ising_cnn", "dead_units", "grid_epochs",
    "grid_search", "keras", "leaky_relu", "plot_accuracy_grid", "step_losses", "tf", "train_cnn",
]
