"""Notebook 09 (signals in one dimension): the matched filter of a template, the receptive
field of a stack of 1D convolutions (stride, dilation), and the detection probability at a
given false-alarm rate."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
    same_float,
    same_ints,
)


def _matched_filter_reference(x, template):
    """z[i] = sum_j x[i + j] template[j] / ||template||, the valid positions."""
    from course_utils.signals import matched_filter

    return matched_filter(np.asarray(x, dtype=float)[None, :], template)[0]


def _matched_filter_cases(rng):
    from course_utils.signals import chirp_template

    cases = [(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0])),
             (np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0])),
             (np.array([1.0, -1.0, 2.0, 0.0, 3.0]), np.array([3.0, 4.0])),
             (np.array([2.0, 0.0, -1.0]), np.array([1.0, 0.0, -1.0]))]
    for _ in range(8):
        m = int(rng.integers(4, 20))
        x = rng.normal(size=int(rng.integers(m, 60)))
        cases.append((x, rng.normal(size=m) if rng.random() < 0.5 else chirp_template(m)))
    return cases


def _receptive_field_reference(layers):
    """Input samples one output of a stack of 1D convolutions sees: the smallest signal the
    stack, unpadded, turns into one output (Convolution1DLayer's own arithmetic)."""
    from course_utils.layers_1d import Convolution1DLayer

    stack = [Convolution1DLayer(1, 1, k, s, "valid", d, seed=0) for k, s, d in layers]
    length = 1
    while True:
        shape = (1, length)
        try:
            for layer in stack:
                shape = layer.output_shape(shape)
            return length
        except ValueError:  # a kernel longer than what reaches it
            length += 1


def _receptive_field_cases(rng):
    cases = [([(3, 1, 1)],), ([(3, 1, 1), (3, 1, 1)],), ([(3, 1, 2)],),
             ([(3, 1, 1), (3, 1, 2), (3, 1, 4)],), ([(2, 2, 1), (2, 2, 1), (2, 2, 1)],),
             ([(5, 2, 1), (5, 2, 1), (5, 2, 1)],), ([(1, 1, 1)],), ([(4, 3, 1), (3, 1, 2)],)]
    for _ in range(12):
        cases.append(([(int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 5)))
                       for _ in range(int(rng.integers(1, 5)))],))
    return cases


def _detection_probability_reference(noise_scores, signal_scores, false_alarm):
    """Share of signal scores above the (1 - false_alarm) quantile of the noise scores."""
    threshold = np.quantile(np.asarray(noise_scores, dtype=float), 1 - false_alarm)
    return float(np.mean(np.asarray(signal_scores, dtype=float) > threshold))


def _detection_probability_cases(rng):
    cases = [(np.arange(10.0), np.array([8.5, 9.5, 20.0, 0.0]), 0.1),
             (np.arange(100.0), np.arange(50.0, 150.0), 0.01),
             (np.zeros(5), np.array([0.0, 1.0]), 0.2)]
    for _ in range(10):
        n = int(rng.integers(20, 500))
        shift = rng.uniform(0, 4)
        cases.append((rng.normal(size=n), rng.normal(shift, 1, size=int(rng.integers(5, 300))),
                      float(rng.choice([0.01, 0.05, 0.1, 0.3]))))
    return cases


EXERCISES = (
    Exercise("matched_filter", _matched_filter_cases, _matched_filter_reference, same_array(),
             ("x", "template"), reference_label="course_utils.signals.matched_filter",
             references=("matched_filter", "correlate", "convolve", "sliding_window_view")),
    Exercise("receptive_field", _receptive_field_cases, _receptive_field_reference, same_ints,
             ("layers (kernel_size, stride, dilation)",),
             reference_label="smallest signal that a stack of "
                             "Convolution1DLayer(..., pad='valid') maps to one output",
             references=("receptive_field", "Convolution1DLayer", "dilated_extent")),
    Exercise("detection_probability", _detection_probability_cases,
             _detection_probability_reference, same_float,
             ("noise_scores", "signal_scores", "false_alarm"),
             reference_label="course_utils.signals.detection_probability",
             references=("detection_probability", "roc_curve")),
)
