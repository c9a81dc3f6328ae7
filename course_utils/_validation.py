"""Small shared checks that turn a student's mistake into a ValueError that says what to fix.

Every public function of the package validates its inputs with these before doing
any work, so a bad call never leaves a half-updated model behind.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def positive_int(name: str, value, hint: str = "") -> int:
    """Return `value` as int if it is a positive integer, else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name} must be a positive integer, got {value!r}.{extra}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Return `value` as int if it is an integer >= 0, else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
    return int(value)


def _finite_real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def positive_float(name: str, value, hint: str) -> float:
    """Return `value` as float if it is a finite number > 0, else raise ValueError naming
    `name` and ending with `hint` (a value that would work)."""
    if not _finite_real(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}; {hint}")
    return float(value)


def non_negative_float(name: str, value, hint: str) -> float:
    """Return `value` as float if it is a finite number >= 0, else raise ValueError naming
    `name` and ending with `hint`."""
    if not _finite_real(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}; {hint}")
    return float(value)


def finite_array(name: str, value, ndim: int | None = None, layout: str = "") -> np.ndarray:
    """Return `value` as a float ndarray after checking its rank and that it holds no NaN/inf.

    Integer input is converted to float64; float32 and float64 are kept as they are, so
    a float32 run stays cheap and a float64 run can be gradient-checked.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}.")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    if ndim is not None and array.ndim != ndim:
        where = f" {layout}" if layout else ""
        raise ValueError(f"{name} must have {ndim} dimensions{where}, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); clean or impute the data first."
        )
    return array


def is_non_negative_int(value) -> bool:
    """True for an int >= 0 (bool excluded)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= 0


def seed_or_none(seed):
    """`seed` if it is None or an int >= 0, else ValueError."""
    if seed is not None and not is_non_negative_int(seed):
        raise ValueError(f"seed must be None or an integer >= 0, got {seed!r}.")
    return seed


def generator(rng) -> np.random.Generator:
    """`rng` if it is a numpy Generator, else TypeError."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy Generator, e.g. np.random.default_rng(2023), got {rng!r}."
        )
    return rng


def function(name: str, func):
    """`func` if it is callable, else TypeError naming the parameter."""
    if not callable(func):
        raise TypeError(
            f"{name} must be a function such as LRELU, sigmoid or identity "
            f"(from course_utils.activations), got {func!r}."
        )
    return func


def flag(name: str, value) -> bool:
    """`value` if it is True or False, else TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


_PAD_NAMES = ("same", "valid", "circular")


def pad_spec(pad):
    """pad = "same" | "valid" | "circular" | int >= 0 | (ph, pw), normalised: a name, an int
    or a tuple."""
    message = (
        f'pad must be "same", "valid", "circular", an int >= 0 or a pair (ph, pw) of ints >= 0, '
        f"got {pad!r}."
    )
    if isinstance(pad, str):
        if pad not in _PAD_NAMES:
            # lower case only: the same names must work in the layers and in pad_input
            hint = f' Did you mean "{pad.lower()}"?' if pad.lower() in _PAD_NAMES else ""
            raise ValueError(message + hint)
        return pad
    if isinstance(pad, (tuple, list)):
        if len(pad) != 2 or not all(is_non_negative_int(p) for p in pad):
            raise ValueError(message)
        return (int(pad[0]), int(pad[1]))
    if not is_non_negative_int(pad):
        raise ValueError(message)
    return int(pad)


def image_shape(input_shape, layer: str) -> tuple[int, int, int]:
    """input_shape as (C, H, W) of positive ints, else ValueError naming `layer`."""
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or not all(is_non_negative_int(s) and s > 0 for s in input_shape)
    ):
        hint = f" {SIGNAL_TO_2D_HINT}" if _is_sizes(input_shape, 2) else ""
        raise ValueError(
            f"{layer} needs images: input_shape must be (C, H, W) with positive sizes, "
            f"got {input_shape!r}.{hint}"
        )
    return tuple(int(s) for s in input_shape)


