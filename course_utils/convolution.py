"""Convolution maths: output-size arithmetic, padding, Toeplitz forms and 2D convolution.

Notebooks 01 (convolution), 02 (Toeplitz matrices), 03 (arithmetic) and 05 (fast
convolution) explain what is here.
"""

from __future__ import annotations

from ._validation import non_negative_int, positive_int


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0) -> int:
    """Number of kernel positions along one axis.

    i: input size, k: kernel size, s: stride, p: zeros added on each side.
    Returns floor((i + 2p - k) / s) + 1  (Dumoulin & Visin, relationship 6).
    """
    i, k, s = positive_int("i", i), positive_int("k", k), positive_int("s", s)
    p = non_negative_int("p", p)
    if k > i + 2 * p:
        raise ValueError(
            f"kernel size k={k} is larger than the padded input i + 2p = {i + 2 * p}; "
            "use a smaller kernel or more padding."
        )
    return (i + 2 * p - k) // s + 1


def pool_output_size(i: int, k: int, s: int) -> int:
    """Number of pooling windows along one axis (no padding).

    i: input size, k: pooling window size, s: stride.
    Returns floor((i - k) / s) + 1  (Dumoulin & Visin, relationship 7).
    """
    return conv_output_size(i, k, s, 0)


def same_padding(i: int, k: int, s: int = 1) -> tuple[int, int]:
    """Zeros (before, after) that TensorFlow/Keras add along one axis for padding="same".

    The output has ceil(i / s) positions. The total padding needed is
    max((ceil(i/s) - 1) * s + k - i, 0); when it is odd, the extra zero goes
    *after* the input (bottom/right). This asymmetry is why an even kernel or a
    stride > 1 shifts the result by one pixel compared with symmetric padding.
    """
    i, k, s = positive_int("i", i), positive_int("k", k), positive_int("s", s)
    out = -(-i // s)  # ceil(i / s)
    total = max((out - 1) * s + k - i, 0)
    return total // 2, total - total // 2
