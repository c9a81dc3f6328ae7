"""The homework self-checks pass a correct answer and fail typical wrong ones.

The "student answers" here are written the way a student would (loops, straight from
the formulas), independently of the package references the checks compare with.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.signal import correlate2d

from course_utils import checks, exercises
from course_utils.gradcheck import numerical_gradient
from course_utils.schedulers import Scheduler


# ----------------------------------------------------------------------------- student answers
def convolve1d(x, w):
    out = np.zeros(len(x) + len(w) - 1)
    for i in range(len(out)):
        for j in range(len(w)):
            if 0 <= i - j < len(x):
                out[i] += w[j] * x[i - j]
    return out


def cross_correlate2d(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out


def convolve2d(image, kernel):
    return cross_correlate2d(image, kernel[::-1, ::-1])


def toeplitz(w, n):
    T = np.zeros((n + len(w) - 1, n))
    for j in range(n):
        T[j : j + len(w), j] = w
    return T


def conv2d_matrix(kernel, input_shape):
    H, W = input_shape
    kh, kw = kernel.shape
    out_h, out_w = H - kh + 1, W - kw + 1
    M = np.zeros((out_h * out_w, H * W))
    for i in range(out_h):
        for j in range(out_w):
            for a in range(kh):
                for b in range(kw):
                    M[i * out_w + j, (i + a) * W + (j + b)] = kernel[a, b]
    return M


def conv_output_size(i, k, s, p):
    return (i + 2 * p - k) // s + 1


def same_padding(i, k, s):
    total = max((math.ceil(i / s) - 1) * s + k - i, 0)
    return total // 2, total - total // 2


def padding_for_output(i, k, s, o):
    # relationship 6 solved for p: (o - 1) s <= i + 2p - k <= (o - 1) s + s - 1
    p = max(0, math.ceil(((o - 1) * s + k - i) / 2))
    return p if (i + 2 * p - k) // s + 1 == o else None


def smallest_input(layers, o):
    # backwards through the layers: the smallest input of a layer with output o
    for k, s, p in reversed(layers):
        o = (o - 1) * s + k - 2 * p
    return o


def chance_loss(labels, n_classes):
    q = np.array([np.mean(np.asarray(labels) == c) for c in range(n_classes)])
    loss = -sum(share * math.log(share) for share in q if share > 0)
    return q, loss


class StudentAdam:
    def __init__(self, eta, rho, rho2):
        self.eta, self.rho, self.rho2 = eta, rho, rho2
        self.reset()

    def update_change(self, gradient):
        self.t += 1
        self.m = self.rho * self.m + (1 - self.rho) * gradient
        self.v = self.rho2 * self.v + (1 - self.rho2) * gradient**2
        m_hat = self.m / (1 - self.rho**self.t)
        v_hat = self.v / (1 - self.rho2**self.t)
        return self.eta * m_hat / (np.sqrt(v_hat) + 1e-8)

    def reset(self):
        self.m, self.v, self.t = 0.0, 0.0, 0


def conv_backward(X, kernel, dZ):
    N, C = X.shape[:2]
    _, F, kh, kw = kernel.shape
    dX, dkernel = np.zeros(X.shape), np.zeros(kernel.shape)
    for n in range(N):
        for f in range(F):
            for i in range(dZ.shape[2]):
                for j in range(dZ.shape[3]):
                    for c in range(C):
                        dX[n, c, i : i + kh, j : j + kw] += dZ[n, f, i, j] * kernel[c, f]
                        dkernel[c, f] += dZ[n, f, i, j] * X[n, c, i : i + kh, j : j + kw]
    return dX, dkernel


def pool_backward(X, dA, k):
    dX = np.zeros(X.shape)
    N, C, out_h, out_w = dA.shape
    for n in range(N):
        for c in range(C):
            for i in range(out_h):
                for j in range(out_w):
                    window = X[n, c, i * k : (i + 1) * k, j * k : (j + 1) * k]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dX[n, c, i * k + a, j * k + b] += dA[n, c, i, j]
    return dX


def im2col(image, kh, kw):
    rows = []
    for i in range(image.shape[0] - kh + 1):
        for j in range(image.shape[1] - kw + 1):
            rows.append(image[i : i + kh, j : j + kw].ravel())
    return np.array(rows)


def col2im(cols, image_shape, kh, kw):
    H, W = image_shape
    image = np.zeros((H, W))
    row = 0
    for i in range(H - kh + 1):
        for j in range(W - kw + 1):
            image[i : i + kh, j : j + kw] += cols[row].reshape(kh, kw)
            row += 1
    return image


def best_hyperparameters(accuracy, etas, lambdas):
    best, choice = -np.inf, None
    for i, eta in enumerate(etas):
        for j, lam in enumerate(lambdas):
            if np.isfinite(accuracy[i, j]) and accuracy[i, j] > best:
                best, choice = accuracy[i, j], (eta, lam)
    return choice


# ----------------------------------------------------------------------------- typical mistakes
def padding_for_output_never_none(i, k, s, o):
    """Forgets that no p may work: returns the smallest p with output >= o."""
    return max(0, math.ceil(((o - 1) * s + k - i) / 2))


def padding_for_output_negative(i, k, s, o):
    """Forgets p >= 0: a too small o gets a negative padding instead of None."""
    p = math.ceil(((o - 1) * s + k - i) / 2)
    return p if (i + 2 * p - k) // s + 1 == o else None


def padding_for_output_total(i, k, s, o):
    """Solves for the total number of zeros, not the zeros on each side."""
    p = max(0, (o - 1) * s + k - i)
    return p if (i + p - k) // s + 1 == o else None


def smallest_input_forwards(layers, o):
    """Walks the layers in the order of the forward pass."""
    for k, s, p in layers:
        o = (o - 1) * s + k - 2 * p
    return o


def smallest_input_without_padding(layers, o):
    return smallest_input([(k, s, 0) for k, s, _ in layers], o)


def smallest_input_o_times_s(layers, o):
    for k, s, p in reversed(layers):
        o = o * s + k - 2 * p - 1
    return o


def chance_loss_uniform(labels, n_classes):
    return np.full(n_classes, 1 / n_classes), math.log(n_classes)


def chance_loss_bits(labels, n_classes):
    q, loss = chance_loss(labels, n_classes)
    return q, loss / math.log(2)


def chance_loss_nan_for_absent_classes(labels, n_classes):
    q, _ = chance_loss(labels, n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return q, float(-np.sum(q * np.log(q)))


def chance_loss_present_classes_only(labels, n_classes):
    q, loss = chance_loss(labels, n_classes)
    return q[q > 0], loss


class AdamWithoutBiasCorrection(StudentAdam):
    def update_change(self, gradient):
        self.m = self.rho * self.m + (1 - self.rho) * gradient
        self.v = self.rho2 * self.v + (1 - self.rho2) * gradient**2
        return self.eta * self.m / (np.sqrt(self.v) + 1e-8)


class AdamCountingEpochs(StudentAdam):
    """The lecture's bug: t never grows within an epoch."""

    def update_change(self, gradient):
        self.t = 1
        return super().update_change(gradient)


