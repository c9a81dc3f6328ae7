"""Tests of course_utils.keras_models: the Keras CNN builder and the grid search of notebook 07."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.keras_models import (
    DEFAULT_GRID_EPOCHS,
    GRID_EPOCHS_VARIABLE,
    binomial_standard_error,
    build_cnn,
    dead_units,
    grid_epochs,
    grid_search,
    keras,
    plot_accuracy_grid,
    step_losses,
    train_cnn,
)


@pytest.fixture(scope="module")
def digits():
    """A small stratified slice of the 8 x 8 digits, channels last: (N, 8, 8, 1) in [0, 1]."""
    from course_utils.data import load_digits

    X, y = load_digits()
    X = X.transpose(0, 2, 3, 1).astype(np.float32)
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.choice(np.flatnonzero(y == c), 20, replace=False) for c in range(10)])
    test = np.setdiff1d(np.arange(len(y)), train)[::20]
    return X[train], y[train], X[test], y[test]


# ----------------------------------------------------------------------------- build_cnn
def test_build_cnn_layer_shapes_and_parameter_count():
    model = build_cnn()  # "same" padding keeps the 8 x 8 map
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(8, 8, 10), (4, 4, 10), (160,), (50,), (10,)]
    # conv 3*3*1*10 + 10, hidden 160*50 + 50, output 50*10 + 10
    assert model.count_params() == 100 + 8050 + 510
    assert model.output_shape == (None, 10)


def test_build_cnn_valid_padding_is_the_lectures_model():
    model = build_cnn(padding="valid")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(6, 6, 10), (3, 3, 10), (90,), (50,), (10,)]
    assert model.count_params() == 100 + 4550 + 510


def test_build_cnn_other_sizes():
    model = build_cnn(input_shape=(9, 7, 2), filters=4, kernel_size=2, dense_units=7,
                      n_classes=3, padding="valid")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(8, 6, 4), (4, 3, 4), (48,), (7,), (3,)]
    assert model.count_params() == (2 * 2 * 2 * 4 + 4) + (48 * 7 + 7) + (7 * 3 + 3)


def test_build_cnn_sets_sgd_learning_rate_loss_and_metric():
    model = build_cnn(eta=0.037, lam=0.0)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.037, rel=1e-6)
    assert float(model.optimizer.momentum) == 0.0
    config = model.get_compile_config()
    assert config["loss"] == "categorical_crossentropy"
    assert config["metrics"] == ["accuracy"]


def test_build_cnn_puts_l2_of_strength_lam_on_every_kernel_and_no_bias():
    lam = 0.0123
    model = build_cnn(lam=lam, seed=1)
    weighted = [layer for layer in model.layers if hasattr(layer, "kernel")]
    assert [layer.name for layer in weighted] == ["conv", "hidden", "output"]
    for layer in weighted:
        assert isinstance(layer.kernel_regularizer, keras.regularizers.L2)
        assert layer.kernel_regularizer.l2 == pytest.approx(lam, rel=1e-6)
        assert layer.bias_regularizer is None
    # and the penalty that enters the loss is lam * sum(w**2) over the kernels
    penalty = sum(float(loss) for loss in model.losses)
    expected = lam * sum(float(np.sum(np.square(layer.kernel.numpy()))) for layer in weighted)
    assert penalty == pytest.approx(expected, rel=1e-5)


def test_build_cnn_same_seed_same_weights_other_seed_other_weights():
    first, again, other = (build_cnn(seed=s).get_weights() for s in (3, 3, 4))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"input_shape": (1, 8, 8)}, "input_shape"),
        ({"input_shape": (8, 8)}, "input_shape"),
        ({"n_classes": 1}, "n_classes"),
        ({"filters": 0}, "filters"),
        ({"kernel_size": 9, "padding": "valid"}, "kernel_size"),
        ({"kernel_size": 8, "padding": "valid"}, "kernel_size"),
        ({"dense_units": 2.5}, "dense_units"),
        ({"eta": 0.0}, "eta"),
        ({"eta": float("nan")}, "eta"),
        ({"lam": -1e-3}, "lam"),
        ({"lam": float("inf")}, "lam"),
        ({"padding": "full"}, "padding"),
    ],
)
def test_build_cnn_bad_input_raises_value_error_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        build_cnn(**kwargs)


# ----------------------------------------------------------------------------- training
def test_train_cnn_learns_and_reports_per_epoch_history(digits):
    X_train, y_train, X_test, y_test = digits
    model, history = train_cnn(X_train, y_train, eta=0.1, lam=1e-4, epochs=3, batch_size=20,
                               seed=0, X_val=X_test, y_val=y_test)
    assert set(history) == {"loss", "accuracy", "val_accuracy", "diverged"}
    assert all(history[key].shape == (3,) for key in ("loss", "accuracy", "val_accuracy"))
    assert not history["diverged"]
    assert history["loss"][-1] < history["loss"][0]
    # the same call gives the same model
    again, _ = train_cnn(X_train, y_train, eta=0.1, lam=1e-4, epochs=3, batch_size=20, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))


def test_grid_search_reports_diverged_runs_as_nan_instead_of_crashing(digits):
    X_train, y_train, X_test, y_test = digits
    etas, lambdas = [0.1, 10.0], [0.0, 10.0]
    result = grid_search(X_train, y_train, X_test, y_test, etas, lambdas, epochs=4,
                         batch_size=50, seed=0)
    # eta * lam = 100: each step multiplies the kernels by (1 - 2 * eta * lam) = -199
    assert result.diverged.tolist() == [[False, False], [False, True]]
    assert math.isnan(result.val_accuracy[1, 1]) and math.isnan(result.train_accuracy[1, 1])
    finite = ~result.diverged
    assert np.all((result.val_accuracy[finite] >= 0) & (result.val_accuracy[finite] <= 1))
    assert result.n_val == len(y_test)
    # stopped at the first non-finite epoch loss instead of training on for 4 epochs
    loss = result.histories[1][1]["loss"]
    assert len(loss) < 4 and not np.isfinite(loss[-1]) and np.all(np.isfinite(loss[:-1]))
    assert all(len(result.histories[i][j]["loss"]) == 4 for i, j in [(0, 0), (0, 1), (1, 0)])
    assert result.val_accuracy.shape == result.train_accuracy.shape == (2, 2)
    # the cell is chosen on the validation images, never on the training accuracy
    assert result.best() == np.unravel_index(
        np.nanargmax(result.val_accuracy), result.val_accuracy.shape
    )
    assert (result.epochs, result.batch_size, result.seed) == (4, 50, 0)


def test_step_losses_stop_at_the_first_non_finite_loss(digits):
    X_train, y_train, _, _ = digits
    calm = step_losses(X_train, y_train, eta=0.1, lam=1e-4, steps=4, batch_size=50)
    assert calm.shape == (4,) and np.all(np.isfinite(calm))
    blown = step_losses(X_train, y_train, eta=10.0, lam=10.0, steps=50, batch_size=50)
    assert len(blown) < 50 and not np.isfinite(blown[-1]) and np.all(np.isfinite(blown[:-1]))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda X, y, Xt, yt: grid_search(X.transpose(0, 3, 1, 2), y, Xt, yt, [0.1], [0.0],
                                          epochs=1), "X_train"),
        (lambda X, y, Xt, yt: grid_search(X, np.eye(10)[y], Xt, yt, [0.1], [0.0], epochs=1),
         "y_train"),
        (lambda X, y, Xt, yt: grid_search(X, y, Xt, yt + 10, [0.1], [0.0], epochs=1), "y_val"),
        (lambda X, y, Xt, yt: grid_search(X, y, Xt, yt, [], [0.0], epochs=1), "etas"),
        (lambda X, y, Xt, yt: grid_search(X, y, Xt, yt, [0.1], [-1.0], epochs=1), "lambdas"),
        (lambda X, y, Xt, yt: grid_search(X, y, Xt, yt, [0.1], [0.0], epochs=0), "epochs"),
        (lambda X, y, Xt, yt: train_cnn(X, y, eta=0.1, lam=0.0, epochs=1, batch_size=10**6),
         "batch_size"),
        (lambda X, y, Xt, yt: train_cnn(np.where(X > 0.5, np.nan, X), y, eta=0.1, lam=0.0,
                                        epochs=1), "X_train"),
    ],
)
def test_training_bad_input_raises_value_error_naming_the_parameter(digits, call, name):
    with pytest.raises(ValueError, match=name):
        call(*digits)


# ----------------------------------------------------------------------------- epochs knob
def test_grid_epochs_reads_the_environment_variable(monkeypatch):
    monkeypatch.delenv(GRID_EPOCHS_VARIABLE, raising=False)
    assert grid_epochs() == DEFAULT_GRID_EPOCHS
    monkeypatch.setenv(GRID_EPOCHS_VARIABLE, " 5 ")
    assert grid_epochs() == 5
    for bad in ("0", "-3", "2.5", "five"):
        monkeypatch.setenv(GRID_EPOCHS_VARIABLE, bad)
        with pytest.raises(ValueError, match=GRID_EPOCHS_VARIABLE):
            grid_epochs()


# ----------------------------------------------------------------------------- heatmap
def test_plot_accuracy_grid_labels_ticks_by_value_and_marks_diverged_cells():
    from matplotlib.collections import QuadMesh

    etas, lambdas = np.logspace(-5, 1, 7), np.array([0.0, 1e-3, 0.25])
    accuracy = np.linspace(0, 1, 21).reshape(7, 3)
    accuracy[6, 2] = accuracy[5, 2] = np.nan
    ax = plot_accuracy_grid(accuracy, etas, lambdas, title="test accuracy", mark=(3, 1))
    # eta grows upwards: on screen (y axis inverted by the heatmap) the lowest tick is 1e-5
    shown = sorted(((ax.transData.transform((0, t))[1], label.get_text())
                    for t, label in zip(ax.get_yticks(), ax.get_yticklabels())))
    assert [label for _, label in shown][:2] == ["$10^{-5}$", "$10^{-4}$"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "$10^{-3}$", "0.25"]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("diverged") == 2 and "0.500" in texts and "nan" not in texts
    # each number sits in its own cell: accuracy[i, j] at column j, screen row i from below
    by_text = {t.get_text(): t.get_position() for t in ax.texts if t.get_text() != "diverged"}
    assert by_text["0.500"] == (1.5, 7 - 1 - 3 + 0.5)  # accuracy[3, 1] = 10 / 20
    diverged = sorted(t.get_position() for t in ax.texts if t.get_text() == "diverged")
    assert diverged == [(2.5, 0.5), (2.5, 1.5)]  # rows 6 and 5 are the top two
    # the colour map leaves the diverged cells out (masked), it does not paint them
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    assert np.ma.count_masked(mesh.get_array()) == 2
    assert mesh.get_clim() == (0.0, 1.0)
    assert "eta" in ax.get_ylabel() and "lambda" in ax.get_xlabel()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="accuracy"):
        plot_accuracy_grid(accuracy.T, etas, lambdas)
    with pytest.raises(ValueError, match="mark"):
        plot_accuracy_grid(accuracy, etas, lambdas, mark=(7, 0))


def test_plot_accuracy_grid_with_n_images_prints_each_cells_standard_error():
    etas, lambdas = np.array([0.01, 0.1]), np.array([0.0, 1e-3])
    accuracy = np.array([[0.5, 0.9], [0.975, np.nan]])
    ax = plot_accuracy_grid(accuracy, etas, lambdas, n_images=360)
    texts = [t.get_text() for t in ax.texts]
    # sqrt(0.975 * 0.025 / 360) = 0.00823; sqrt(0.5 * 0.5 / 360) = 0.0264
    assert "0.975\n±0.008" in texts and "0.500\n±0.026" in texts and "0.900\n±0.016" in texts
    assert texts.count("diverged") == 1 and not any("nan" in t for t in texts)
    plt.close(ax.figure)


# ----------------------------------------------------------------------------- noise and diagnosis
def test_binomial_standard_error_matches_the_spread_of_simulated_test_sets():
    assert binomial_standard_error(0.975, 360) == pytest.approx(math.sqrt(0.975 * 0.025 / 360))
    assert binomial_standard_error([0.0, 1.0], 100).tolist() == [0.0, 0.0]
    assert np.isnan(binomial_standard_error(np.nan, 10))
    # the fraction right of 360 images, each right with probability 0.9, over many test sets
    rng = np.random.default_rng(0)
    fractions = rng.binomial(360, 0.9, size=200_000) / 360
    assert fractions.std() == pytest.approx(binomial_standard_error(0.9, 360), rel=0.01)
    with pytest.raises(ValueError, match="accuracy"):
        binomial_standard_error(97.5, 360)
    with pytest.raises(ValueError, match="n_images"):
        binomial_standard_error(0.9, 0)


def test_dead_units_counts_relu_units_silent_on_every_image(digits):
    X_train = digits[0]
    model = build_cnn(seed=0)
    before = dead_units(model, X_train)
    assert set(before) == {"conv", "hidden"}
    conv, hidden = model.get_layer("conv"), model.get_layer("hidden")
    alive_maps = np.flatnonzero(np.asarray(conv(X_train)).max(axis=(0, 1, 2)) > 0)[:4]
    kernel, bias = conv.get_weights()
    # four live feature maps get a negative kernel and bias: on pixels >= 0, z < 0 everywhere
    kernel[..., alive_maps], bias[alive_maps] = -np.abs(kernel[..., alive_maps]) - 0.1, -1.0
    conv.set_weights([kernel, bias])
    after_conv = dead_units(model, X_train)
    weights, bias = hidden.get_weights()
    probe = keras.Model(model.inputs[0], hidden.output)
    alive_units = np.flatnonzero(np.asarray(probe(X_train)).max(axis=0) > 0)
    bias[alive_units[:5]] = -1e6  # five live hidden units that no input can switch on now
    hidden.set_weights([weights, bias])
    after = dead_units(model, X_train)
    assert after["conv"] == pytest.approx(before["conv"] + 4 / 10)
    assert after["hidden"] == pytest.approx(after_conv["hidden"] + 5 / 50)
    with pytest.raises(ValueError, match="X"):
        dead_units(model, np.full_like(X_train, np.nan))


# ----------------------------------------------------------------------------- notebook 08
@pytest.mark.parametrize("padding", [((1, 1), (1, 1)), ((2, 0), (0, 3)), ((0, 0), (1, 2))])
def test_circular_padding_layer_equals_pad_input_circular(padding):
    from course_utils.convolution import pad_input, padding_amounts
    from course_utils.keras_models import CircularPadding2D

    X = np.random.default_rng(0).normal(size=(2, 3, 5, 6))  # (N, C, H, W)
    (top, bottom), (left, right) = padding
    expected = np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="wrap")
    got = np.asarray(CircularPadding2D(padding, dtype="float64")(X.transpose(0, 2, 3, 1)))
    np.testing.assert_array_equal(got.transpose(0, 3, 1, 2), expected)
    # and for the amounts our layer uses, the same as pad_input(..., "circular")
    amounts = padding_amounts("circular", 5, 6, 3, 4)
    layer = CircularPadding2D(((amounts[0], amounts[1]), (amounts[2], amounts[3])), dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer(X.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2),
                                  pad_input(X, "circular", 3, 4)[0])


def test_circular_padding_layer_and_ising_builder_reject_bad_arguments():
    from course_utils.keras_models import CircularPadding2D, build_ising_cnn

    with pytest.raises(ValueError, match=r"padding must be .*top = -1"):
        CircularPadding2D(((-1, 1), (1, 1)))
    with pytest.raises(ValueError, match="more than once"):
        CircularPadding2D(((4, 0), (0, 0)))(np.zeros((1, 3, 3, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="multiple of 4"):
        build_ising_cnn(10)
    model = build_ising_cnn(16, seed=0)
    assert model.output_shape == (None, 2)
    assert model.get_layer("circular_padding").compute_output_shape((None, 16, 16, 1)) == (
        None, 18, 18, 1)
