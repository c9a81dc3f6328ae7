"""The fast methods of convolve2d ("direct", "separable", "fft") and the cost model of
method="auto" that picks one of them: what only speed needs, apart from the maths of
convolution.py (which calls these; notebook 06 measures them).

All work on one image (H, W) and a window (top, left, out_h, out_w) of the "full"
convolution with a kernel (kh, kw), as convolution.convolve2d describes.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import next_fast_len

from ._validation import finite_array

__all__ = ["choose_method", "convolve_direct", "convolve_fft", "convolve_separable",
           "padded_region", "rank_one_tol", "separable_factors"]

def separable_factors(
    kernel: np.ndarray, tol: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split a rank-1 kernel into a column and a row: kernel == np.outer(column, row).

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
    tol : float, optional
        The kernel counts as rank 1 when its singular values satisfy
        s[1] <= tol * s[0]. Default: max(kh, kw) * machine epsilon of its dtype
        (NumPy's matrix_rank rule), i.e. rank 1 up to rounding.

    Returns
    -------
    column : ndarray, shape (kh,)
    row : ndarray, shape (kw,)
        Read off the kernel at its largest entry (i, j): column = kernel[:, j] and
        row = kernel[i, :] / kernel[i, j], so integer kernels keep integer factors
        (Sobel: column [1, 2, 1], row [1, 0, -1]).

    Raises
    ------
    ValueError
        If the kernel is not rank 1 (it cannot be written as an outer product).
    """
    kernel = finite_array("kernel", kernel, ndim=2, layout="(kernel_height, kernel_width)")
    if kernel.size == 0:
        raise ValueError(f"kernel must have at least one row and one column, got shape {kernel.shape}.")
    if tol is None:
        tol = rank_one_tol(kernel)
    elif isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ValueError(f"tol must be a number in [0, 1), got {tol!r}; None picks a default.")
    singular_values = np.linalg.svd(kernel, compute_uv=False)
    if singular_values[0] == 0:  # the zero kernel: 0 = outer(0, 0)
        return np.zeros(kernel.shape[0], kernel.dtype), np.zeros(kernel.shape[1], kernel.dtype)
    if singular_values.size > 1 and singular_values[1] > tol * singular_values[0]:
        ratio = singular_values[1] / singular_values[0]
        raise ValueError(
            f"kernel is not separable: it is not rank 1 (singular value ratio s[1]/s[0] = "
            f"{ratio:.3g} > tol = {tol:.3g}), so it is not an outer product of a column and a row."
        )
    i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    return kernel[:, j].copy(), kernel[i, :] / kernel[i, j]


def rank_one_tol(kernel: np.ndarray) -> float:
    """Default tol of separable_factors: max(kh, kw) * machine epsilon of the kernel's dtype.

    Take it before the kernel is promoted to a wider dtype: a float32 kernel is rank 1
    only up to float32 rounding (s[1]/s[0] ~ 1e-8), which float64 eps would refuse.
    """
    return max(kernel.shape) * float(np.finfo(kernel.dtype).eps)


# Cost model of method="auto", in units of "one kernel tap on one float64 output
# pixel". Timing every method on the course's 427 x 640 photo (time.perf_counter,
# float32 and float64, kernels 3x3 to 61x61) gave: an FFT of L pixels costs about
# _FFT_COST * L * log2(L) units, a NumPy call about _CALL_OVERHEAD units, and a
# float32 tap half a float64 one. _BAND_BYTES: see _row_bands.
_CALL_OVERHEAD = 2_000
_FFT_COST = 1.8
_BAND_BYTES = 256 * 1024


def padded_region(image, kernel_shape, window, first=0, last=None):
    """The part of the zero-padded image that output rows first .. last - 1 read.

    Entry (r, c) is image[r + first + top - (kh - 1), c + left - (kw - 1)], zero
    outside the image, so output pixel (first + r, c) is the sum of this region's
    (kh, kw) patch at (r, c) times the flipped kernel. Shape
    (last - first + kh - 1, out_w + kw - 1); a view, not a copy, when no zeros
    are needed (mode "valid").
    """
    (height, width), (kh, kw) = image.shape, kernel_shape
    top, left, out_h, out_w = window
    last = out_h if last is None else last
    row0, col0 = first + top - (kh - 1), left - (kw - 1)  # image index of entry (0, 0)
    region_h, region_w = last - first + kh - 1, out_w + kw - 1
    if row0 >= 0 and col0 >= 0 and row0 + region_h <= height and col0 + region_w <= width:
        return image[row0 : row0 + region_h, col0 : col0 + region_w]
    region = np.zeros((region_h, region_w), dtype=image.dtype)
    r_from, r_to = max(row0, 0), min(row0 + region_h, height)
    c_from, c_to = max(col0, 0), min(col0 + region_w, width)
    if r_from < r_to and c_from < c_to:
        region[r_from - row0 : r_to - row0, c_from - col0 : c_to - col0] = image[
            r_from:r_to, c_from:c_to
        ]
    return region


