"""Pictures of images and matrices: one image, a row of images, a grid of images, a matrix
with its numbers written in (notebooks 01, 02, 05).

Every function draws on matplotlib objects it is given (or creates and returns), sets a
title and axis labels, and never calls `plt.show()`: the notebook cell does that, so the
figure appears once and nothing else is printed.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

__all__ = ["show_image", "show_image_grid", "show_images", "show_matrix"]


def show_image(
    ax: Axes,
    img,
    title: str,
    vmin: float | None = 0.0,
    vmax: float | None = 255.0,
    *,
    cmap: str = "gray",
    colorbar: bool = True,
    colorbar_label: str = "grey level",
    xlabel: str = "column (pixel)",
    ylabel: str = "row (pixel)",
) -> AxesImage:
    """Show one 2D image with fixed intensity limits, a title, axis labels and a colour bar.

    img: (H, W) array of intensities. vmin, vmax: the intensities drawn black and
    white; keep them fixed (0 and 255 for 8-bit photographs) so that two images
    can be compared by eye. Pass None to let matplotlib pick them from the data.
    Returns the AxesImage (its colour bar, if any, is `im.colorbar`).
    """
    img = np.asarray(img)
    if img.ndim != 2:
        raise ValueError(
            f"img must be a 2D (H, W) array, got shape {img.shape}; "
            "for an (N, C, H, W) batch pass X[n, c]."
        )
    im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if colorbar:
        cbar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cbar.set_label(colorbar_label)
    return im


def show_images(
    images: Sequence,
    titles: Sequence[str],
    vmin: float | None = 0.0,
    vmax: float | None = 255.0,
    *,
    suptitle: str | None = None,
    ncols: int | None = None,
    size: float = 3.2,
    cmap: str = "gray",
    colorbar: bool = True,
    colorbar_label: str = "grey level",
) -> tuple[Figure, np.ndarray]:
    """Show several 2D images side by side with the same intensity limits.

    images: sequence of (H, W) arrays; titles: one title per image.
    ncols: panels per row (default: all in one row). size: inches per panel.
    Returns (figure, flat array of the axes used).
    """
    if len(images) != len(titles):
        raise ValueError(
            f"got {len(images)} images but {len(titles)} titles; give one title per image."
        )
    if len(images) == 0:
        raise ValueError("images is empty; give at least one (H, W) array.")
    ncols = len(images) if ncols is None else int(ncols)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols * 1.25, size * nrows),
        squeeze=False,
        layout="constrained",
    )
    axes = axes.ravel()
    for ax, img, title in zip(axes, images, titles):
        show_image(
            ax, img, title, vmin, vmax, cmap=cmap, colorbar=colorbar, colorbar_label=colorbar_label
        )
    for ax in axes[len(images) :]:
        ax.set_visible(False)
    if suptitle:
        fig.suptitle(suptitle)
    return fig, axes[: len(images)]


def show_matrix(
    ax: Axes,
    M,
    title: str,
    *,
    labels=None,
    annotate: bool = False,
    fmt: str = "{:g}",
    cmap: str = "coolwarm",
    symmetric: bool = True,
    highlight: tuple[int, int, int, int] | None = None,
    block_size: tuple[int, int] | None = None,
    xlabel: str = "column index",
    ylabel: str = "row index",
    colorbar: bool = False,
    fontsize: float = 9,
    zero_white: bool = True,
) -> AxesImage:
    """Draw a matrix as a grid of coloured cells, row 0 at the top.

    M: (rows, cols) array. labels: optional (rows, cols) array of strings written in
    the cells (e.g. "w00" for a symbolic Toeplitz matrix; "" leaves a cell blank).
    annotate: write the numbers of M in the cells using `fmt`. symmetric: colour
    limits +-max|M|, centred on zero. zero_white: draw exact zeros white, so the
    sparsity pattern of a Toeplitz matrix stands out.
    highlight: (row, col, height, width) of a block to outline in black, e.g. the
    window a kernel covers. block_size: (rows, cols) of blocks to separate by grey
    lines, e.g. the Toeplitz blocks of a doubly block-Toeplitz matrix.
    Returns the AxesImage.
    """
    M = np.asarray(M, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"M must be a 2D array, got shape {M.shape}.")
    if labels is not None:
        labels = np.asarray(labels, dtype=object)
        if labels.shape != M.shape:
            raise ValueError(
                f"labels has shape {labels.shape} but M has shape {M.shape}; they must match."
            )
    finite_max = float(np.max(np.abs(M))) if M.size else 0.0
    if symmetric:
        limit = finite_max if finite_max > 0 else 1.0
        vmin, vmax = -limit, limit
    else:
        vmin, vmax = None, None
    colours = plt.get_cmap(cmap)
    shown = M
    if zero_white:
        colours = colours.with_extremes(bad="white")
        shown = np.ma.masked_where(M == 0, M)
    im = ax.imshow(shown, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest")
    rows, cols = M.shape
    # thin white lines between cells make single entries countable
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.85", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    step_c = max(1, int(np.ceil(cols / 12)))
    step_r = max(1, int(np.ceil(rows / 12)))
    ax.set_xticks(np.arange(0, cols, step_c))
    ax.set_yticks(np.arange(0, rows, step_r))
    if labels is not None or annotate:
        for r in range(rows):
            for c in range(cols):
                text = labels[r, c] if labels is not None else fmt.format(M[r, c])
                if text:
                    # white text on dark cells, black on light ones (and on white zeros)
                    dark = False
                    if M[r, c] != 0:
                        red, green, blue, _ = im.to_rgba(M[r, c])
                        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                    ax.text(
                        c,
                        r,
                        str(text),
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color="white" if dark else "black",
                    )
    if block_size is not None:
        br, bc = block_size
        for r in range(br, rows, br):
            ax.axhline(r - 0.5, color="0.3", linewidth=1.5)
        for c in range(bc, cols, bc):
            ax.axvline(c - 0.5, color="0.3", linewidth=1.5)
    if highlight is not None:
        r0, c0, h, w = highlight
        ax.add_patch(
            Rectangle((c0 - 0.5, r0 - 0.5), w, h, fill=False, edgecolor="black", linewidth=2.5)
        )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def show_image_grid(
    images: Sequence,
    titles: Sequence[str],
    vmin: float | None,
    vmax: float | None,
    *,
    ncols: int = 8,
    size: float = 1.5,
    suptitle: str | None = None,
    cmap: str = "gray",
) -> tuple[Figure, np.ndarray]:
    """Many small images (digits, kernels, feature maps) in a grid, without axis ticks.

    images: sequence of (H, W) arrays; titles: one short title per image. All panels
    share the intensity limits vmin, vmax (None: each panel picks its own range; say so
    in the suptitle). Returns (figure, flat array of the axes used).
    """
    if len(images) != len(titles) or len(images) == 0:
        raise ValueError(
            f"give one title per image and at least one image; got {len(images)} images and "
            f"{len(titles)} titles."
        )
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, (size + 0.35) * nrows + 0.5),
        squeeze=False,
        layout="constrained",
    )
    axes = axes.ravel()
    for ax, img, title in zip(axes, images, titles):
        ax.imshow(np.asarray(img), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(images) :]:
        ax.set_visible(False)
    if suptitle:
        fig.suptitle(suptitle)
    return fig, axes[: len(images)]
