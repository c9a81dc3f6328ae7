"""Notebook 03 (padding and stride arithmetic): a padding for a wanted output, the smallest input."""

from __future__ import annotations

from course_utils.exercises._base import (
    Exercise,
    same_int_or_none,
    same_ints,
)


def _padding_for_output_reference(i, k, s, o):
    """Smallest p >= 0 with conv_output_size(i, k, s, p) == o, by trying p = 0, 1, ...

    The output size never decreases when p grows, so the search stops at the first p whose
    output is larger than o (then no p gives o: None).
    """
    from course_utils.convolution import conv_output_size

    p = max(0, -(-(k - i) // 2))  # the first p with which the kernel fits: i + 2p >= k
    while (size := conv_output_size(i, k, s, p)) < o:
        p += 1
    return p if size == o else None


def _chain_output_size(i, layers):
    """Output size of a chain of (k, s, p) layers, or 0 if a kernel does not fit."""
    from course_utils.convolution import conv_output_size

    for k, s, p in layers:
        if k > i + 2 * p:
            return 0
        i = conv_output_size(i, k, s, p)
    return i


def _smallest_input_reference(layers, o):
    """Smallest input size i >= 1 whose output through the chain is o, by trying i = 1, 2, ..."""
    i = 1
    while _chain_output_size(i, layers) < o:
        i += 1
    return i



def _padding_for_output_cases(rng):
    cases = [(5, 3, 1, 5), (5, 3, 1, 3), (32, 3, 2, 16), (28, 5, 1, 28), (4, 5, 1, 2),
             (7, 2, 3, 4), (10, 4, 3, 5), (5, 3, 1, 4), (6, 3, 2, 1), (28, 3, 1, 25),
             (6, 3, 2, 2), (28, 5, 2, 14)]
    while len(cases) < 40:
        i, k, s = (int(v) for v in rng.integers([1, 1, 1], [33, 8, 5]))
        o = int(rng.integers(1, i // s + 5))
        cases.append((i, k, s, o))
    return cases


def _smallest_input_cases(rng):
    # layers: (k, s, p) per layer along one axis (pooling: p = 0), every one with 2p < k,
    # so that each layer's smallest output is 1 and every o >= 1 is reachable.
    cases = [
        ([(3, 1, 0)], 1),
        ([(3, 1, 1)], 28),
        ([(2, 2, 0)], 14),
        ([(5, 1, 0), (2, 2, 0), (3, 1, 1), (2, 2, 0)], 5),   # notebook 03's worked chain
        ([(3, 1, 0), (2, 2, 0), (3, 1, 0), (2, 2, 0)], 1),   # its receptive field: 10
        ([(3, 2, 1), (3, 2, 1)], 4),
        ([(7, 2, 3), (3, 2, 0), (3, 1, 1)], 3),
    ]
    for _ in range(13):
        layers = []
        for _ in range(int(rng.integers(1, 5))):
            k, s = (int(v) for v in rng.integers([1, 1], [8, 4]))
            layers.append((k, s, int(rng.integers(0, (k + 1) // 2))))  # 2p < k
        cases.append((layers, int(rng.integers(1, 9))))
    return cases


EXERCISES = (
    Exercise("padding_for_output", _padding_for_output_cases, _padding_for_output_reference,
             same_int_or_none, ("i", "k", "s", "o"),
             references=("conv_output_size", "padding_amounts", "same_padding")),
    Exercise("smallest_input", _smallest_input_cases, _smallest_input_reference, same_ints,
             ("layers (k, s, p)", "o"), references=("receptive_field", "conv_output_size")),
)