class AdamResetKeepsMoments(StudentAdam):
    def reset(self):
        if not hasattr(self, "m"):
            super().reset()
        self.t = 0


class AdamDeltaInsideTheRoot(StudentAdam):
    """sqrt(v_hat + delta): the statement adds delta after the square root."""

    def update_change(self, gradient):
        self.t += 1
        self.m = self.rho * self.m + (1 - self.rho) * gradient
        self.v = self.rho2 * self.v + (1 - self.rho2) * gradient**2
        m_hat, v_hat = self.m / (1 - self.rho**self.t), self.v / (1 - self.rho2**self.t)
        return self.eta * m_hat / np.sqrt(v_hat + 1e-8)


class AdamDeltaSevenDigits(StudentAdam):
    """delta = 1e-7 (a value some libraries use) instead of the statement's 1e-8."""

    def update_change(self, gradient):
        self.t += 1
        self.m = self.rho * self.m + (1 - self.rho) * gradient
        self.v = self.rho2 * self.v + (1 - self.rho2) * gradient**2
        m_hat, v_hat = self.m / (1 - self.rho**self.t), self.v / (1 - self.rho2**self.t)
        return self.eta * m_hat / (np.sqrt(v_hat) + 1e-7)


class AdamOwnEpsilonLarge(StudentAdam):
    def update_change(self, gradient):
        return super().update_change(gradient) * (1 - 1e-3)


def conv_backward_flipped_dkernel(X, kernel, dZ):
    dX, dkernel = conv_backward(X, kernel, dZ)
    return dX, dkernel[:, :, ::-1, ::-1]


def conv_backward_dX_by_correlation(X, kernel, dZ):
    _, dkernel = conv_backward(X, kernel, dZ)
    dX = np.zeros(X.shape)
    for n in range(X.shape[0]):
        for c in range(X.shape[1]):
            for f in range(kernel.shape[1]):
                padded = np.pad(dZ[n, f], ((kernel.shape[2] - 1,) * 2, (kernel.shape[3] - 1,) * 2))
                dX[n, c] += correlate2d(padded, kernel[c, f], mode="valid")
    return dX, dkernel


def conv_backward_first_image_only(X, kernel, dZ):
    dX, _ = conv_backward(X, kernel, dZ)
    _, dkernel = conv_backward(X[:1], kernel, dZ[:1])
    return dX, dkernel


def pool_backward_average(X, dA, k):
    return np.repeat(np.repeat(dA, k, axis=2), k, axis=3) / (k * k)


def pool_backward_argmin(X, dA, k):
    return pool_backward(-X, dA, k)


