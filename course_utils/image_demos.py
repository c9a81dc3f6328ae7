"""Lecture demos on images: a kernel editor on the photograph (notebook 01) and the
receptive field of a stack of layers (notebook 03).

Like `course_utils.demos` (the convolution arithmetic, the GIF helpers), every demo is a
drawing function, a widget that redraws it, and frames for an animation or a grid of
frames in the stored notebook. Bad input is shown in the widget, never raised.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from .convolution import convolve2d
from .demos import figure_frames, png
from .fast_layers import Convolution2DLayerOPT
from .layers import Pooling2DLayer
from .receptive_field import receptive_field

__all__ = [
    "KERNELS",
    "check_kernel",
    "draw_filtered",
    "draw_receptive_field",
    "field_frames",
    "field_layers",
    "kernel_editor",
    "receptive_field_widget",
]

# The kernels a lecturer reaches for first (3x3; applied as true convolutions)
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Sobel x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "Sobel y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}


def check_kernel(values) -> tuple[np.ndarray | None, str]:
    """(3x3 float kernel, "") from nine numbers, or (None, the reason) if they are not."""
    try:
        kernel = np.asarray(values, dtype=float).reshape(3, 3)
    except (TypeError, ValueError):
        return None, f"the kernel needs nine numbers, got {values!r}."
    if not np.isfinite(kernel).all():
        return None, "every kernel entry must be a finite number (no NaN or inf)."
    return kernel, ""


def draw_filtered(photo: np.ndarray, kernel, fig=None, title: str = ""):
    """The grey photo (H, W) and photo * kernel ("same" size, true convolution) side by side.

    The filtered image is shown with limits symmetric about 0 when the kernel's weights sum
    to about 0 (edge filters: grey is no change), else with the photo's 0..255.
    """
    kernel, error = check_kernel(kernel)
    fig = fig or plt.figure(figsize=(9, 3.6), dpi=80)
    fig.clear()
    if error:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, error, ha="center", va="center", color="darkred", fontsize=12)
        return fig
    ax_k, ax_p, ax_f = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 2, 2]})
    limit = max(np.abs(kernel).max(), 1e-12)
    ax_k.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (r, c), v in np.ndenumerate(kernel):
        ax_k.text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=10)
    ax_k.set(xticks=[], yticks=[], title=title or "kernel")
    filtered = convolve2d(photo, kernel, mode="same")
    ax_p.imshow(photo, cmap="gray", vmin=0, vmax=255)
    ax_p.set(title="photo", xticks=[], yticks=[])
    if abs(kernel.sum()) < 1e-9:
        bound = max(np.percentile(np.abs(filtered), 99), 1e-12)  # a few spikes, not all grey
        ax_f.imshow(filtered, cmap="gray", vmin=-bound, vmax=bound)
        ax_f.set_title("filtered (grey = 0)")
    else:
        ax_f.imshow(filtered, cmap="gray", vmin=0, vmax=255)
        ax_f.set_title("filtered (0..255, clipped)")
    ax_f.set(xticks=[], yticks=[])
    return fig


def kernel_frames(photo: np.ndarray, names=tuple(KERNELS)) -> list[np.ndarray]:
    """One frame per named kernel of KERNELS, for an animation of the kernel editor."""
    return figure_frames(lambda name, fig: draw_filtered(photo, KERNELS[name], fig, name), names)


def kernel_editor(photo: np.ndarray, kernel="sharpen"):
    """A 3x3 grid of numbers and a preset menu; the filtered photo follows every edit."""
    import ipywidgets as widgets

    if isinstance(kernel, str) and kernel not in KERNELS:
        start, error = None, f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}."
    else:
        start, error = check_kernel(KERNELS[kernel] if isinstance(kernel, str) else kernel)
    cells = [widgets.FloatText(value=float(v), layout=widgets.Layout(width="70px"))
             for v in (start if start is not None else np.zeros((3, 3))).ravel()]
    preset = widgets.Dropdown(options=["(edited)", *KERNELS], description="kernel",
                              value=kernel if isinstance(kernel, str) and kernel in KERNELS
                              else "(edited)")
    message = widgets.HTML()
    picture = widgets.Image(format="png")
    fig = plt.figure(figsize=(9, 3.6), dpi=80)
    plt.close(fig)
    busy = {"setting": False}

    def redraw(_=None):
        if busy["setting"]:
            return
        values, why = check_kernel([cell.value for cell in cells])
        message.value = (f'<span class="kernel-message" style="color:darkred">{why}</span>' if why
                         else f'<span class="kernel-message">weights sum to '
                              f'{values.sum():.3g}</span>')
        picture.value = png(draw_filtered(photo, [cell.value for cell in cells], fig))

    def choose(change):
        if change["new"] in KERNELS:
            busy["setting"] = True  # one redraw for nine new numbers, not nine
            for cell, v in zip(cells, np.ravel(KERNELS[change["new"]])):
                cell.value = float(v)
            busy["setting"] = False
            redraw()

    for cell in cells:
        cell.observe(redraw, names="value")
    preset.observe(choose, names="value")
    redraw()
    if error:  # a bad starting kernel: say why (the grid starts from zeros)
        message.value = f'<span class="kernel-message" style="color:darkred">{error}</span>'
    grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
    return widgets.VBox([widgets.HBox([preset, grid]), message, picture])


def field_layers(depth: int, k: int = 3, pool_every: int = 2) -> list:
    """A stack for the receptive-field demo: `depth` layers, 3x3 ("k") "same" convolutions
    with a 2x2 max pooling (stride 2) after every `pool_every` of them (0: no pooling)."""
    layers = []
    for n in range(depth):
        layers.append(Convolution2DLayerOPT(1, 1, k, k, pad="same", seed=0))
        if pool_every and (n + 1) % pool_every == 0:
            layers.append(Pooling2DLayer(2, 2, 2, 2))
    return layers


def _layer_name(layer) -> str:
    if isinstance(layer, Pooling2DLayer):
        return f"pool {layer.kernel_height}x{layer.kernel_width} s{layer.v_stride}"
    return f"conv {layer.kernel_height}x{layer.kernel_width} {layer.pad}"


def draw_receptive_field(image: np.ndarray, layers: list, fig=None):
    """The field of the centre unit of the last layer, and of each layer below, on `image`.

    image: (H, W). The solid red square is the last layer's field (receptive_field's r, the
    part inside the image); thinner lines those of the layers before it. The title gives
    r, the jump j, and the recurrence r_l = r_{l-1} + (k_l - 1) j_{l-1} with its numbers.
    """
    fig = fig or plt.figure(figsize=(7.2, 4.2), dpi=80)
    fig.clear()
    height, width = image.shape
    try:
        fields = receptive_field(layers, (1, height, width))
    except ValueError as error:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "\n".join(textwrap.wrap(str(error), 70)), ha="center", va="center",
                color="darkred")
        return fig
    ax, ax_text = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    lines = [f"{'layer':<16}{'r':>4}{'j':>4}"]
    size, jump = 1, 1
    for n, (layer, field) in enumerate(zip(layers, fields)):
        _, out_h, out_w = field.output_shape
        top = field.start[0] + (out_h // 2) * field.jump[0]
        left = field.start[1] + (out_w // 2) * field.jump[1]
        last = n == len(fields) - 1
        ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), field.size[1], field.size[0],
                                   fill=False, edgecolor="red" if last else "orange",
                                   linewidth=2.5 if last else 1, linestyle="-" if last else ":"))
        lines.append(f"{_layer_name(layer):<16}{field.size[0]:>4}{field.jump[0]:>4}")
        step = f"r = {size} + ({layer.kernel_height} − 1)·{jump} = {field.size[0]}"
        size, jump = field.size[0], field.jump[0]
    ax.set(xlim=(-4.5, width + 3.5), ylim=(height + 3.5, -4.5), xlabel="column (pixel)",
           ylabel="row (pixel)", title=f"centre unit of the last layer: {size}x{size} pixels")
    ax_text.axis("off")
    ax_text.text(0, 1, "\n".join([*lines, "", "last layer:", step]), va="top",
                 family="monospace", fontsize=9, transform=ax_text.transAxes)
    return fig




def field_frames(image: np.ndarray, depths=range(1, 7), k: int = 3) -> list[np.ndarray]:
    """One frame per depth: the field growing layer by layer (pooling after every second conv)."""
    return figure_frames(lambda depth, fig: draw_receptive_field(
        image, field_layers(depth, k), fig), depths)


def receptive_field_widget(image: np.ndarray, depth: int = 2, k: int = 3):
    """Sliders for the number of convolutions, the kernel size and where pooling goes."""
    import ipywidgets as widgets

    depth_slider = widgets.IntSlider(value=depth, min=1, max=8, description="convolutions",
                                     continuous_update=False)
    k_slider = widgets.IntSlider(value=k, min=1, max=7, step=2, description="kernel k",
                                 continuous_update=False)
    pool = widgets.Dropdown(options=[("after every 2nd conv", 2), ("after every conv", 1),
                                     ("never", 0)], value=2, description="2x2 pooling")
    text = widgets.HTML()
    picture = widgets.Image(format="png")
    fig = plt.figure(figsize=(7.2, 4.2), dpi=80)
    plt.close(fig)

    def redraw(_=None):
        layers = field_layers(depth_slider.value, k_slider.value, pool.value)
        try:
            field = receptive_field(layers, (1, *image.shape))[-1]
            text.value = (f'<span class="field-size">{len(layers)} layers: each unit of the '
                          f"last sees {field.size[0]}x{field.size[1]} pixels</span>")
        except ValueError as error:
            text.value = f'<span class="field-size" style="color:darkred">{error}</span>'
        picture.value = png(draw_receptive_field(image, layers, fig))

    for control in (depth_slider, k_slider, pool):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([depth_slider, k_slider, pool]), text, picture])
