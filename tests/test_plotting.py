"""Plot helpers return figures and axes that carry titles, labels and the data given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage

from course_utils.plotting import (
    plot_confusion_matrix,
    plot_optimizer_paths,
    plot_training_curves,
    show_image,
    show_image_grid,
    show_images,
    show_kernel_positions,
    show_matrix,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_show_image_sets_title_labels_limits_and_colorbar():
    _fig, ax = plt.subplots()
    img = np.arange(12.0).reshape(3, 4)
    im = show_image(ax, img, "a photo", vmin=0, vmax=255)
    assert isinstance(im, AxesImage)
    assert ax.get_title() == "a photo"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert im.get_clim() == (0, 255)
    assert im.get_cmap().name == "gray"
    np.testing.assert_array_equal(im.get_array(), img)
    assert im.colorbar is not None and im.colorbar.ax.get_ylabel() == "grey level"


def test_show_image_rejects_a_batch_with_a_hint():
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"X\[n, c\]"):
        show_image(ax, np.zeros((1, 1, 4, 4)), "batch")


def test_show_images_gives_one_titled_panel_per_image_and_hides_spares():
    images = [np.zeros((4, 4)), np.ones((4, 4)), np.eye(4)]
    fig, axes = show_images(images, ["a", "b", "c"], vmin=0, vmax=1, suptitle="three", ncols=2)
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert fig.get_suptitle() == "three"
    hidden = [ax for ax in fig.axes if not ax.get_visible()]
    assert len(hidden) == 1  # a 2 x 2 grid holds 3 images and one blank panel
    with pytest.raises(ValueError, match="titles"):
        show_images(images, ["only one"])


def test_show_matrix_writes_labels_and_draws_zeros_white():
    _fig, ax = plt.subplots()
    M = np.array([[1.0, 0.0], [2.0, 3.0]])
    labels = np.array([["a", ""], ["b", "c"]], dtype=object)
    im = show_matrix(ax, M, "Toeplitz", labels=labels, block_size=(1, 1), highlight=(0, 0, 1, 1))
    assert ax.get_title() == "Toeplitz"
    assert ax.get_xlabel() == "column index" and ax.get_ylabel() == "row index"
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b", "c"]
    assert np.ma.is_masked(im.get_array()[0, 1])  # the zero
    assert len(ax.patches) == 1  # the highlight rectangle


def test_show_matrix_annotates_numbers_and_checks_label_shape():
    _fig, ax = plt.subplots()
    show_matrix(
        ax, [[0.5, 1.25]], "numbers", annotate=True, fmt="{:.2f}", cmap="Blues", symmetric=False
    )
    assert [t.get_text() for t in ax.texts] == ["0.50", "1.25"]
    assert [t.get_color() for t in ax.texts] == ["black", "white"]  # readable on dark cells
    with pytest.raises(ValueError, match="labels"):
        show_matrix(ax, np.eye(2), "bad", labels=[["a"]])


@pytest.mark.parametrize(
    "i, k, s, p, o",
    [(4, 3, 1, 0, 2), (5, 3, 1, 1, 5), (5, 3, 2, 1, 3), (6, 3, 2, 1, 3), (5, 2, 1, (0, 1), 5)],
)
def test_show_kernel_positions_draws_one_panel_per_output_element(i, k, s, p, o):
    _fig, ax = show_kernel_positions(i, k, s, p)
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"out[{r},{c}]" for r in range(o) for c in range(o)]
    assert len(ax.images) == o * o
    assert f"o={o}" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()
    assert "kernel window" in ax.get_xlabel()


def test_show_kernel_positions_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="larger than the padded input"):
        show_kernel_positions(3, 5, 1, 0)
    with pytest.raises(ValueError, match="max_panels"):
        show_kernel_positions(20, 1)


def test_show_volumes_draws_one_box_per_volume_to_scale_with_labels_and_operations():
    from course_utils.plotting import show_volumes

    _fig, ax = plt.subplots()
    boxes = show_volumes(ax, [(32, 32, 3), (16, 8, 12)], operations=["pool"], depth_scale=0.5)
    assert len(boxes) == 2 and all(len(faces) == 3 for faces in boxes)
    front = boxes[1][0].get_xy()
    assert np.ptp(front[:, 0]) == 16 and np.ptp(front[:, 1]) == 8  # width x height to scale
    side = boxes[1][2].get_xy()
    assert np.isclose(np.ptp(side[:, 0]), 12 * 0.5 * np.cos(np.pi / 6))  # depth recedes
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("32 x 32 x 3") == 1 and "16 x 8 x 12" in texts and "pool" in texts
    assert ax.get_title()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"volumes": []}, "volumes"),
        ({"volumes": [(3, 3)]}, "volumes"),
        ({"volumes": [(3, 0, 3)]}, "volumes"),
        ({"volumes": [(3, 3, 3)], "labels": ["a", "b"]}, "label"),
        ({"volumes": [(3, 3, 3), (3, 3, 1)], "operations": ["a", "b"]}, "operation"),
        ({"volumes": [(3, 3, 3)], "depth_scale": 0}, "depth_scale"),
    ],
)
def test_show_volumes_bad_input_raises_value_error(kwargs, match):
    from course_utils.plotting import show_volumes

    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=match):
        show_volumes(ax, **kwargs)


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


def test_show_flip_and_slide_draws_each_output_with_the_kernel_flipped_and_slid():
    from course_utils.plotting import show_flip_and_slide

    x, w = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])
    fig, axes = show_flip_and_slide(x, w)
    y = np.convolve(x, w)
    assert len(axes) == len(x) + len(w)  # the kernel as stored, then one panel per y[i]
    assert fig.get_suptitle() and axes[-1].get_xlabel()
    stored = next(ln for ln in axes[0].get_lines() if ln.get_marker() == "o")
    np.testing.assert_array_equal(stored.get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(stored.get_ydata(), w)
    for i, ax in enumerate(axes[1:]):
        kernel = next(ln for ln in ax.get_lines() if ln.get_marker() == "o")
        # w[j] drawn at a = i - j: the kernel reversed, its w[0] at a = i
        np.testing.assert_array_equal(kernel.get_xdata(), i - np.arange(len(w)))
        np.testing.assert_array_equal(kernel.get_ydata(), w)
        heights = [bar.get_height() for bar in ax.patches]
        np.testing.assert_array_equal(heights, x)
        assert ax.get_title().startswith(f"y[{i}] = ") and ax.get_title().endswith(f"= {y[i]:g}")
        assert ax.get_ylabel()


def test_show_flip_and_slide_rejects_a_2d_kernel():
    from course_utils.plotting import show_flip_and_slide

    with pytest.raises(ValueError, match="1D arrays"):
        show_flip_and_slide([1.0, 2.0], np.ones((2, 2)))


@pytest.mark.parametrize("shape, k, s", [((5, 5), (3, 3), 2), ((6, 7), (2, 3), 2),
                                         ((7, 7), (3, 3), 3), ((4, 5), (2, 2), 1)])
def test_strided_backward_steps_give_the_conv_layers_input_gradient(shape, k, s):
    from course_utils.activations import identity
    from course_utils.layers import Convolution2DLayer
    from course_utils.plotting import strided_backward_steps

    rng = np.random.default_rng(7)
    layer = Convolution2DLayer(1, 1, *k, v_stride=s, h_stride=s, pad="valid",
                               act_func=identity, seed=0)
    X = rng.normal(size=(1, 1, *shape))
    Z = layer.forward(X)
    dZ = rng.normal(size=Z.shape)
    expected = layer.backward(dZ)[0, 0]
    steps = strided_backward_steps(dZ[0, 0], layer.params["kernel"][0, 0], s, shape)
    np.testing.assert_allclose(steps["dX"], expected, rtol=1e-12, atol=1e-12)
    # the picture's steps: the full convolution of the spread-out dZ, zeros after it
    full = steps["full"]
    np.testing.assert_allclose(steps["dX"][: full.shape[0], : full.shape[1]], full,
                               rtol=1e-12, atol=1e-12)
    assert not steps["dX"][full.shape[0]:].any() and not steps["dX"][:, full.shape[1]:].any()
    assert np.count_nonzero(steps["dilated"]) == np.count_nonzero(dZ)
    np.testing.assert_array_equal(steps["dilated"][::s, ::s], dZ[0, 0])


def test_show_strided_conv_backward_draws_four_titled_panels_with_the_gradient():
    from course_utils.plotting import show_strided_conv_backward, strided_backward_steps

    dZ, K = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2, 0], [0, 1, -1], [2, 0, 1]])
    fig, axes = show_strided_conv_backward(dZ, K, 2, (5, 5))
    assert len(axes) == 4 and fig.get_suptitle()
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    drawn = np.ma.filled(axes[3].get_images()[0].get_array(), 0)
    np.testing.assert_array_equal(drawn, strided_backward_steps(dZ, K, 2, (5, 5))["dX"])
    with pytest.raises(ValueError, match="shape"):
        show_strided_conv_backward(np.ones((3, 3)), K, 2, (5, 5))