def _pool_backward_choosing(X, dA, k, choose):
    """Max-pool backward that sends dA to the maxima of each window that choose(rows, cols) picks."""
    dX = np.zeros(X.shape)
    for n, c, i, j in itertools.product(*(range(s) for s in dA.shape)):
        window = X[n, c, i * k : (i + 1) * k, j * k : (j + 1) * k]
        rows, cols = np.nonzero(window == window.max())      # row by row
        for a, b in choose(rows, cols):
            dX[n, c, i * k + a, j * k + b] += dA[n, c, i, j]
    return dX


def pool_backward_every_tied_maximum(X, dA, k):
    return _pool_backward_choosing(X, dA, k, lambda rows, cols: zip(rows, cols))


def pool_backward_last_maximum(X, dA, k):
    return _pool_backward_choosing(X, dA, k, lambda rows, cols: [(rows[-1], cols[-1])])


def pool_backward_first_maximum_column_by_column(X, dA, k):
    return _pool_backward_choosing(X, dA, k, lambda rows, cols: [min(zip(rows, cols), key=lambda p: (p[1], p[0]))])


def pool_backward_to_all(X, dA, k):
    return np.repeat(np.repeat(dA, k, axis=2), k, axis=3)


def im2col_column_major(image, kh, kw):
    return np.array([image[i : i + kh, j : j + kw].T.ravel()
                     for i in range(image.shape[0] - kh + 1)
                     for j in range(image.shape[1] - kw + 1)])


def im2col_transposed(image, kh, kw):
    return im2col(image, kh, kw).T


def col2im_overwrites(cols, image_shape, kh, kw):
    """Assigns each window instead of adding it: overlapping windows lose their sum."""
    H, W = image_shape
    image = np.zeros((H, W))
    row = 0
    for i in range(H - kh + 1):
        for j in range(W - kw + 1):
            image[i : i + kh, j : j + kw] = cols[row].reshape(kh, kw)
            row += 1
    return image


def col2im_averages(cols, image_shape, kh, kw):
    counts = col2im(np.ones_like(cols), image_shape, kh, kw)
    return col2im(cols, image_shape, kh, kw) / counts


def col2im_column_major(cols, image_shape, kh, kw):
    """Reads each window column by column (the transpose of exercise 1's layout)."""
    flipped = np.array([c.reshape(kh, kw).T.ravel() for c in cols]).reshape(cols.shape)
    return col2im(flipped, image_shape, kh, kw)


def best_ignoring_nan_badly(accuracy, etas, lambdas):
    i, j = np.unravel_index(np.argmax(accuracy), accuracy.shape)  # argmax picks the NaN
    return etas[i], lambdas[j]


def best_last_of_ties(accuracy, etas, lambdas):
    """>= instead of >: the last of tied cells wins."""
    best, choice = -np.inf, None
    for i, eta in enumerate(etas):
        for j, lam in enumerate(lambdas):
            if np.isfinite(accuracy[i, j]) and accuracy[i, j] >= best:
                best, choice = accuracy[i, j], (eta, lam)
    return choice


def best_first_of_ties_column_by_column(accuracy, etas, lambdas):
    j, i = np.unravel_index(np.nanargmax(accuracy.T), accuracy.T.shape)
    return etas[i], lambdas[j]


def best_swapped(accuracy, etas, lambdas):
    i, j = np.unravel_index(np.nanargmax(accuracy), accuracy.shape)
    return lambdas[j], etas[i]


def best_lowest(accuracy, etas, lambdas):
    i, j = np.unravel_index(np.nanargmin(accuracy), accuracy.shape)
    return etas[i], lambdas[j]


