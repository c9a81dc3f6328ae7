"""What a trained network looks at: saliency and occlusion maps (notebooks 05 and 08).

Saliency (Simonyan, Vedaldi and Zisserman, 2014) is the gradient of one class's score with
respect to the input pixels, d score / dX: a pixel with a large |gradient| is one whose
small change moves the score most. It comes from the network's own backward pass: the
layers' public `forward`, then `backward` from the score down to the input, exactly the
chain rule that training uses (the weights are never changed).

Occlusion (Zeiler and Fergus, 2014) asks the same question with finite changes: cover a
patch of the input with a fill value and record how much the score drops. It needs no
gradient, and it sees effects a gradient cannot (a patch that matters only when removed
as a whole).

The score of class c for images X (N, C, H, W):

    "logit":        z_c, the output layer's input to its output function, Z = A W + b
                    (the unnormalised class score of Simonyan et al.)
    "probability":  p_c = output_func(Z)_c (softmax or sigmoid output layers)
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import finite_array
from .activations import sigmoid, softmax
from .convolution import conv_output_size
from .layers import OutputLayer

__all__ = ["class_score", "occlusion_map", "saliency"]

SCORES = ("logit", "probability")


def _layers(model) -> list:
    """The layers of a CNN (or a list of layers) that ends in an OutputLayer."""
    layers = list(getattr(model, "layers", model)) if not isinstance(model, str) else []
    if not layers or not isinstance(layers[-1], OutputLayer):
        raise ValueError(
            f"model must be a trained CNN (or a list of its layers) ending in an OutputLayer, "
            f"got {type(model).__name__}; build it with add_OutputLayer and fit it first."
        )
    if "weights" not in layers[-1].params:
        raise ValueError("model has not been trained or run yet (the output layer has no "
                         "weights): call fit or predict first.")
    return layers


def _images(X) -> np.ndarray:
    X = finite_array("X", X)
    if X.ndim != 4:
        raise ValueError(f"X must be a batch of images (N, C, H, W), got shape {X.shape}; "
                         "for one image pass image[None].")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)  # e.g. int8 spins: the gradient needs floats
    return X


def _targets(target, n_images: int, n_classes: int) -> np.ndarray:
    """One class index per image, from an int or a sequence of N ints."""
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n_images, t)
    if (t.shape != (n_images,) or not np.issubdtype(t.dtype, np.integer)
            or t.min() < 0 or t.max() >= n_classes):
        raise ValueError(
            f"target must be a class index 0..{n_classes - 1} or one per image ({n_images}), "
            f"got {target!r}."
        )
    return t


def _check_score(score: str, output: OutputLayer) -> None:
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}.")
    if score == "probability" and output.act_func not in (softmax, sigmoid):
        raise ValueError(
            f"score='probability' needs a softmax or sigmoid output layer, this one has "
            f"{getattr(output.act_func, '__name__', output.act_func)}; use score='logit'."
        )


def _forward(layers: list, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, Z, P): the output layer's input (N, n_in), its Z = A W + b and its output P."""
    A = X
    for layer in layers[:-1]:
        A = layer.forward(A)
    output = layers[-1]
    P = output.forward(A)
    weights = output.params["weights"].astype(A.dtype, copy=False)
    Z = A @ weights + output.params["bias"].astype(A.dtype, copy=False)
    return A, Z, P


def class_score(model, X, target, score: str = "logit") -> np.ndarray:
    """Score of class `target` for each image: (N,) from X (N, C, H, W).

    target: one class index, or one per image. score: "logit" or "probability" (module
    docstring). The same number whose gradient `saliency` returns.
    """
    layers, X = _layers(model), _images(X)
    _check_score(score, layers[-1])
    _, Z, P = _forward(layers, X)
    t = _targets(target, len(X), Z.shape[1])
    chosen = Z if score == "logit" else P
    return chosen[np.arange(len(X)), t]


def saliency(model, X, target, score: str = "logit") -> np.ndarray:
    """d score / dX for each image, through the layers' own backward passes.

    model: a CNN or its list of layers (ending in an OutputLayer). X: (N, C, H, W) images;
    pass float64 for a gradient check (the layers compute in X's dtype). target: the class
    whose score is differentiated, one index or one per image. score: "logit" (default) or
    "probability".
    Returns the signed gradient, shape (N, C, H, W). Show np.abs(...) of it (summed over
    channels) as the saliency map; the sign says in which direction a pixel pushes.
    Each image's score depends only on that image, so one backward pass of the batch
    gives every image's gradient. The layers' grads are overwritten (their weights are not).
    """
    layers, X = _layers(model), _images(X)
    output = layers[-1]
    _check_score(score, output)
    _, Z, P = _forward(layers, X)
    t = _targets(target, len(X), Z.shape[1])
    rows = np.arange(len(X))
    dZ = np.zeros_like(Z)
    dZ[rows, t] = 1.0  # d z_c / d Z
    if score == "probability":
        if output.act_func is softmax:  # d p_c / d Z = p_c (e_c - p)
            dZ = P[rows, t][:, None] * (dZ - P)
        else:  # sigmoid, element-wise: d p_c / d z_c = p_c (1 - p_c)
            dZ *= P * (1 - P)
    # Z = A W + b, so d score / dA = dZ W^T; below the output layer, each layer's own backward
    dA = dZ @ output.params["weights"].astype(dZ.dtype, copy=False).T
    for layer in reversed(layers[:-1]):
        dA = layer.backward(dA)
    return dA


def _positive_int(name: str, value, limit: int) -> int:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not 1 <= value <= limit):
        raise ValueError(f"{name} must be an integer from 1 to {limit}, got {value!r}.")
    return int(value)


def occlusion_map(model, image, target: int, patch: int = 4, stride: int = 1,
                  fill: float = 0.0, score: str = "probability") -> np.ndarray:
    """How much the score of class `target` drops when a patch of `image` is covered.

    image: one image (C, H, W). patch: side of the square patch (pixels); stride: step
    between patch positions; fill: the value the patch is covered with (0: black for
    MNIST, "no spin" for an Ising lattice). score: "probability" (default) or "logit".
    Returns (H, W): for each pixel, the mean drop score(image) - score(covered image) over
    the patch positions that cover it (NaN where none does, if stride > patch). Positive:
    covering the pixel lowers the score. All covered copies go through the network as one
    batch, (o_h * o_w) images with o = floor((H - patch) / stride) + 1.
    """
    layers = _layers(model)
    image = _images(np.asarray(image)[None] if np.ndim(image) == 3 else image)
    if len(image) != 1:
        raise ValueError(f"image must be one image (C, H, W), got shape {image.shape}.")
    _, _, height, width = image.shape
    patch = _positive_int("patch", patch, min(height, width))
    stride = _positive_int("stride", stride, max(height, width))
    fill = float(finite_array("fill", np.asarray(fill, dtype=float)))
    _check_score(score, layers[-1])
    rows = range(conv_output_size(height, patch, stride))
    cols = range(conv_output_size(width, patch, stride))
    covered = np.repeat(image, len(rows) * len(cols), axis=0)
    for n, (i, j) in enumerate((i, j) for i in rows for j in cols):
        covered[n, :, i * stride: i * stride + patch, j * stride: j * stride + patch] = fill
    reference = class_score(layers, image, target, score)[0]
    drops = reference - class_score(layers, covered, target, score)
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for n, (i, j) in enumerate((i, j) for i in rows for j in cols):
        total[i * stride: i * stride + patch, j * stride: j * stride + patch] += drops[n]
        count[i * stride: i * stride + patch, j * stride: j * stride + patch] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)