# -- signals (N, C, L): the one-dimensional layers of layers_1d ----------------------

SIGNAL_TO_2D_HINT = (
    "This looks like signals (C, L): use Convolution1DLayer / Pooling1DLayer "
    "(CNN.add_Convolution1DLayer), or X[:, :, None, :] for images of height 1."
)
IMAGE_TO_1D_HINT = (
    "This looks like images (C, H, W): use Convolution2DLayer / Pooling2DLayer, or give "
    "one signal per row, e.g. X.reshape(N, C, H * W)."
)


def _is_sizes(shape, length: int) -> bool:
    return (
        isinstance(shape, (tuple, list)) and len(shape) == length
        and all(is_non_negative_int(s) and s > 0 for s in shape)
    )


def signal_shape(input_shape, layer: str) -> tuple[int, int]:
    """input_shape as (C, L) of positive ints, else ValueError naming `layer`."""
    if not _is_sizes(input_shape, 2):
        hint = f" {IMAGE_TO_1D_HINT}" if _is_sizes(input_shape, 3) else ""
        raise ValueError(
            f"{layer} needs signals: input_shape must be (C, L) (channels, length) with "
            f"positive sizes, got {input_shape!r}.{hint}"
        )
    return int(input_shape[0]), int(input_shape[1])


def signals(
    X, input_channels: int | None = None, name: str = "X", owner: str = "this layer"
) -> np.ndarray:
    """X as a finite float array of shape (N, C, L), with C == input_channels if given."""
    ndim = np.ndim(X)
    if ndim == 4:
        raise ValueError(
            f"{name} has shape {np.shape(X)}, images (N, C, H, W), but {owner} takes signals "
            f"(N, C, L). {IMAGE_TO_1D_HINT}"
        )
    if ndim == 2:
        raise ValueError(
            f"{name} has shape {np.shape(X)} but signals must be (N, C, L): batch, channels, "
            f"length; for one channel use {name}[:, None, :]."
        )
    X = finite_array(name, X, ndim=3, layout="(N, C, L): signals, channels, length")
    return _batch(X, "signals", input_channels, name, owner)


def flat_shape(input_shape) -> tuple[int, ...]:
    """input_shape as a non-empty tuple of positive ints, else ValueError."""
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) == 0
        or not all(is_non_negative_int(s) and s > 0 for s in input_shape)
    ):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}.")
    return tuple(int(s) for s in input_shape)


def channels_last_hint(shape: tuple[int, ...], name: str) -> str:
    """The fix for images stored channels last (Keras' layout) where (N, C, H, W) is expected."""
    return (
        f"{name} looks like (N, H, W, C) = {shape}, channels last as in Keras; "
        f"course_utils expects (N, C, H, W): use {name}.transpose(0, 3, 1, 2)"
    )


def images(
    X, input_channels: int | None = None, name: str = "X", owner: str = "this layer"
) -> np.ndarray:
    """X as a finite float array of shape (N, C, H, W), with C == input_channels if given.

    owner names what fixes the channels in the error message ("this layer", or the CNN's
    "the first convolutional layer").
    """
    if np.ndim(X) == 3:
        raise ValueError(
            f"{name} must have 4 dimensions (N, C, H, W): images, channels, height, width, "
            f"got shape {np.shape(X)}. {SIGNAL_TO_2D_HINT}"
        )
    X = finite_array(name, X, ndim=4, layout="(N, C, H, W): images, channels, height, width")
    return _batch(X, "images", input_channels, name, owner)