def parameter_count(input_shape, layers):
    channels, height, width = input_shape
    counts, n_in = [], None
    for layer in layers:
        if layer[0] == "conv":
            _, maps, k, s, pad = layer
            counts.append(channels * maps * k * k + maps)
            if pad == "same":
                height, width = -(-height // s), -(-width // s)
            else:
                height, width = (height - k) // s + 1, (width - k) // s + 1
            channels = maps
        elif layer[0] == "pool":
            _, k, s = layer
            height, width = (height - k) // s + 1, (width - k) // s + 1
            counts.append(0)
        elif layer[0] == "flatten":
            n_in = channels * height * width
            counts.append(0)
        else:
            counts.append(n_in * layer[1] + layer[1])
            n_in = layer[1]
    return counts


def parameter_count_without_bias(input_shape, layers):
    counts = parameter_count(input_shape, layers)
    return [c - (layer[1] if layer[0] in ("conv", "dense") else 0) for c, layer in zip(counts, layers)]


def parameter_count_ignoring_stride(input_shape, layers):
    return parameter_count(input_shape, [(*layer[:3], 1, layer[4]) if layer[0] == "conv" else
                                         ("pool", layer[1], 1) if layer[0] == "pool" else layer
                                         for layer in layers])


def parameter_count_same_as_valid(input_shape, layers):
    return parameter_count(input_shape, [(*layer[:4], "valid") if layer[0] == "conv" else layer
                                         for layer in layers])


def parameter_count_total(input_shape, layers):
    return sum(parameter_count(input_shape, layers))


def shift(image, dy, dx):
    out = np.zeros_like(image)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            if 0 <= i - dy < image.shape[0] and 0 <= j - dx < image.shape[1]:
                out[i, j] = image[i - dy, j - dx]
    return out


CORRECT = [
    (checks.check_convolve1d, convolve1d),
    (checks.check_convolve2d, convolve2d),
    (checks.check_cross_correlate2d, cross_correlate2d),
    (checks.check_toeplitz, toeplitz),
    (checks.check_conv2d_matrix, conv2d_matrix),
    (checks.check_padding_for_output, padding_for_output),
    (checks.check_smallest_input, smallest_input),
    (checks.check_chance_loss, chance_loss),
    (checks.check_scheduler, StudentAdam),
    (checks.check_conv_backward, conv_backward),
    (checks.check_pool_backward, pool_backward),
    (checks.check_im2col, im2col),
    (checks.check_col2im, col2im),
    (checks.check_best_hyperparameters, best_hyperparameters),
    (checks.check_parameter_count, parameter_count),
    (checks.check_shift, shift),
]

BROKEN = [
    (checks.check_convolve1d, lambda x, w: np.convolve(x, w, mode="same")),
    (checks.check_convolve1d, lambda x, w: np.correlate(x, w, mode="full")),
    (checks.check_convolve1d, lambda x, w: convolve1d(x, w)[:-1]),
    (checks.check_convolve2d, cross_correlate2d),
    (checks.check_convolve2d, lambda image, kernel: convolve2d(image, kernel)[:-1, :-1]),
    (checks.check_convolve2d, lambda image, kernel: convolve2d(image, kernel[::-1])),
    (checks.check_cross_correlate2d, convolve2d),
    (checks.check_cross_correlate2d, lambda image, kernel: cross_correlate2d(image, kernel)[:-1]),
    (checks.check_toeplitz, lambda w, n: toeplitz(w, n).T),
    (checks.check_toeplitz, lambda w, n: toeplitz(w[::-1], n)),
    (checks.check_conv2d_matrix, lambda kernel, shape: conv2d_matrix(kernel[::-1, ::-1], shape)),
    (checks.check_conv2d_matrix, lambda kernel, shape: conv2d_matrix(kernel, shape).T),
    (checks.check_padding_for_output, padding_for_output_never_none),
    (checks.check_padding_for_output, padding_for_output_negative),
    (checks.check_padding_for_output, padding_for_output_total),
    (checks.check_padding_for_output, lambda i, k, s, o: (i + 2 * 0 - k) // s + 1),
    (checks.check_smallest_input, smallest_input_forwards),
    (checks.check_smallest_input, smallest_input_without_padding),
    (checks.check_smallest_input, smallest_input_o_times_s),
    (checks.check_chance_loss, chance_loss_uniform),
    (checks.check_chance_loss, chance_loss_bits),
    (checks.check_chance_loss, chance_loss_nan_for_absent_classes),
    (checks.check_chance_loss, chance_loss_present_classes_only),
    (checks.check_chance_loss, lambda labels, n_classes: chance_loss(labels, n_classes)[1]),
    (checks.check_scheduler, AdamWithoutBiasCorrection),
    (checks.check_scheduler, AdamCountingEpochs),
    (checks.check_scheduler, AdamResetKeepsMoments),
    (checks.check_scheduler, AdamOwnEpsilonLarge),
    (checks.check_scheduler, AdamDeltaInsideTheRoot),
    (checks.check_scheduler, AdamDeltaSevenDigits),
    (checks.check_conv_backward, conv_backward_flipped_dkernel),
    (checks.check_conv_backward, conv_backward_dX_by_correlation),
    (checks.check_conv_backward, conv_backward_first_image_only),
    (checks.check_conv_backward, lambda X, kernel, dZ: conv_backward(X, kernel, dZ)[0]),
    (checks.check_pool_backward, pool_backward_average),
    (checks.check_pool_backward, pool_backward_argmin),
    (checks.check_pool_backward, pool_backward_to_all),
    (checks.check_pool_backward, pool_backward_every_tied_maximum),
    (checks.check_pool_backward, pool_backward_last_maximum),
    (checks.check_pool_backward, pool_backward_first_maximum_column_by_column),
    (checks.check_im2col, im2col_column_major),
    (checks.check_im2col, im2col_transposed),
    (checks.check_col2im, col2im_overwrites),
    (checks.check_col2im, col2im_averages),
    (checks.check_col2im, col2im_column_major),
    (checks.check_col2im, lambda cols, shape, kh, kw: col2im(cols, shape, kh, kw).T),
    (checks.check_best_hyperparameters, best_ignoring_nan_badly),
    (checks.check_best_hyperparameters, best_swapped),
    (checks.check_best_hyperparameters, best_lowest),
    (checks.check_best_hyperparameters, best_last_of_ties),
    (checks.check_best_hyperparameters, best_first_of_ties_column_by_column),
    (checks.check_parameter_count, parameter_count_without_bias),
    (checks.check_parameter_count, parameter_count_ignoring_stride),
    (checks.check_parameter_count, parameter_count_same_as_valid),
    (checks.check_parameter_count, parameter_count_total),
    (checks.check_shift, lambda image, dy, dx: np.roll(image, (dy, dx), axis=(0, 1))),
    (checks.check_shift, lambda image, dy, dx: shift(image, dx, dy)),
    (checks.check_shift, lambda image, dy, dx: shift(image, -dy, -dx)),
]


# notebook 08: written as a student would, with loops and indices modulo L
def flip_energy(spins):
    L0, L1 = spins.shape
    dE = np.zeros((L0, L1), dtype=int)
    for i in range(L0):
        for j in range(L1):
            h = (spins[(i + 1) % L0, j] + spins[i - 1, j] + spins[i, (j + 1) % L1]
                 + spins[i, j - 1])
            dE[i, j] = 2 * spins[i, j] * h
    return dE


def circular_pad(image, p):
    height, width = image.shape
    rows = [(i - p) % height for i in range(height + 2 * p)]
    cols = [(j - p) % width for j in range(width + 2 * p)]
    return image[np.ix_(rows, cols)]


def crossing_temperature(T, values):
    for i in range(len(T)):
        if values[i] == 0.5:
            return T[i]
        if i + 1 < len(T) and (values[i] - 0.5) * (values[i + 1] - 0.5) < 0:
            return T[i] + (values[i] - 0.5) / (values[i] - values[i + 1]) * (T[i + 1] - T[i])
    return float("nan")


def crossing_temperature_last(T, values):
    return crossing_temperature(T[::-1], values[::-1])


def crossing_temperature_nearest(T, values):
    if np.all(values > 0.5) or np.all(values < 0.5):
        return float("nan")
    return T[np.argmin(np.abs(values - 0.5))]


CORRECT += [
    (checks.check_flip_energy, flip_energy),
    (checks.check_circular_pad, circular_pad),
    (checks.check_crossing_temperature, crossing_temperature),
]

BROKEN += [
    (checks.check_flip_energy, lambda spins: flip_energy(np.pad(spins, 1))[1:-1, 1:-1]),
    (checks.check_flip_energy, lambda spins: flip_energy(spins) // 2),
    (checks.check_flip_energy, lambda spins: -flip_energy(spins)),
    (checks.check_circular_pad, lambda image, p: np.pad(image, p)),
    (checks.check_circular_pad, lambda image, p: np.pad(image, p, mode="reflect")),
    (checks.check_circular_pad, lambda image, p: np.pad(image, p, mode="edge")),
    (checks.check_crossing_temperature, crossing_temperature_last),
    (checks.check_crossing_temperature, crossing_temperature_nearest),
    (checks.check_crossing_temperature, lambda T, values: np.interp(0.5, values[::-1], T[::-1])),
]


# notebook 04: the strided, padded convolution and the planted bugs; notebook 05: the failing run
def conv_backward_strided(X, kernel, dZ, stride, pad):
    N, _, H, W = X.shape
    _, F, kh, kw = kernel.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dXp, dkernel = np.zeros(Xp.shape), np.zeros(kernel.shape)
    for n, f, i, j in itertools.product(range(N), range(F), range(dZ.shape[2]), range(dZ.shape[3])):
        rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
        dXp[n, :, rows, cols] += dZ[n, f, i, j] * kernel[:, f]
        dkernel[:, f] += dZ[n, f, i, j] * Xp[n, :, rows, cols]
    return dXp[:, :, pad : pad + H, pad : pad + W], dkernel


def conv_backward_strided_keeps_the_padding(X, kernel, dZ, stride, pad):
    dX, dkernel = conv_backward_strided(X, kernel, dZ, stride, 0)
    return np.pad(dX, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else dX, dkernel


def conv_backward_strided_crops_the_wrong_side(X, kernel, dZ, stride, pad):
    H, W = X.shape[2:]
    dXp, dkernel = conv_backward_strided(np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad))),
                                         kernel, dZ, stride, 0)
    return dXp[:, :, :H, :W], dkernel


def conv_backward_strided_ignores_the_stride_in_dkernel(X, kernel, dZ, stride, pad):
    dX, _ = conv_backward_strided(X, kernel, dZ, stride, pad)
    _, dkernel = conv_backward_strided(X, kernel, dZ, 1, pad)
    return dX, dkernel


def dense_backward(X, W, b, dA):
    s = 1 / (1 + np.exp(-(X @ W + b)))
    dZ = dA * s * (1 - s)
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


def dense_backward_mean(X, W, b, dA):
    """Fixes the derivative but keeps bug 2 (divides dW by the batch)."""
    dX, dW, db = dense_backward(X, W, b, dA)
    return dX, dW / len(X), db


def dense_backward_derivative_at_output(X, W, b, dA):
    """Fixes the mean but keeps bug 1: the derivative taken at A = sigmoid(Z), not at Z."""
    A = 1 / (1 + np.exp(-(X @ W + b)))
    sA = 1 / (1 + np.exp(-A))
    dZ = dA * sA * (1 - sA)
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


def dense_backward_derivative_at_the_incoming_gradient(X, W, b, dA):
    """The lecture code's bug: the derivative taken at dA."""
    s = 1 / (1 + np.exp(-dA))
    dZ = dA * s * (1 - s)
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


def fixed_run(run):
    return {**run, "divide_pixels_by": 255.0, "eta": 0.01, "validation": "held_out"}


CORRECT += [
    (checks.check_conv_backward_strided, conv_backward_strided),
    (checks.check_dense_backward, dense_backward),
    (checks.check_fixed_run, fixed_run),
]

BROKEN += [
    (checks.check_conv_backward_strided, conv_backward_strided_keeps_the_padding),
    (checks.check_conv_backward_strided, conv_backward_strided_crops_the_wrong_side),
    (checks.check_conv_backward_strided, conv_backward_strided_ignores_the_stride_in_dkernel),
    (checks.check_conv_backward_strided, lambda X, kernel, dZ, stride, pad: conv_backward(X, kernel, dZ)),
    (checks.check_dense_backward, exercises.nb04_cnn_layers.buggy_dense_backward),
    (checks.check_dense_backward, dense_backward_mean),
    (checks.check_dense_backward, dense_backward_derivative_at_output),
    (checks.check_dense_backward, dense_backward_derivative_at_the_incoming_gradient),
    (checks.check_fixed_run, lambda run: run),
    (checks.check_fixed_run, lambda run: {**fixed_run(run), "eta": 2.0}),
    (checks.check_fixed_run, lambda run: {**fixed_run(run), "divide_pixels_by": 1.0}),
    (checks.check_fixed_run, lambda run: {**fixed_run(run), "validation": "training"}),
    (checks.check_fixed_run, lambda run: {"eta": 0.01}),
]


# notebook 09 (signals in one dimension)
def matched_filter(x, template):
    template = np.asarray(template, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), template.size)
    return windows @ template / np.linalg.norm(template)


