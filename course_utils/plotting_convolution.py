"""Pictures of what a convolution does: the flip-and-slide of 1D convolution (notebook 01),
kernel positions over a padded input (notebook 03), the volumes of a network's layers and
the backward pass of a strided convolution, computed by layers.conv_backward (notebook 04).

Every function draws on matplotlib objects it is given (or creates and returns) and never
calls `plt.show()`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .convolution import conv_output_size, convolve2d
from .layers import conv_backward, conv_forward
from .plotting_images import show_matrix

__all__ = [
    "show_flip_and_slide", "show_kernel_positions", "show_strided_conv_backward", "show_volumes",
    "strided_backward_steps",
]


def _padding_pair(name: str, value) -> tuple[int, int]:
    """(before, after) from an int or a pair of ints >= 0."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 0 for v in pair):
        raise ValueError(f"{name} must be an int >= 0 or a pair (before, after), got {value!r}.")
    return int(pair[0]), int(pair[1])


def show_kernel_positions(
    i: int,
    k: int,
    s: int = 1,
    p=0,
    *,
    title: str | None = None,
    max_panels: int = 49,
    size: float = 1.6,
) -> tuple[Figure, Axes]:
    """Draw every position of a k x k kernel over an i x i input padded with zeros.

    One small panel per output element, in output order (row by row), in the
    style of Dumoulin & Visin's guide to convolution arithmetic: input cells blue
    (outlined), padding zeros white, the cells the kernel covers dark, and the
    label above each panel names the output element it produces.

    i: input size, k: kernel size, s: stride, p: zeros on each side, either an int
    or a pair (before, after) for asymmetric padding such as TensorFlow's "same".
    The same padding is used along both axes. The positions are enumerated
    literally (start 0, s, 2s, ... while the kernel still fits), so the number of
    panels per row is o, the output size, found by brute force.
    size: inches per panel. All panels share one Axes (fast to draw); its texts
    are the o * o panel labels "out[r,c]", row by row.
    Returns (figure, axes).
    """
    for name, value in (("i", i), ("k", k), ("s", s)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    before, after = _padding_pair("p", p)
    padded = before + i + after
    if k > padded:
        raise ValueError(
            f"kernel size k={k} is larger than the padded input {padded}; "
            "use a smaller kernel or more padding."
        )
    starts = list(range(0, padded - k + 1, s))
    o = len(starts)
    if o * o > max_panels:
        raise ValueError(
            f"{o} x {o} = {o * o} kernel positions exceed max_panels={max_panels}; "
            "draw a smaller example or raise max_panels."
        )
    gap = max(1.0, 0.25 * padded)  # space between panels, in cells (room for the label)
    step = padded + gap
    fig, ax = plt.subplots(figsize=(max(size * o, 5.0), size * o + 0.6), layout="constrained")
    # RGB by cell kind: padding, input, padding under the kernel, input under the kernel
    colours = np.array(
        [[1.0, 1.0, 1.0], [0.62, 0.79, 0.88], [0.33, 0.33, 0.33], [0.12, 0.37, 0.66]]
    )
    inside = np.zeros((padded, padded), dtype=int)
    inside[before : before + i, before : before + i] = 1
    lines = np.arange(padded + 1)
    for out_r, r0 in enumerate(starts):
        for out_c, c0 in enumerate(starts):
            x0, y0 = out_c * step, out_r * step  # top-left corner of this panel
            covered = np.zeros_like(inside)
            covered[r0 : r0 + k, c0 : c0 + k] = 2
            ax.imshow(
                colours[inside + covered],
                extent=(x0, x0 + padded, y0 + padded, y0),
                interpolation="nearest",
            )
            ax.vlines(x0 + lines, y0, y0 + padded, colors="0.55", linewidth=0.5)
            ax.hlines(y0 + lines, x0, x0 + padded, colors="0.55", linewidth=0.5)
            # outline of the real input, then of the kernel window
            ax.add_patch(
                Rectangle(
                    (x0 + before, y0 + before), i, i, fill=False, edgecolor="#1f5fa8", linewidth=1.2
                )
            )
            ax.add_patch(
                Rectangle((x0 + c0, y0 + r0), k, k, fill=False, edgecolor="black", linewidth=1.8)
            )
            ax.text(
                x0 + padded / 2,
                y0 - 0.15 * gap,
                f"out[{out_r},{out_c}]",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xlim(-0.5, o * step - gap + 0.5)
    ax.set_ylim(o * step - gap + 0.5, -gap)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    pad_text = f"p={before}" if before == after else f"p=({before} before, {after} after)"
    ax.set_title(title or f"i={i}, k={k}, s={s}, {pad_text}: o={o} positions per axis")
    ax.set_xlabel(
        "columns of the padded input (blue: input, white: zero padding;\n"
        "dark, framed: kernel window (grey where it covers padding))",
        fontsize=9,
    )
    ax.set_ylabel("rows of the padded input", fontsize=9)
    return fig, ax


def show_volumes(
    ax: Axes,
    volumes: Sequence[tuple[int, int, int]],
    labels: Sequence[str] | None = None,
    operations: Sequence[str] | None = None,
    *,
    depth_scale: float = 0.5,
    title: str = "activation volumes (width x height x depth)",
) -> list:
    """Draw activation volumes as boxes, left to right: the (width, height, depth) picture.

    volumes: (width, height, depth) of each volume, e.g. [(32, 32, 3), (32, 32, 12)];
    width and height are drawn to scale, the depth (channels) recedes up and to the right,
    `depth_scale` units per channel. labels: text under each box (default
    "W x H x D"). operations: one text per gap between two boxes, written over an arrow
    (e.g. "conv 3x3, 12 maps"). Returns the drawn boxes, one list of three
    matplotlib Polygons (front, top, side face) per volume.
    """
    from matplotlib.patches import Polygon

    volumes = [tuple(v) for v in volumes]
    if not volumes or any(
        len(v) != 3 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in v)
        for v in volumes
    ):
        raise ValueError(
            f"volumes must be a non-empty list of (width, height, depth) positive ints, "
            f"got {volumes!r}."
        )
    labels = [f"{w} x {h} x {d}" for w, h, d in volumes] if labels is None else list(labels)
    if len(labels) != len(volumes):
        raise ValueError(f"give one label per volume: {len(volumes)} volumes, {len(labels)} labels.")
    operations = [] if operations is None else list(operations)
    if operations and len(operations) != len(volumes) - 1:
        raise ValueError(
            f"give one operation per gap between volumes ({len(volumes) - 1}), got "
            f"{len(operations)}."
        )
    if not depth_scale > 0:
        raise ValueError(f"depth_scale must be > 0, got {depth_scale!r}.")
    slant = np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)]) * depth_scale  # per channel
    gap = 0.6 * max(max(w, h) for w, h, _ in volumes)
    x, boxes, top = 0.0, [], 0.0
    colours = plt.get_cmap("tab10").colors
    for index, (width, height, depth) in enumerate(volumes):
        back = slant * depth
        front = [(x, 0), (x + width, 0), (x + width, height), (x, height)]
        upper = [(x, height), (x + width, height),
                 (x + width + back[0], height + back[1]), (x + back[0], height + back[1])]
        side = [(x + width, 0), (x + width + back[0], back[1]),
                (x + width + back[0], height + back[1]), (x + width, height)]
        colour = colours[index % len(colours)]
        faces = [Polygon(face, closed=True, facecolor=colour, alpha=alpha, edgecolor="black")
                 for face, alpha in ((front, 0.55), (upper, 0.35), (side, 0.25))]
        for face in faces:
            ax.add_patch(face)
        boxes.append(faces)
        ax.text(x + width / 2, -0.08 * gap, labels[index], ha="center", va="top")
        right = x + width + back[0]
        top = max(top, height + back[1])
        if index < len(operations):
            middle = height / 2
            ax.annotate("", xy=(right + 0.8 * gap, middle), xytext=(right + 0.2 * gap, middle),
                        arrowprops={"arrowstyle": "->", "linewidth": 1.5})
            ax.text(right + 0.5 * gap, middle + 0.05 * gap, operations[index], ha="center",
                    va="bottom")
        x = right + gap
    ax.set_xlim(-0.1 * gap, x - 0.9 * gap)
    ax.set_ylim(-0.3 * gap, top + 0.1 * gap)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title)
    return boxes