def _batch(X: np.ndarray, items: str, input_channels: int | None, name: str, owner: str):
    """X (signals or images, channels on axis 1) unless it is empty or has the wrong number
    of channels; the message says how to fix channels stored last, as in Keras."""
    if X.shape[0] == 0:
        raise ValueError(f"{name} holds no {items} (shape {X.shape}); give at least one.")
    if input_channels is not None and X.shape[1] != input_channels:
        hint = f"give {items} with {input_channels} channel(s) on axis 1"
        if X.shape[-1] == input_channels:
            hint = (channels_last_hint(X.shape, name) if X.ndim == 4 else
                    f"{name} looks like (N, L, C), channels last as in Keras: use "
                    f"{name}.transpose(0, 2, 1)")
        raise ValueError(
            f"{name} has {X.shape[1]} channel(s) on axis 1 (shape {X.shape}) but {owner} has "
            f"input_channels={input_channels}; {hint}."
        )
    return X


def scheduler(name: str, value) -> None:
    """TypeError unless `value` is a scheduler object (update_change and reset)."""
    if isinstance(value, type) or not (
        callable(getattr(value, "update_change", None)) and callable(getattr(value, "reset", None))
    ):
        raise TypeError(
            f"{name} must be a scheduler object such as Adam(eta=1e-3, rho=0.9, rho2=0.999) "
            f"(from course_utils.schedulers), got {value!r}."
        )


def targets(t, n_images: int, nodes: int, name: str, images_name: str) -> np.ndarray:
    """t as a finite (n_images, nodes) float array; ValueError saying how to fix it."""
    t_array = np.asarray(t)
    if t_array.ndim == 1 and nodes == 1:
        raise ValueError(
            f"{name} has shape {t_array.shape} but must be 2D (N, 1), one column per output "
            f"node; use {name}.reshape(-1, 1)."
        )
    if t_array.ndim == 1:
        if t_array.dtype.kind in "iub" or (
            t_array.dtype.kind == "f" and np.all(np.isfinite(t_array))
            and np.all(t_array == np.round(t_array))
        ):
            raise ValueError(
                f"{name} has shape {t_array.shape}: these look like integer class labels, "
                f"but the model needs one row per image with {nodes} columns; one-hot "
                f"encode them: {name} = course_utils.data.onehot({name}, {nodes})."
            )
        raise ValueError(
            f"{name} has shape {t_array.shape} but must be 2D (N, {nodes}), one column per "
            "output node."
        )
    t_array = finite_array(name, t_array, ndim=2, layout=f"(N, {nodes})")
    if t_array.shape[0] != n_images:
        raise ValueError(
            f"{name} has {t_array.shape[0]} rows but {images_name} has {n_images} images; "
            "give one target row per image."
        )
    if t_array.shape[1] != nodes:
        raise ValueError(
            f"{name} has {t_array.shape[1]} columns but the output layer has {nodes} nodes; "
            "make them equal (one-hot classes: course_utils.data.onehot)."
        )
    return t_array


def fit_settings(epochs, batches, n_images: int, lam, progress, parallel) -> tuple[int, int]:
    """(epochs, batches) as ints after checking every fit setting; ValueError/TypeError."""
    epochs = positive_int("epochs", epochs)
    batches = positive_int("batches", batches)
    if batches > n_images:
        raise ValueError(
            f"batches={batches} is larger than the number of images {n_images}; "
            f"use batches <= {n_images} (each mini-batch needs at least one image)."
        )
    non_negative_float("lam", lam, "try 0 or 1e-4.")
    flag("progress", progress)
    flag("parallel", parallel)
    return epochs, batches


def validation_pair(X_val, t_val) -> None:
    """ValueError unless both or neither of X_val, t_val are given."""
    if (X_val is None) != (t_val is None):
        raise ValueError(
            "give both X_val and t_val (validation images and targets), or neither; got "
            f"X_val={'None' if X_val is None else 'an array'}, "
            f"t_val={'None' if t_val is None else 'an array'}."
        )


def threshold(value) -> float:
    """`value` if it is a number in [0, 1], else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 <= value <= 1):
        raise ValueError(f"threshold must be a number between 0 and 1, got {value!r}.")
    return float(value)
