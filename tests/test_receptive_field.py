"""Tests of course_utils.receptive_field: the recurrence against two brute-force searches."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import CNN, softmax
from course_utils.fast_layers import Convolution2DLayerOPT
from course_utils.layers import (
    Convolution2DLayer,
    FlattenLayer,
    FullyConnectedLayer,
    Pooling2DLayer,
)
from course_utils.receptive_field import gradient_support, receptive_field


def notebook05_cnn() -> CNN:
    """conv 3x3 same -> max pool 2/2 -> conv 3x3 same -> max pool 2/2 -> dense (untrained)."""
    cnn = CNN(seed=0)
    cnn.add_Convolution2DLayer(1, 16, 3, 3)
    cnn.add_PoolingLayer(2, 2, 2, 2)
    cnn.add_Convolution2DLayer(16, 32, 3, 3)
    cnn.add_PoolingLayer(2, 2, 2, 2)
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(8)
    cnn.add_OutputLayer(10, softmax)
    return cnn


def test_notebook05_network_by_hand():
    # r: 1 -> 1+2*1 = 3 -> 3+1*1 = 4 -> 4+2*2 = 8 -> 8+1*2 = 10; j: 1, 2, 2, 4;
    # start: "same" pads one zero before each conv: 0 -> -1 -> -1 -> -1-1*2 = -3 -> -3
    fields = receptive_field(notebook05_cnn(), (1, 28, 28))
    assert [f.size for f in fields] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert [f.jump for f in fields] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert [f.start for f in fields] == [(-1, -1), (-1, -1), (-3, -3), (-3, -3)]
    assert [f.output_shape for f in fields] == [(16, 28, 28), (16, 14, 14), (32, 14, 14),
                                                (32, 7, 7)]
    last = fields[-1]
    assert last.bounds(0, 0) == (0, 7, 0, 7)          # rows -3..6, the padding cut off
    assert last.bounds(3, 6) == (9, 19, 21, 28)       # rows 9..18, columns 21..30 -> 27
    assert last.mask(3, 6).sum() == 10 * 7


def test_a_cnn_and_its_list_of_layers_give_the_same_fields():
    cnn = notebook05_cnn()
    assert receptive_field(cnn, (1, 28, 28)) == receptive_field(cnn.layers, (1, 28, 28))
    assert receptive_field(cnn.layers[:2], (1, 28, 28)) == receptive_field(cnn, (1, 28, 28))[:2]


# Architectures with strides, asymmetric "same" padding (even kernels, strides > 1),
# explicit and rectangular padding, overlapping pooling and rectangular kernels.
ARCHITECTURES = {
    "notebook 05": (notebook05_cnn().layers[:4], (1, 28, 28)),
    "strided same, even kernels": (
        [Convolution2DLayerOPT(2, 3, 4, 4, 2, 2, "same"),
         Convolution2DLayer(3, 2, 2, 2, 1, 1, "same"),
         Convolution2DLayerOPT(2, 2, 3, 3, 2, 2, "same")], (2, 17, 14)),
    "valid, overlapping pooling": (
        [Convolution2DLayerOPT(1, 2, 5, 5, 1, 1, "valid"), Pooling2DLayer(3, 3, 2, 2),
         Convolution2DLayerOPT(2, 1, 3, 3, 1, 1, "valid"), Pooling2DLayer(2, 2, 1, 1, "average")],
        (1, 23, 20)),
    "explicit and rectangular padding": (
        [Convolution2DLayerOPT(1, 2, 3, 5, 2, 1, (2, 0)), Pooling2DLayer(2, 3, 2, 3),
         Convolution2DLayerOPT(2, 1, 2, 3, 1, 2, 1)], (1, 15, 19)),
    "stride larger than kernel": (
        [Convolution2DLayerOPT(1, 1, 2, 2, 3, 3, "valid"), Convolution2DLayerOPT(1, 1, 3, 3, 1, 1, 2)],
        (1, 16, 13)),
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_unit_depends_exactly_on_its_field(name):
    layers, shape = ARCHITECTURES[name]
    fields = receptive_field(layers, shape)
    for index, field in enumerate(fields):
        _, out_h, out_w = field.output_shape
        gaps = 0
        for i in range(out_h):
            for j in range(out_w):
                support = gradient_support(layers, shape, index, (i, j))
                message = f"{name}: layer {index}, unit {(i, j)}"
                if field.complete:
                    np.testing.assert_array_equal(support, field.mask(i, j), err_msg=message)
                else:  # a stride longer than its kernel skips pixels inside the span
                    assert np.all(field.mask(i, j)[support]), message
                    gaps += int(support.sum() < field.mask(i, j).sum())
        assert field.complete or gaps > 0, f"{name}: layer {index} has no gap"


def _positive_max_network(layers):
    """Same geometry, all-ones kernels, identity activations, MAX pooling (float64)."""
    copies = []
    for layer in layers:
        if isinstance(layer, (Convolution2DLayer, Convolution2DLayerOPT)):
            copy = Convolution2DLayer(1, 1, layer.kernel_height, layer.kernel_width,
                                      layer.v_stride, layer.h_stride, layer.pad, seed=0)
            copy.params["kernel"][:] = 1.0
        else:
            copy = Pooling2DLayer(layer.kernel_height, layer.kernel_width, layer.v_stride,
                                  layer.h_stride, "max")
        copies.append(copy)
    return copies


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_perturbing_one_pixel_changes_a_unit_exactly_inside_its_field(name):
    # Independent of any backward pass: add a large value to one pixel at a time and see
    # which units of the last layer move. With all-ones kernels no sum can cancel, and the
    # perturbed values exceed every untouched one, so a max over a window that contains one
    # must move too: max pooling has the same field as average pooling.
    layers, shape = ARCHITECTURES[name]
    network = _positive_max_network(layers)
    field = receptive_field(layers, shape)[-1]

    height, width = shape[1:]
    # image 0 is all ones; image 1 + r * width + c has 1e6 added at pixel (r, c)
    images = np.ones((1 + height * width, 1, height, width))
    images[1:, 0].reshape(height * width, -1)[np.arange(height * width), np.arange(height * width)] += 1e6
    A = images
    for layer in network:
        A = layer.forward(A)
    reference = A[0, 0]
    # moved[i, j, r, c]: unit (i, j) changed when pixel (r, c) was perturbed
    moved = (A[1:, 0] != reference).transpose(1, 2, 0).reshape(*reference.shape, height, width)
    for i in range(reference.shape[0]):
        for j in range(reference.shape[1]):
            if field.complete:
                np.testing.assert_array_equal(moved[i, j], field.mask(i, j),
                                              err_msg=f"{name}: unit {(i, j)}")
            else:
                np.testing.assert_array_equal(
                    moved[i, j], gradient_support(layers, shape, len(layers) - 1, (i, j)))


def test_a_stride_longer_than_its_kernel_leaves_gaps():
    # kernel 2, stride 3: first-layer units see pixels {0, 1}, {3, 4}, ...; pixel 2 is never seen
    layers = [Convolution2DLayerOPT(1, 1, 2, 2, 3, 3, "valid"), Convolution2DLayerOPT(1, 1, 3, 3)]
    fields = receptive_field(layers, (1, 11, 11))
    assert [f.complete for f in fields] == [True, False]
    assert fields[1].size == (8, 8) and fields[1].jump == (3, 3)
    assert all(f.complete for name in ARCHITECTURES if name != "stride larger than kernel"
               for f in receptive_field(*ARCHITECTURES[name]))
    support = gradient_support(layers, (1, 11, 11), 1, (1, 1))
    np.testing.assert_array_equal(support.any(axis=1), [c % 3 != 2 for c in range(11)][:8] + [False] * 3)


def test_layers_after_flatten_are_left_out():
    layers = [Convolution2DLayerOPT(1, 1, 3, 3), FlattenLayer(), FullyConnectedLayer(4)]
    assert len(receptive_field(layers, (1, 8, 8))) == 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: receptive_field(notebook05_cnn(), (28, 28)), "input_shape"),
        (lambda: receptive_field(notebook05_cnn(), (1, 28, 0)), "input_shape"),
        (lambda: receptive_field(notebook05_cnn(), (3, 28, 28)), "channel"),
        (lambda: receptive_field([Convolution2DLayerOPT(1, 1, 5, 5, pad="valid")], (1, 4, 4)),
         "layer 0"),
        (lambda: receptive_field([FlattenLayer()], (1, 4, 4)), "no convolution"),
        (lambda: receptive_field(notebook05_cnn(), (1, 28, 28))[0].bounds(28, 0), "i must"),
        (lambda: receptive_field(notebook05_cnn(), (1, 28, 28))[3].mask(0, -1), "j must"),
        (lambda: gradient_support(notebook05_cnn(), (1, 28, 28), 4, (0, 0)), "layer must"),
        (lambda: gradient_support(notebook05_cnn(), (1, 28, 28), 3, (7, 0)), "i must"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "model, match", [([np.ones(3)], "not a course_utils layer"), ("conv", "model must")]
)
def test_something_else_than_layers_raises_type_error(model, match):
    with pytest.raises(TypeError, match=match):
        receptive_field(model, (1, 4, 4))