def receptive_field_1d(layers):
    # each layer adds d*(k - 1) steps of the layers below it, a step being the product of
    # their strides
    field, step = 1, 1
    for kernel_size, stride, dilation in layers:
        field += dilation * (kernel_size - 1) * step
        step *= stride
    return field


def detection_probability(noise_scores, signal_scores, false_alarm):
    return float(np.mean(np.asarray(signal_scores) > np.quantile(noise_scores, 1 - false_alarm)))


CORRECT += [
    (checks.check_matched_filter, matched_filter),
    (checks.check_receptive_field, receptive_field_1d),
    (checks.check_detection_probability, detection_probability),
]

BROKEN += [
    # not divided by the template's norm
    (checks.check_matched_filter,
     lambda x, template: matched_filter(x, template) * np.linalg.norm(template)),
    # a convolution (the template flipped), not a correlation
    (checks.check_matched_filter,
     lambda x, template: np.convolve(x, template, "valid") / np.linalg.norm(template)),
    # strides ignored
    (checks.check_receptive_field, lambda layers: 1 + sum(d * (k - 1) for k, s, d in layers)),
    # dilation ignored
    (checks.check_receptive_field,
     lambda layers: receptive_field_1d([(k, s, 1) for k, s, d in layers])),
    # >= instead of >: a score on the threshold counts as a detection
    (checks.check_detection_probability,
     lambda noise, signal, fa: float(np.mean(np.asarray(signal) >= np.quantile(noise, 1 - fa)))),
    # the false-alarm quantile instead of 1 - false_alarm
    (checks.check_detection_probability,
     lambda noise, signal, fa: float(np.mean(np.asarray(signal) > np.quantile(noise, fa)))),
]


