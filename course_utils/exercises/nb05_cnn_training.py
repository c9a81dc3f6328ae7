"""Notebook 05 (training on MNIST): parameter counts, shifted images."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
    same_int_list,
)


def _parameter_count_reference(input_shape, layers):
    """Per-layer trainable parameters, read from a course_utils CNN built from `layers`."""
    from course_utils.cnn import CNN

    cnn = CNN(seed=0)
    channels = input_shape[0]
    for layer in layers:
        if layer[0] == "conv":
            _, feature_maps, k, s, pad = layer
            cnn.add_Convolution2DLayer(channels, feature_maps, k, k, v_stride=s, h_stride=s, pad=pad)
            channels = feature_maps
        elif layer[0] == "pool":
            cnn.add_PoolingLayer(layer[1], layer[1], v_stride=layer[2], h_stride=layer[2])
        elif layer[0] == "flatten":
            cnn.add_FlattenLayer()
        else:
            cnn.add_FullyConnectedLayer(layer[1])
    return cnn.parameter_counts(tuple(input_shape))



def _parameter_count_cases(rng):
    # layers: ("conv", feature_maps, k, stride, pad) with a square k x k kernel and pad
    # "same" or "valid"; ("pool", k, stride); ("flatten",); ("dense", nodes).
    digit_cnn = [("conv", 16, 3, 1, "same"), ("pool", 2, 2), ("conv", 32, 3, 1, "same"),
                 ("pool", 2, 2), ("flatten",), ("dense", 128), ("dense", 10)]
    cases = [
        ((1, 4, 4), [("conv", 2, 3, 1, "valid")]),
        ((1, 4, 4), [("conv", 2, 3, 1, "same"), ("pool", 2, 2), ("flatten",), ("dense", 3)]),
        ((3, 5, 5), [("conv", 4, 3, 1, "valid"), ("flatten",), ("dense", 2)]),
        ((1, 7, 7), [("conv", 2, 3, 2, "same"), ("flatten",), ("dense", 5)]),
        ((2, 9, 9), [("conv", 3, 3, 2, "valid"), ("pool", 2, 1), ("flatten",), ("dense", 4)]),
        ((1, 28, 28), digit_cnn),
    ]
    while len(cases) < 20:
        channels, size = int(rng.integers(1, 4)), int(rng.integers(8, 33))
        layers = []
        for _ in range(int(rng.integers(1, 4))):
            k, s = int(rng.integers(1, 6)), int(rng.integers(1, 3))
            layers.append(("conv", int(rng.integers(1, 9)), k, s, ("same", "valid")[int(rng.integers(2))]))
            if rng.random() < 0.6:
                layers.append(("pool", int(rng.integers(2, 4)), int(rng.integers(1, 4))))
        layers += [("flatten",), ("dense", int(rng.integers(1, 40))), ("dense", 10)]
        try:
            _parameter_count_reference((channels, size, size), layers)
        except ValueError:  # a kernel or window larger than what reaches it
            continue
        cases.append(((channels, size, size), layers))
    return cases


def _shift_cases(rng):
    square = np.arange(1.0, 10.0).reshape(3, 3)
    cases = [(square, 0, 0), (square, 1, 0), (square, 0, 1), (square, -1, 0), (square, 0, -1),
             (square, 1, -2), (np.arange(1.0, 13.0).reshape(3, 4), -2, 3)]
    for _ in range(8):
        height, width = (int(v) for v in rng.integers(2, 8, size=2))
        cases.append((rng.normal(size=(height, width)).round(3),
                      int(rng.integers(-height + 1, height)), int(rng.integers(-width + 1, width))))
    return cases


def _shift_reference(image, dy, dx):
    from course_utils.data import shift_images

    return shift_images(image, dy, dx)


EXERCISES = (
    Exercise("parameter_count", _parameter_count_cases, _parameter_count_reference,
             same_int_list, ("input_shape", "layers"),
             reference_label="CNN(...).summary(input_shape) of these layers",
             references=("CNN", "count_params", "parameter_counts", "summary", "build_cnn")),
    Exercise("shift", _shift_cases, _shift_reference, same_array(rtol=0, atol=0),
             ("image", "dy", "dx"), references=("shift_images",)),
)
