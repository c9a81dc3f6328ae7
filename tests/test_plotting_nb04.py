"""Tests for the plot helpers of notebooks 04 and 05 (the optimiser paths, learning curves,
confusion matrix and image grids the former notebook 04 added to course_utils/plotting.py).

Proposed as tests/test_plotting_nb04.py (or to be merged into tests/test_plotting.py).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.plotting import (
    plot_confusion_matrix,
    plot_optimizer_paths,
    plot_training_curves,
    show_image_grid,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    _fig, ax = plt.subplots()
    M = plot_confusion_matrix(ax, np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 3)
    np.testing.assert_array_equal(M, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.get_title()


def test_confusion_matrix_rejects_one_hot_rows():
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="argmax"):
        plot_confusion_matrix(ax, np.eye(3), np.eye(3))


def test_training_curves_draw_train_and_validation_and_skip_nan():
    scores = {
        "train_error": np.array([1.0, 0.5]),
        "train_acc": np.array([0.5, 0.9]),
        "val_error": np.array([np.nan, np.nan]),
        "val_acc": np.array([np.nan, np.nan]),
    }
    _fig, axes = plot_training_curves(scores, title="t")
    assert len(axes) == 2
    for ax in axes:
        assert len(ax.get_lines()) == 1  # validation is all NaN: not drawn
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2])
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() and ax.get_title()


def test_optimizer_paths_draws_each_path_and_checks_shape():
    _fig, ax = plt.subplots()
    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]])
    plot_optimizer_paths(ax, lambda a, b: a**2 + b**2, {"sgd": path}, title="p")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xydata(), path)
    assert ax.get_title() == "p" and ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match="steps"):
        plot_optimizer_paths(ax, lambda a, b: a + b, {"bad": np.zeros((3, 3))})


def test_image_grid_uses_fixed_limits_and_hides_spare_axes():
    images = [np.zeros((4, 4)), np.ones((4, 4)), np.eye(4)]
    fig, axes = show_image_grid(images, ["a", "b", "c"], 0, 1, ncols=2, suptitle="s")
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert all(ax.get_images()[0].get_clim() == (0, 1) for ax in axes)
    assert sum(ax.get_visible() for ax in fig.axes) == 3
    with pytest.raises(ValueError, match="title"):
        show_image_grid(images, ["a"], 0, 1)