def _id(pair):
    check, answer = pair
    return f"{getattr(check, '__name__', 'check')}-{getattr(answer, '__name__', 'lambda')}"


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("check, answer", CORRECT, ids=[_id(p) for p in CORRECT])
def test_check_passes_a_correct_answer(check, answer, capsys):
    assert check(answer) is True
    out = capsys.readouterr().out
    assert out.startswith("✔ ") and ": passed " in out and out.count("\n") == 1, out


@pytest.mark.parametrize("check, answer", BROKEN, ids=[f"{i}-{_id(p)}" for i, p in enumerate(BROKEN)])
def test_check_fails_a_broken_answer_and_shows_the_case(check, answer, capsys):
    assert check(answer) is False
    out = capsys.readouterr().out
    first, *details = out.splitlines()
    assert first.startswith("✘ ") and ": failed on case " in first, out
    text = "\n".join(details)
    assert "input " in text and "expected" in text, out
    assert "Traceback" not in out


ALL_CHECKS = [pair[0] for pair in CORRECT]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=[_id(p) for p in CORRECT])
def test_unanswered_exercise_says_not_answered_yet(check, capsys):
    def my_answer(*args, **kwargs):
        # YOUR CODE HERE
        raise NotImplementedError()

    class MyScheduler(Scheduler):
        def __init__(self, *args, **kwargs):
            raise NotImplementedError()

    student = MyScheduler if check is checks.check_scheduler else my_answer
    assert check(student) is False
    out = capsys.readouterr().out
    assert out == f"… {student.__name__}: not answered yet (the function still raises NotImplementedError)\n"