def show_flip_and_slide(x, w) -> tuple[Figure, np.ndarray]:
    """Draw the full 1D convolution y = x * w the way its formula reads.

    x: (n,) signal, w: (m,) kernel. The top panel shows w as stored; every panel below
    is one output y_i = sum_a x_a w_(i-a): the kernel flipped and slid so that w_0 sits
    at a = i, drawn over x, with the products that overlap and their sum in the title.
    Returns (figure, axes): n + m panels, one column, sharing the index axis a.
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.ndim != 1 or w.ndim != 1 or not x.size or not w.size:
        raise ValueError(f"x and w must be non-empty 1D arrays, got shapes {x.shape} and {w.shape}.")
    n, m = len(x), len(w)
    y = np.convolve(x, w)
    fig, axes = plt.subplots(n + m, 1, figsize=(7, 1.35 * (n + m) + 0.6), sharex=True,
                             layout="constrained")
    top = max(np.abs(x).max(), np.abs(w).max()) * 1.25 or 1.0
    first = axes[0]
    first.vlines(np.arange(m), 0, w, color="tab:red", linewidth=2)
    first.plot(np.arange(m), w, "o", color="tab:red", label="w[j] as stored")
    for j in range(m):
        first.annotate(f"w[{j}]", (j, w[j]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    first.set_title("the kernel as stored: w[0], w[1], ... from left to right")
    for i, ax in enumerate(axes[1:]):
        ax.bar(np.arange(n), x, width=0.6, color="0.75", label="x[a]")
        a = i - np.arange(m)                      # w[j] sits at a = i - j: flipped, shifted to i
        ax.vlines(a, 0, w, color="tab:red", linewidth=2)
        ax.plot(a, w, "o", color="tab:red", label="w[i - a] (flipped, slid to i)")
        for j in range(m):
            ax.annotate(f"w[{j}]", (a[j], w[j]), textcoords="offset points", xytext=(6, 4),
                        fontsize=8)
        terms = [f"{x[k]:g}·{w[i - k]:g}" for k in range(n) if 0 <= i - k < m]
        ax.set_title(f"y[{i}] = " + " + ".join(terms) + f" = {y[i]:g}", fontsize=10)
    for ax in axes:
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylim(-top, top)
        ax.set_ylabel("value")
    axes[-1].set_xlabel("index a (position along the signal)")
    axes[-1].set_xticks(np.arange(-(m - 1), n + m - 1))
    axes[1].legend(loc="lower right", fontsize=8, ncols=2)
    fig.suptitle("1D convolution: flip the kernel, slide it, multiply where it overlaps x, add")
    return fig, axes


def strided_backward_steps(dZ, kernel, stride: int, input_shape: tuple[int, int]) -> dict:
    """The input gradient of a valid, strided cross-correlation, in the steps of the picture.

    dZ: (o_h, o_w) gradient of the output, kernel: (k_h, k_w), stride s, input_shape
    (H, W) with o = floor((H - k) / s) + 1. Returns {"dilated": dZ with s - 1 zeros
    between neighbours, "full": the full convolution of that with the kernel,
    "dX": the input gradient, from layers.conv_backward; it equals "full" with zero
    rows/columns added at the end for inputs no window reached}.
    """
    dZ = np.asarray(dZ, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if dZ.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"dZ and kernel must be 2D arrays, got shapes {dZ.shape} and {kernel.shape}.")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}.")
    expected = tuple(conv_output_size(i, k, stride) for i, k in zip(input_shape, kernel.shape))
    if dZ.shape != expected:
        raise ValueError(f"dZ has shape {dZ.shape}, but a {kernel.shape} kernel with stride {stride} "
                         f"on a {tuple(input_shape)} input gives outputs of shape {expected}.")
    dilated = np.zeros(((dZ.shape[0] - 1) * stride + 1, (dZ.shape[1] - 1) * stride + 1))
    dilated[::stride, ::stride] = dZ
    full = convolve2d(dilated, kernel, mode="full", method="naive")
    # dX itself from the layers' backward pass (the same function the CNN's maths is):
    # the picture's steps above are another way to the same numbers (tests/test_plotting.py)
    _, cache = conv_forward(np.zeros((1, 1, *input_shape)), kernel[None, None], np.zeros(1),
                            stride, stride, "valid")
    dX, _, _ = conv_backward(dZ[None, None], cache)
    return {"dilated": dilated, "full": full, "dX": dX[0, 0]}


def show_strided_conv_backward(dZ, kernel, stride: int,
                               input_shape: tuple[int, int]) -> tuple[Figure, np.ndarray]:
    """Four panels: dZ, dZ spread apart by the stride, the kernel, and the input gradient dX.

    dX = full convolution of the spread-out dZ with the kernel (strided_backward_steps).
    The outline in dX marks the k_h x k_w window that the first output entry dZ[0, 0]
    read in the forward pass, which is where its gradient goes back to.
    Returns (figure, axes).
    """
    steps = strided_backward_steps(dZ, kernel, stride, input_shape)
    dZ = np.asarray(dZ, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    fig, axes = plt.subplots(1, 4, figsize=(15, 4.2), layout="constrained",
                             gridspec_kw={"width_ratios": [dZ.shape[1], steps["dilated"].shape[1],
                                                           kw, input_shape[1]]})
    show_matrix(axes[0], dZ, f"dZ: gradient of the {dZ.shape[0]}×{dZ.shape[1]} output",
                annotate=True, highlight=(0, 0, 1, 1), xlabel="output column j",
                ylabel="output row i")
    show_matrix(axes[1], steps["dilated"], f"{stride - 1} zero{'s' * (stride > 2)} between entries (stride {stride})",
                annotate=True, xlabel="column", ylabel="row")
    show_matrix(axes[2], kernel, "kernel K (used flipped: a full convolution)", annotate=True,
                xlabel="kernel column b", ylabel="kernel row a")
    show_matrix(axes[3], steps["dX"], f"dX: full convolution, {input_shape[0]}×{input_shape[1]} input",
                annotate=True, highlight=(0, 0, kh, kw), xlabel="input column q",
                ylabel="input row p")
    fig.suptitle(f"Backward pass of a {kh}×{kw} convolution with stride {stride}: "
                 "spread dZ apart, then convolve fully with K")
    return fig, axes