def _row_bands(out_h: int, width: int, itemsize: int):
    """Split the output rows into bands (first, last) of about _BAND_BYTES each.

    Why: a temporary as large as the whole image (2 MB for a float64 photo) goes
    back to the operating system when freed and must be faulted in again for the
    next tap, which made the tap loop several times slower than its arithmetic.
    Temporaries of ~256 KB are recycled by the allocator and stay in the CPU cache.
    """
    band = max(1, _BAND_BYTES // max(1, width * itemsize))
    for first in range(0, out_h, band):
        yield first, min(first + band, out_h)


def convolve_direct(image, kernel, window):
    """One kernel tap at a time: out += weight * (padded image shifted by the tap)."""
    kh, kw = kernel.shape
    _, _, out_h, out_w = window
    flipped = kernel[::-1, ::-1]
    taps = [(a, b, flipped[a, b]) for a in range(kh) for b in range(kw) if flipped[a, b] != 0]
    out = np.zeros((out_h, out_w), dtype=image.dtype)
    for first, last in _row_bands(out_h, out_w + kw - 1, out.itemsize):
        padded = padded_region(image, kernel.shape, window, first, last)
        rows = out[first:last]  # a view: += writes into out
        for a, b, weight in taps:
            rows += weight * padded[a : a + last - first, b : b + out_w]
    return out


def convolve_separable(image, column, row, window):
    """Vertical 1D pass with the column, then horizontal 1D pass with the row."""
    kh, kw = column.size, row.size
    _, _, out_h, out_w = window
    column_taps = [(a, w) for a, w in enumerate(column[::-1]) if w != 0]
    row_taps = [(b, w) for b, w in enumerate(row[::-1]) if w != 0]
    out = np.zeros((out_h, out_w), dtype=image.dtype)
    for first, last in _row_bands(out_h, out_w + kw - 1, out.itemsize):
        padded = padded_region(image, (kh, kw), window, first, last)
        vertical = np.zeros((last - first, out_w + kw - 1), dtype=image.dtype)
        for a, weight in column_taps:
            vertical += weight * padded[a : a + last - first]
        rows = out[first:last]
        for b, weight in row_taps:
            rows += weight * vertical[:, b : b + out_w]
    return out


def _fft_length(size: int, k: int, start: int, out: int) -> int:
    """Shortest fast FFT length whose circular convolution is exact on the window.

    A circular convolution of length L adds "full" entry n + L onto entry n. The
    window entries start .. start + out - 1 stay exact when L >= start + out and
    every alias n + L lies past the end of "full" (length size + k - 1):
    L >= size + k - 1 - start. "valid" thus needs only L >= size, not size + k - 1.
    """
    needed = max(size + k - 1 - start, start + out, size, k)
    return next_fast_len(needed, real=True)


def convolve_fft(image, kernel, window):
    """Convolution theorem: the spectrum of a convolution is the product of the spectra.

    A 2D real FFT is a 1D FFT of every row followed by one of every column. Doing
    the two passes by hand lets us skip work: only the image's H real rows (not the
    zero rows of padding) and the kernel's kh rows need a row transform, and only
    the out_h rows we keep need the inverse row transform. All column passes reuse
    one buffer, which matters as much as the arithmetic on large images.
    """
    top, left, out_h, out_w = window
    (height, width), (kh, kw) = image.shape, kernel.shape
    fft_h = _fft_length(height, kh, top, out_h)
    fft_w = _fft_length(width, kw, left, out_w)
    complex_dtype = np.result_type(image.dtype, np.complex64)  # complex64 for float32
    spectrum = np.empty((fft_h, fft_w // 2 + 1), dtype=complex_dtype)
    np.fft.rfft(image, fft_w, axis=1, out=spectrum[:height])  # rows, zero-padded to fft_w
    spectrum[height:] = 0  # the padding rows
    np.fft.fft(spectrum, axis=0, out=spectrum)  # columns
    spectrum *= np.fft.fft(np.fft.rfft(kernel, fft_w, axis=1), fft_h, axis=0)
    np.fft.ifft(spectrum, axis=0, out=spectrum)
    rows = np.fft.irfft(spectrum[top : top + out_h], fft_w, axis=1)
    return rows[:, left : left + out_w].astype(image.dtype)


def choose_method(image_shape, kernel, window, tol: float | None = None) -> str:
    """Cheapest method by a rough operation count (tuned on a 427 x 640 photo).

    tol: rank-1 tolerance passed to separable_factors (None: from the kernel's dtype).
    """
    top, left, out_h, out_w = window
    kh, kw = kernel.shape
    pixels = out_h * out_w
    tap = kernel.itemsize / 8  # float32 taps cost about half as much
    direct = tap * np.count_nonzero(kernel) * (pixels + _CALL_OVERHEAD)
    fft_h = _fft_length(image_shape[0], kh, top, out_h)
    fft_w = _fft_length(image_shape[1], kw, left, out_w)
    fft = _FFT_COST * fft_h * fft_w * np.log2(fft_h * fft_w) + 3 * _CALL_OVERHEAD
    # a rank-1 kernel outer(column, row) has a nonzero row where column != 0 and a
    # nonzero column where row != 0: the separable taps, counted without an SVD
    nonzero = kernel != 0
    taps = np.count_nonzero(nonzero.any(axis=1)) + np.count_nonzero(nonzero.any(axis=0))
    separable = tap * taps * (pixels + out_h * (kw - 1) + _CALL_OVERHEAD)
    if kh > 1 and kw > 1 and separable < min(direct, fft):
        try:
            separable_factors(kernel, tol)  # only now pay for the SVD
            return "separable"
        except ValueError:
            pass
    return "direct" if direct <= fft else "fft"