def test_scheduler_whose_update_is_unanswered_is_not_answered_yet(capsys):
    class MyAdam(Scheduler):
        def __init__(self, eta, rho, rho2):
            super().__init__(eta)

        def update_change(self, gradient):
            raise NotImplementedError()

    assert checks.check_scheduler(MyAdam) is False
    assert "MyAdam" in capsys.readouterr().out.split(":")[0]


def test_an_exception_in_the_students_code_is_a_failed_case_without_traceback(capsys):
    def my_convolve1d(x, w):
        return x[len(x) + 5]

    assert checks.check_convolve1d(my_convolve1d) is False
    out = capsys.readouterr().out
    assert out.startswith("✘ my_convolve1d: failed on case 1 of ")
    assert "your function raised IndexError: index 8 is out of bounds" in out
    assert "input x: [1., 2., 3.]" in out and "expected: [1., 3., 5., 3.]" in out
    assert "Traceback" not in out and "got:" not in out


def test_failing_case_prints_inputs_expected_and_got(capsys):
    def my_convolve2d(image, kernel):
        return cross_correlate2d(image, kernel)

    checks.check_convolve2d(my_convolve2d)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "✘ my_convolve2d: failed on case 1 of 13 (4 of 4 entries differ, first at index (0, 0): "
        "-4 instead of 4)"
    )
    for label in ("input image:", "input kernel:", "expected:", "got:"):
        assert label in out
    assert "[[-4., -4.],\n       [-4., -4.]]" in out


def test_returning_none_or_a_float_size_gets_a_hint(capsys):
    def my_convolve1d(x, w):
        np.convolve(x, w)

    checks.check_convolve1d(my_convolve1d)
    assert "returned None (is a `return` missing?)" in capsys.readouterr().out
    checks.check_padding_for_output(lambda i, k, s, o: float(padding_for_output(i, k, s, o)))
    out = capsys.readouterr().out
    assert "expected an int, got float 1.0" in out and "got: 1.0" in out


def test_verdicts_are_identical_on_every_run(capsys):
    for check, answer in BROKEN[:: 5] + CORRECT:
        check(answer)
    first = capsys.readouterr().out
    for check, answer in BROKEN[:: 5] + CORRECT:
        check(answer)
    assert capsys.readouterr().out == first


def test_a_student_function_that_changes_its_inputs_cannot_change_the_expected_answer(capsys):
    def my_convolve1d(x, w):
        result = np.convolve(x, w)
        x[:] = 0
        w[:] = 0
        return result

    assert checks.check_convolve1d(my_convolve1d) is True


def test_lambda_answers_get_the_topic_name(capsys):
    checks.check_im2col(lambda image, kh, kw: im2col(image, kh, kw))
    assert capsys.readouterr().out.startswith("✔ im2col: passed ")


# ----------------------------------------------------------------------------- private references


