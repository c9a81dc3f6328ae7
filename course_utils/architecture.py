"""The geometry of a stack of layers: the shape after each layer, the parameter counts, the
summary table, and the checks of data against it (CNN.output_shapes, parameter_counts,
summary and fit's data checks call these). Images are (C, H, W) per sample; signals
(C, L), for the 1D layers of layers_1d, which do not mix with the 2D ones in one model.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from ._layer_base import Convolution2DBase, Layer, Pooling2DBase
from .layers import FlattenLayer, FullyConnectedLayer, OutputLayer
from .layers_1d import Convolution1DLayer, Pooling1DLayer

__all__ = ["SummaryText", "check_can_add", "check_channels", "check_data", "check_images",
           "output_shapes", "parameter_counts", "summary_table"]

Shape = tuple[int, ...]

# the layers of signals (N, C, L) and those of images (N, C, H, W), which do not mix
_SIGNAL_LAYERS = (Convolution1DLayer, Pooling1DLayer)
_IMAGE_LAYERS = (Convolution2DBase, Pooling2DBase)
_CONV_LAYERS = (Convolution2DBase, Convolution1DLayer)


def output_shapes(layers: list[Layer], input_shape: Shape) -> list[Shape]:
    """Shape of one sample after each layer, in order, for images of shape (C, H, W) (or
    signals (C, L)).

    ValueError naming the first layer the input does not fit (a kernel larger than its
    padded input, a channel mismatch, a dense layer before flattening).
    """
    shapes, shape = [], tuple(input_shape)
    for index, layer in enumerate(layers):
        try:
            shape = layer.output_shape(shape)
        except ValueError as error:
            raise ValueError(f"layer {index} ({type(layer).__name__}): {error}") from None
        shapes.append(shape)
    return shapes


def parameter_counts(layers: list[Layer], input_shape: Shape) -> list[int]:
    """Trainable parameters of each layer for images of shape (C, H, W); the weights need
    not exist yet. Conv: C*F*kh*kw + F, whatever the image size (weight sharing); dense:
    n_in*nodes + nodes, n_in depending on the image size; pooling and flattening: none."""
    inputs = [tuple(input_shape), *output_shapes(layers, input_shape)[:-1]]
    return [_parameter_count(layer, shape) for layer, shape in zip(layers, inputs)]


def _parameter_count(layer: Layer, input_shape: Shape) -> int:
    if isinstance(layer, Convolution1DLayer):
        return layer.input_channels * layer.feature_maps * layer.kernel_size + layer.feature_maps
    if isinstance(layer, Convolution2DBase):
        kernel = layer.input_channels * layer.feature_maps * layer.kernel_height * layer.kernel_width
        return kernel + layer.feature_maps
    if isinstance(layer, FullyConnectedLayer):
        return int(input_shape[0]) * layer.nodes + layer.nodes
    return 0


class SummaryText(str):
    """The text of CNN.summary(): a str that shows as the plain table, not an escaped string.

    summary() has already printed the table, so as the last expression of a notebook
    cell it displays nothing more (_ipython_display_), and repr() is the table itself.
    """

    def __repr__(self) -> str:
        return str(self)

    def _ipython_display_(self) -> None:
        pass


def summary_table(layers: list[Layer], input_shape: Shape) -> SummaryText:
    """The table of CNN.summary: each layer, its output shape, its parameter count, total."""
    counts = parameter_counts(layers, input_shape)
    rows = [("Layer", "Output shape", "Parameters")] + [
        (type(layer).__name__, str(shape), f"{count:,}")
        for layer, shape, count in zip(layers, output_shapes(layers, input_shape), counts)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    line = "-" * (sum(widths) + 4)

    def fmt(row):
        return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"

    what = "signals of shape (C, L)" if len(input_shape) == 2 else "images of shape (C, H, W)"
    return SummaryText("\n".join(
        [f"Input: {what} = {tuple(input_shape)}", line, fmt(rows[0]), line]
        + [fmt(row) for row in rows[1:]]
        + [line, f"Total parameters: {sum(counts):,}"]
    ))


def check_images(layers: list[Layer], X, name: str, fitted_shape: Shape | None) -> np.ndarray:
    """X as a finite float (N, C, H, W) array that fits the layers (and the (C, H, W) the
    weights were made for, if any); (N, C, L) signals for the 1D layers, and for a model
    of flatten and dense layers only."""
    convs = [layer for layer in layers if isinstance(layer, _CONV_LAYERS)]
    # pooling layers before the first conv layer keep the number of channels
    channels = convs[0].input_channels if convs else None
    owner = "the first convolutional layer"
    signals = any(isinstance(layer, _SIGNAL_LAYERS) for layer in layers) or (
        np.ndim(X) == 3 and not any(isinstance(layer, _IMAGE_LAYERS) for layer in layers)
    )
    if signals:
        X = check.signals(X, channels, name, owner=owner)
    else:
        X = check.images(X, channels, name, owner=owner)
    if not signals and (
        channels is None and X.shape[3] in (1, 3) and X.shape[1] not in (1, 3)
        and (fitted_shape is None or X.shape[1:] != fitted_shape)
    ):
        # no conv layer fixes the channels, but 1 or 3 on the last axis and something
        # else on axis 1 is almost surely grey or RGB images stored channels last
        raise ValueError(
            f"{name} has {X.shape[3]} channel(s) on the last axis and {X.shape[1]} on "
            f"axis 1; {check.channels_last_hint(X.shape, name)}."
        )
    if fitted_shape is not None and X.shape[1:] != fitted_shape:
        raise ValueError(
            f"{name} has images of shape {X.shape[1:]} but this model's weights were made "
            f"for images of shape (C, H, W) = {fitted_shape}; resize the images or "
            "build a new CNN."
        )
    output_shapes(layers, X.shape[1:])
    return X


def check_data(layers: list[Layer], X, t, X_val, t_val, fitted_shape: Shape | None):
    """X, t, X_val, t_val checked against the layers (the last one the output layer) and
    each other; returns them as arrays."""
    nodes = layers[-1].nodes
    X = check_images(layers, X, "X", fitted_shape)
    t = check.targets(t, X.shape[0], nodes, "t", "X")
    check.validation_pair(X_val, t_val)
    if X_val is not None:
        X_val = check_images(layers, X_val, "X_val", fitted_shape)
        if X_val.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"X_val has images of shape {X_val.shape[1:]} but X has {X.shape[1:]} "
                "(C, H, W); validation images must have the shape of the training images."
            )
        t_val = check.targets(t_val, X_val.shape[0], nodes, "t_val", "X_val")
    return X, t, X_val, t_val


def check_can_add(layers: list[Layer], method: str, images: bool, dimensions: int | None = 2) -> None:
    """Architecture mistakes, raised when `method` would add a layer to `layers`: after the
    output layer, an image layer after flattening, a dense layer before it, a layer of
    signals (dimensions=1) with one of images (dimensions=2; None: flattening, either)."""
    other = _SIGNAL_LAYERS if dimensions == 2 else _IMAGE_LAYERS
    if images and dimensions and any(isinstance(layer, other) for layer in layers):
        kinds = ("signals (N, C, L)", "images (N, C, H, W)")[:: 1 if dimensions == 2 else -1]
        raise ValueError(
            f"{method}(): this model's layers take {kinds[0]}, this one {kinds[1]}; "
            "use the 1D layers (add_Convolution1DLayer, add_Pooling1DLayer) for signals "
            "and the 2D ones for images, not both in one model."
        )
    if layers and isinstance(layers[-1], OutputLayer):
        raise ValueError(
            f"{method}(): the model already ends with its output layer; "
            "add_OutputLayer() must be called last."
        )
    last = layers[-1] if layers else None
    flat = isinstance(last, (FlattenLayer, FullyConnectedLayer))
    if images and flat:
        what = "a FlattenLayer" if method == "add_FlattenLayer" else "an image layer"
        raise ValueError(
            f"{method}(): cannot add {what} after {type(last).__name__}: the data is "
            "already flat (N, features). Add convolution and pooling layers before "
            "add_FlattenLayer(), and flatten only once."
        )
    if not images and not flat:
        before = f"after {type(last).__name__}" if last else "as the first layer"
        raise ValueError(
            f"{method}(): a dense layer needs flat input (N, features), but it would come "
            f"{before}, which gives images (N, C, H, W); call add_FlattenLayer() first."
        )


def check_channels(layers: list[Layer], input_channels) -> None:
    """A new convolutional layer's input_channels must be the feature_maps of the previous
    convolutional layer, if any (pooling keeps the channels)."""
    previous = [layer for layer in layers if isinstance(layer, _CONV_LAYERS)]
    if previous and input_channels != previous[-1].feature_maps:
        raise ValueError(
            f"input_channels={input_channels!r} but the previous convolutional layer makes "
            f"feature_maps={previous[-1].feature_maps}; set input_channels="
            f"{previous[-1].feature_maps} (each feature map is a channel of the next layer)."
        )
