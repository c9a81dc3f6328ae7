"""Receptive fields: which input pixels a unit of a convolutional or pooling layer can see.

Notebook 03 (section 10) explains it. Along one axis, write for layer l its kernel (or
pooling window) size k_l, stride s_l and the zeros p_l it adds before the first pixel.
A unit of layer l sees r_l consecutive input pixels, neighbouring units of layer l sit
j_l input pixels apart (the jump), and unit 0's field starts at input pixel a_l
(negative when it reaches into the padding):

    r_l = r_{l-1} + (k_l - 1) * j_{l-1}        r_0 = 1
    j_l = j_{l-1} * s_l                         j_0 = 1
    a_l = a_{l-1} - p_l * j_{l-1}               a_0 = 0

Unit i of layer l then sees input pixels a_l + i j_l, ..., a_l + i j_l + r_l - 1 (those
that exist: padding zeros are not pixels), every one of them unless some layer's stride
exceeds its kernel (its windows then skip pixels, and the field has gaps). `receptive_field` applies the recurrence;
`gradient_support` finds the same pixels by brute force, from the layers' own backward
pass, so that the two can be compared.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._layer_base import Convolution2DBase, Layer, Pooling2DBase
from ._validation import positive_int
from .fast_layers import Convolution2DLayerOPT
from .layers import Pooling2DLayer

__all__ = ["LayerField", "gradient_support", "receptive_field"]

Pair = tuple[int, int]


@dataclass(frozen=True)
class LayerField:
    """Receptive field of the units of one layer, per axis (height, width).

    layer: the layer's class name. output_shape: (F, out_h, out_w) of one sample.
    size: (r_h, r_w) input pixels one unit sees (padding included). jump: (j_h, j_w)
    input pixels between neighbouring units. start: input row and column where unit
    (0, 0)'s field begins (negative inside the padding). input_shape: (C, H, W).
    complete: True if the unit depends on every pixel of its span. False once a layer
    combines units of the layer below whose fields do not touch (jump > size there, e.g.
    after a stride longer than its kernel): the field is the span with gaps, which
    gradient_support finds.
    """

    layer: str
    output_shape: tuple[int, int, int]
    size: Pair
    jump: Pair
    start: Pair
    input_shape: tuple[int, int, int]
    complete: bool = True

    def bounds(self, i: int, j: int) -> tuple[int, int, int, int]:
        """(top, bottom, left, right), half-open, of unit (i, j)'s field, clipped to the image.

        Rows top..bottom-1 and columns left..right-1 of the input; the part of the field
        that lies in the padding is cut off (it holds zeros, not pixels).
        """
        _, out_h, out_w = self.output_shape
        for name, value, limit in (("i", i, out_h), ("j", j, out_w)):
            if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                    or not 0 <= value < limit):
                raise ValueError(
                    f"{name} must be an integer unit index in 0..{limit - 1} (output shape "
                    f"{self.output_shape}), got {value!r}."
                )
        _, height, width = self.input_shape
        top = self.start[0] + i * self.jump[0]
        left = self.start[1] + j * self.jump[1]
        return (max(top, 0), min(top + self.size[0], height),
                max(left, 0), min(left + self.size[1], width))

    def mask(self, i: int, j: int) -> np.ndarray:
        """Boolean (H, W) array: True on the input pixels that unit (i, j) sees."""
        top, bottom, left, right = self.bounds(i, j)
        mask = np.zeros(self.input_shape[1:], dtype=bool)
        mask[top:bottom, left:right] = True
        return mask


def _image_layers(model) -> list[Layer]:
    """The convolution and pooling layers at the start of a CNN or a list of layers."""
    layers = getattr(model, "layers", model)
    if not isinstance(layers, Sequence) or isinstance(layers, str):
        raise TypeError(
            f"model must be a CNN or a list of layers, got {type(model).__name__}."
        )
    image_layers = []
    for index, layer in enumerate(layers):
        if isinstance(layer, (Convolution2DBase, Pooling2DBase)):
            image_layers.append(layer)
        elif isinstance(layer, Layer):
            break  # flatten and dense layers: every unit sees the whole input
        else:
            raise TypeError(
                f"layer {index} is {type(layer).__name__}, not a course_utils layer; pass a "
                "CNN or a list of Convolution2DLayer / Pooling2DLayer / ... objects."
            )
    if not image_layers:
        raise ValueError(
            "model has no convolution or pooling layer at its start: there is no receptive "
            "field to compute (a dense layer sees the whole input)."
        )
    return image_layers


def _check_input_shape(input_shape) -> tuple[int, int, int]:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (C, H, W) of one image, e.g. (1, 28, 28), got {input_shape!r}."
        )
    return tuple(positive_int("input_shape", n) for n in input_shape)


def receptive_field(model, input_shape: tuple[int, int, int]) -> list[LayerField]:
    """Receptive field size, jump and start of every convolution and pooling layer.

    model: a CNN, or a list of layers; its leading Convolution2DLayer / Pooling2DLayer
        layers are used (flatten and dense units see the whole input, so they are left out).
    input_shape: (C, H, W) of one input image; "same" padding depends on it.
    Returns one LayerField per image layer, in order: fields[l] belongs to layer l.
    ValueError if the input does not fit the layers (as CNN.fit would raise).
    """
    layers = _image_layers(model)
    shape = _check_input_shape(input_shape)
    input_shape = shape
    size, jump, start, complete = (1, 1), (1, 1), (0, 0), True
    fields = []
    for index, layer in enumerate(layers):
        try:
            output_shape = layer.output_shape(shape)
        except ValueError as error:
            raise ValueError(f"layer {index} ({type(layer).__name__}): {error}") from None
        if isinstance(layer, Convolution2DBase):
            top, _, left, _ = layer.padding(shape[1], shape[2])
        else:
            top, left = 0, 0  # pooling never pads
        kernel = (layer.kernel_height, layer.kernel_width)
        stride = (layer.v_stride, layer.h_stride)
        before = (top, left)
        # k windows of the layer below, j apart, each r wide, leave gaps if j > r
        complete = complete and all(k == 1 or j <= r for k, j, r in zip(kernel, jump, size))
        size = tuple(r + (k - 1) * j for r, k, j in zip(size, kernel, jump))
        start = tuple(a - p * j for a, p, j in zip(start, before, jump))
        jump = tuple(j * s for j, s in zip(jump, stride))
        fields.append(LayerField(type(layer).__name__, tuple(output_shape), size, jump,
                                 start, input_shape, complete))
        shape = output_shape
    return fields


def _positive_copy(layer: Layer) -> Layer:
    """Same geometry, all-ones kernel, identity activation, average pooling: every path from
    an input pixel to a unit then carries a positive weight, so no sum can cancel."""
    if isinstance(layer, Convolution2DBase):
        # one channel in, one out: the field does not depend on the number of channels
        probe = Convolution2DLayerOPT(
            1, 1, layer.kernel_height, layer.kernel_width, layer.v_stride, layer.h_stride,
            layer.pad, seed=0,
        )
        probe.params["kernel"] = np.ones_like(probe.params["kernel"])
        return probe
    return Pooling2DLayer(layer.kernel_height, layer.kernel_width, layer.v_stride,
                          layer.h_stride, pooling="average")


def gradient_support(
    model, input_shape: tuple[int, int, int], layer: int, unit: tuple[int, int]
) -> np.ndarray:
    """Brute force: the input pixels on which unit `unit` = (i, j) of image layer `layer` depends.

    Copies the geometry of the leading convolution/pooling layers with one channel,
    all-ones kernels, identity activations and average pooling (a maximum depends on
    every entry of its window, so max pooling has the same field; every channel of a
    convolution sees the same pixels), runs forward on an all-ones float64 image of
    size H x W (from input_shape (C, H, W)), and backward from a 1 at unit (i, j).
    Returns the boolean (H, W) array where the gradient w.r.t. the input is non-zero:
    the receptive field, found without the recurrence.
    """
    layers = _image_layers(model)
    shape = _check_input_shape(input_shape)
    if (isinstance(layer, bool) or not isinstance(layer, numbers.Integral)
            or not 0 <= layer < len(layers)):
        raise ValueError(
            f"layer must be the index of a convolution or pooling layer, 0..{len(layers) - 1}, "
            f"got {layer!r}."
        )
    field = receptive_field(layers[: layer + 1], shape)[-1]
    field.bounds(*unit)  # checks the unit index
    probes = [_positive_copy(each) for each in layers[: layer + 1]]
    A = np.ones((1, 1, *shape[1:]))
    for probe in probes:
        A = probe.forward(A)
    dA = np.zeros_like(A)
    dA[0, 0, unit[0], unit[1]] = 1.0
    for probe in reversed(probes):
        dA = probe.backward(dA)
    return dA[0, 0] != 0.0
