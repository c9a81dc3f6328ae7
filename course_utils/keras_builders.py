"""The Keras twins of our networks: the small CNN of notebook 07's grid search and the Ising
CNN of notebook 08, with the periodic padding Keras lacks (CircularPadding2D) and our LRELU.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from ._validation import non_negative_float, positive_float, positive_int
from .keras_import import keras

__all__ = ["CircularPadding2D", "build_cnn", "build_ising_cnn", "leaky_relu"]


def build_cnn(
    input_shape: tuple[int, int, int] = (8, 8, 1),
    n_classes: int = 10,
    filters: int = 10,
    kernel_size: int = 3,
    dense_units: int = 50,
    eta: float = 0.1,
    lam: float = 1e-4,
    *,
    padding: str = "same",
    seed: int | None = None,
    steps_per_execution: int = 1,
) -> keras.Model:
    """The lecture's small CNN, compiled for plain SGD on categorical cross-entropy.

    Layers (shapes for the default 8 x 8 x 1 digits and padding="same"):

        Input (H, W, C)                                   (8, 8, 1)
        Conv2D(filters, kernel_size x kernel_size, ReLU)  (8, 8, 10)  "valid": (6, 6, 10)
        MaxPooling2D(2 x 2, stride 2)                     (4, 4, 10)          (3, 3, 10)
        Flatten                                           (160,)              (90,)
        Dense(dense_units, ReLU)                          (50,)
        Dense(n_classes, softmax)                         (10,)

    input_shape: (height, width, channels) of ONE image; Keras wants channels last,
        unlike our from-scratch CNN's (N, C, H, W).
    eta: learning rate of keras.optimizers.SGD (no momentum).
    lam: L2 strength; every kernel (not the biases) adds lam * sum(w**2) to the loss,
        so each SGD step also shrinks w by the factor (1 - 2 * eta * lam).
    padding: "same" (zeros around the border keep the 8 x 8 map; on such small images this
        measurably helps held-out accuracy) or "valid" (the lecture's choice: H - k + 1).
    seed: if given, keras.utils.set_random_seed(seed) runs first, so the same seed gives
        the same initial weights (it also seeds Python's and NumPy's global generators).
    steps_per_execution: SGD steps per call into TensorFlow; more steps per call means
        less Python overhead per step (grid_search uses one call per epoch).
    Returns a compiled keras.Model with loss "categorical_crossentropy" (targets are
    one-hot rows) and metric "accuracy".
    """
    if (not isinstance(input_shape, Sequence) or len(input_shape) != 3
            or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                       for n in input_shape)):
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive ints, got "
            f"{input_shape!r}; for the 8 x 8 grey digits use input_shape=(8, 8, 1)."
        )
    height, width, channels = (int(n) for n in input_shape)
    if channels > min(height, width):
        raise ValueError(
            f"input_shape={tuple(input_shape)} has more channels than pixels along a side: "
            f"Keras wants channels LAST. Did you pass (C, H, W)? Use ({input_shape[1]}, "
            f"{input_shape[2]}, {input_shape[0]})."
        )
    n_classes = positive_int("n_classes", n_classes)
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}; digits have 10.")
    filters = positive_int("filters", filters)
    kernel_size = positive_int("kernel_size", kernel_size)
    dense_units = positive_int("dense_units", dense_units)
    eta = positive_float("eta", eta, "e.g. eta=0.1.")
    lam = non_negative_float("lam", lam, "use lam=0 for no L2 penalty.")
    steps_per_execution = positive_int("steps_per_execution", steps_per_execution)
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
    if padding == "valid" and kernel_size > min(height, width):
        raise ValueError(
            f"kernel_size={kernel_size} is larger than the {height} x {width} input; use "
            f"kernel_size <= {min(height, width)} or padding='same'."
        )
    if min(height, width) < 2:
        raise ValueError(
            f"input_shape={tuple(input_shape)} is too small for the 2 x 2 max pooling; images "
            f"need at least 2 x 2 pixels."
        )
    if padding == "valid" and min(height, width) - kernel_size + 1 < 2:
        raise ValueError(
            f"kernel_size={kernel_size} with padding='valid' leaves a feature map smaller than "
            f"the 2 x 2 max pooling; use kernel_size <= {min(height, width) - 1} or "
            f"padding='same'."
        )
    if seed is not None:
        keras.utils.set_random_seed(int(seed))

    def l2():  # one regulariser object per layer, as Keras expects
        return keras.regularizers.l2(lam)

    model = keras.Sequential(
        [
            keras.Input(shape=(height, width, channels)),
            keras.layers.Conv2D(filters, kernel_size, padding=padding, activation="relu",
                                kernel_regularizer=l2(), name="conv"),
            keras.layers.MaxPooling2D(pool_size=2, strides=2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(dense_units, activation="relu", kernel_regularizer=l2(),
                               name="hidden"),
            keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=l2(),
                               name="output"),
        ],
        name="digits_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=eta),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


@keras.saving.register_keras_serializable(package="course_utils")
class CircularPadding2D(keras.layers.Layer):
    """Periodic padding of (N, H, W, C) images, the Keras twin of pad="circular".

    Keras' Conv2D pads only with zeros, so a lattice on a torus is padded here and then
    convolved with padding="valid". padding: ((top, bottom), (left, right)); the rows
    added above are the last `top` rows, those below the first `bottom` rows, likewise
    for columns (each at most the image size). Built from keras.ops, so gradients flow
    back to the pixels the copies came from.
    """

    def __init__(self, padding=((1, 1), (1, 1)), **kwargs):
        super().__init__(**kwargs)
        (top, bottom), (left, right) = padding
        for name, value in (("top", top), ("bottom", bottom), ("left", left), ("right", right)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"padding must be ((top, bottom), (left, right)) of ints >= 0, got "
                    f"{padding!r} ({name} = {value!r})."
                )
        self.padding = ((int(top), int(bottom)), (int(left), int(right)))

    def call(self, x):
        (top, bottom), (left, right) = self.padding
        height, width = x.shape[1], x.shape[2]
        if max(top, bottom) > height or max(left, right) > width:
            raise ValueError(
                f"circular padding {self.padding} wraps round a {height} x {width} image more "
                "than once; use padding no larger than the image."
            )
        rows = [x[:, height - top :]] if top else []
        x = keras.ops.concatenate(rows + [x] + ([x[:, :bottom]] if bottom else []), axis=1)
        columns = [x[:, :, width - left :]] if left else []
        return keras.ops.concatenate(columns + [x] + ([x[:, :, :right]] if right else []), axis=2)

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        n, height, width, channels = input_shape
        return (n, None if height is None else height + top + bottom,
                None if width is None else width + left + right, channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def leaky_relu(z):
    """Our LRELU (slope 0.001, course_utils.activations) in the dtype of z."""
    from .activations import LRELU_SLOPE

    return keras.ops.where(z > 0, z, keras.ops.cast(LRELU_SLOPE, z.dtype) * z)


def build_ising_cnn(L: int, feature_maps: int = 4, dense_units: int = 16, eta: float = 3e-3,
                    *, seed: int | None = None) -> keras.Model:
    """Keras twin of notebook 08's from-scratch CNN for L x L lattices (L divisible by 4).

        Input (L, L, 1) -> CircularPadding2D(1) -> Conv2D(feature_maps, 3x3, "valid", LRELU)
        -> AveragePooling2D(L/4) -> Flatten -> Dense(dense_units, LRELU) -> Dense(2, softmax)

    Compiled with Adam(eta) on categorical cross-entropy. Flatten orders features
    (H, W, C) where ours orders (C, H, W): copy the first dense layer's weights accordingly.
    """
    L = positive_int("L", L)
    if L % 4 or L < 4:
        raise ValueError(f"L must be a multiple of 4 (the pooling takes L/4 blocks), got L = {L}.")
    feature_maps = positive_int("feature_maps", feature_maps)
    dense_units = positive_int("dense_units", dense_units)
    eta = positive_float("eta", eta, "e.g. eta=1e-3.")
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = keras.Sequential(
        [
            keras.Input(shape=(L, L, 1)),
            CircularPadding2D(((1, 1), (1, 1)), name="circular_padding"),
            keras.layers.Conv2D(feature_maps, 3, padding="valid", activation=leaky_relu, name="conv"),
            keras.layers.AveragePooling2D(pool_size=L // 4, strides=L // 4, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(dense_units, activation=leaky_relu, name="hidden"),
            keras.layers.Dense(2, activation="softmax", name="output"),
        ],
        name="ising_cnn",
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=eta),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model