def test_conv_backward_reference_matches_finite_differences():
    rng = np.random.default_rng(1)
    X, kernel = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(3, 2, 2, 3))
    dZ = rng.normal(size=(2, 2, 4, 2))

    def loss():
        Z = np.stack([[sum(correlate2d(X[n, c], kernel[c, f], mode="valid") for c in range(3))
                       for f in range(2)] for n in range(2)])
        return float(np.sum(Z * dZ))

    dX, dkernel = exercises._conv_backward_reference(X, kernel, dZ)
    np.testing.assert_allclose(dX, numerical_gradient(loss, X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dkernel, numerical_gradient(loss, kernel), rtol=1e-6, atol=1e-8)


def test_pool_backward_reference_matches_finite_differences():
    rng = np.random.default_rng(2)
    X = rng.permutation(2 * 2 * 6 * 4).reshape(2, 2, 6, 4) / 10.0
    dA = rng.normal(size=(2, 2, 3, 2))

    def loss():
        pooled = X.reshape(2, 2, 3, 2, 2, 2).max(axis=(3, 5))
        return float(np.sum(pooled * dA))

    np.testing.assert_allclose(exercises._max_pool_backward_reference(X, dA, 2),
                               numerical_gradient(loss, X), atol=1e-8)


def test_im2col_and_best_hyperparameter_references_match_loops():
    image = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(exercises._im2col_reference(image, 2, 3), im2col(image, 2, 3))
    accuracy = np.array([[0.3, np.nan], [0.9, 0.2], [np.nan, 0.95]])
    etas, lambdas = np.array([1e-3, 1e-2, 1e-1]), np.array([0.0, 1e-3])
    assert exercises._best_hyperparameters_reference(accuracy, etas, lambdas) == (0.1, 1e-3)
    assert best_hyperparameters(accuracy, etas, lambdas) == (0.1, 1e-3)


def test_padding_for_output_reference_is_relationship_6_solved_for_p():
    """Over a grid, the search and the closed form agree, and the answer does what it says."""
    impossible = 0
    for i, k, s, o in itertools.product(range(1, 21), range(1, 8), range(1, 5), range(1, 16)):
        p = exercises._padding_for_output_reference(i, k, s, o)
        assert p == padding_for_output(i, k, s, o), (i, k, s, o)
        if p is None:
            impossible += 1
            assert all(k > i + 2 * q or (i + 2 * q - k) // s + 1 != o for q in range(20))
        else:
            assert conv_output_size(i, k, s, p) == o
            assert all(k > i + 2 * q or conv_output_size(i, k, s, q) != o for q in range(p))
    assert impossible > 0  # the grid holds cases where no padding works


def test_smallest_input_without_padding_is_the_receptive_field():
    """With p = 0 and o = 1 the smallest input is the field size r of notebook 03's recurrence."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        layers = [(int(k), int(s), 0) for k, s in rng.integers([1, 1], [6, 4], size=(int(rng.integers(1, 6)), 2))]
        r, j = 1, 1
        for k, s, _ in layers:
            r, j = r + (k - 1) * j, j * s
        assert exercises._smallest_input_reference(layers, 1) == r == smallest_input(layers, 1)


def test_chance_loss_reference_is_the_minimum_over_constant_predictions():
    """No other constant prediction q' has a lower mean cross-entropy than the reference's q."""
    rng = np.random.default_rng(4)
    labels = np.array([0, 0, 0, 1, 2, 2])
    q, loss = exercises._chance_loss_reference(labels, 4)
    assert math.isclose(loss, -np.mean(np.log(q[labels])))
    for other in rng.dirichlet(np.ones(4), size=200):
        assert -np.mean(np.log(other[labels])) >= loss


def test_col2im_reference_is_the_transpose_of_im2col():
    """<im2col(x), C> == <x, col2im(C)> for every x and C: col2im is im2col's adjoint."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        h, w = rng.integers(2, 8, size=2)
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        x = rng.normal(size=(h, w))
        C = rng.normal(size=((h - kh + 1) * (w - kw + 1), kh * kw))
        back = exercises._col2im_reference(C, (h, w), kh, kw)
        assert math.isclose(np.sum(im2col(x, kh, kw) * C), np.sum(x * back), rel_tol=1e-12)
        np.testing.assert_allclose(back, col2im(C, (h, w), kh, kw), rtol=1e-12, atol=1e-12)


def test_importing_checks_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, course_utils.checks; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_points_is_what_nbgrader_reads_from_a_check_cell(capsys):
    assert checks.points(True) == 1.0 and isinstance(checks.points(True), float)
    assert checks.points(False) == 0.0
    assert checks.points(None) == 0.0 and checks.points(1) == 0.0  # only a check's True passes
    assert checks.points(True, out_of=2) == 2.0
    with pytest.raises(ValueError, match="out_of"):
        checks.points(True, out_of=0)
    # A wrong answer: the verdict is printed and the cell's value is 0.0, nothing raised.
    assert checks.points(checks.check_convolve1d(lambda x, w: np.convolve(x, w)[:-1])) == 0.0
    assert capsys.readouterr().out.startswith("✘ convolve1d: failed on case 1")


# ----------------------------------------------------------------------------- every exercise
def _topic(check) -> str:
    return "Adam" if check is checks.check_scheduler else check.__name__.removeprefix("check_")


def test_every_exercise_has_a_right_answer_and_two_plausible_wrong_ones():
    """Issue 38: for every checked exercise, one right answer and at least two wrong ones."""
    compared = {topic for topic, e in exercises.EXERCISES.items() if e.kind != "model"} | {"Adam"}
    right = {_topic(check) for check, _ in CORRECT}
    wrong = [_topic(check) for check, _ in BROKEN]
    assert compared <= right, sorted(compared - right)
    assert not [topic for topic in compared if wrong.count(topic) < 2]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_graders_draws_reject_every_wrong_answer_and_accept_the_right_one(seed):
    """The grader draws its cases from a secret seed: those cases tell right from wrong too."""
    for pairs, should_pass in ((CORRECT, True), (BROKEN, False)):
        for check, answer in pairs:
            exercise = exercises.exercise_of_check(check.__name__)
            cases = exercise.cases(np.random.default_rng(seed))
            target = exercise.student_callable(answer)
            passed, lines = checks.judge(exercise, "answer", cases,
                                         (checks.call(target, args) for args in cases))
            assert passed is should_pass, (check.__name__, getattr(answer, "__name__", "lambda"), lines[0])
