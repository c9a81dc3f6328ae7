"""Lecture demos that move: convolution arithmetic, a kernel editor, receptive fields.

Each demo has three faces, built on the same drawing function:

- a widget (ipywidgets) for the live lecture: sliders redraw the picture and the formula
  with its numbers (notebooks 01 and 03);
- frames, RGB arrays of the same picture at successive steps;
- an animated GIF of those frames (`animation`), which the stored notebook keeps as an
  image, so that the course site and the static slides (no kernel behind them) move too.

Bad input never raises inside a widget: the geometry functions return the reason, and
the widget shows it where the picture would be (a kernel larger than the padded input,
a stride of 1.5, a kernel cell that is not a number).

ipywidgets, imageio and IPython are imported inside the functions that need them: this
module sits on top of the package and `import course_utils` never imports it.
"""

from __future__ import annotations

import base64
import io
import numbers
import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from .convolution import conv_output_size, same_padding

__all__ = ["ConvGeometry", "animation", "conv_arithmetic_frames", "conv_arithmetic_widget",
           "conv_geometry", "draw_conv_arithmetic", "figure_frames", "png"]

PADDINGS = (0, 1, 2, 3, "same", "circular")


@dataclass(frozen=True)
class ConvGeometry:
    """One axis of a square convolution, as Dumoulin and Visin draw it.

    i, k, s, d: input size, kernel size, stride, dilation. padding: what was asked (an int
    of zeros per side, "same" or "circular"). before, after: the cells added on each side.
    k_eff = d (k - 1) + 1: the span of the dilated kernel. o: output size. error: why the
    kernel does not fit or an argument is wrong ("" if all is well; then o > 0).
    """

    i: int
    k: int
    s: int
    d: int
    padding: int | str
    before: int = 0
    after: int = 0
    k_eff: int = 0
    o: int = 0
    error: str = ""

    @property
    def formula(self) -> str:
        """The output-size formula with this case's numbers (or the reason it has none)."""
        return _formula(self)


def _whole(name: str, value, smallest: int) -> tuple[int, str]:
    """(value, "") for an integer >= smallest, else (0, the reason)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or value != int(value) or int(value) < smallest):
        why = {"s": "the kernel moves by whole pixels", "d": "taps sit whole pixels apart"}
        reason = f" ({why[name]})" if name in why else ""
        return 0, f"{name} must be an integer ≥ {smallest}{reason}, got {value!r}."
    return int(value), ""


def conv_geometry(i, k, s=1, padding=0, d=1) -> ConvGeometry:
    """Padding, dilated kernel span and output size of a convolution along one axis.

    Never raises: an impossible case comes back with `error` set to the reason (the
    widgets show it). padding: an int p (p zeros each side), "same" (TensorFlow's zeros,
    the odd one after, see convolution.same_padding) or "circular" (as many cells as
    "same", wrapped round from the other edge; the kernel must not exceed the input).
    o = floor((i + before + after - k_eff) / s) + 1 (Dumoulin and Visin, relationship 6,
    with the dilated span k_eff = d (k - 1) + 1, relationship 15).
    """
    checked = {}
    for name, value, smallest in (("i", i, 1), ("k", k, 1), ("s", s, 1), ("d", d, 1)):
        checked[name], error = _whole(name, value, smallest)
        if error:
            return ConvGeometry(0, 0, 0, 0, padding, error=error)
    i, k, s, d = checked["i"], checked["k"], checked["s"], checked["d"]
    k_eff = d * (k - 1) + 1
    if padding in ("same", "circular"):
        before, after = same_padding(i, k_eff, s)
        if padding == "circular" and k_eff > i:
            return ConvGeometry(i, k, s, d, padding, before, after, k_eff, error=(
                f"a circular kernel spanning {k_eff} cells does not fit a torus of {i}: it "
                "would see some cells twice; use a smaller kernel or dilation."))
    else:
        p, error = _whole("p", padding, 0)
        if error:
            return ConvGeometry(i, k, s, d, padding, error=error + ' Or "same", "circular".')
        before = after = p
    try:
        o = conv_output_size(i + before + after, k_eff, s)
    except ValueError:
        return ConvGeometry(i, k, s, d, padding, before, after, k_eff, error=(
            f"the kernel does not fit: it spans k_eff = {d}·({k} − 1) + 1 = {k_eff} cells, "
            f"the padded input only {i} + {before} + {after} = {i + before + after}; "
            "use a smaller kernel or dilation, or more padding."))
    return ConvGeometry(i, k, s, d, padding, before, after, k_eff, o)


def _formula(g: ConvGeometry) -> str:
    """o = ... with the numbers, in plain text (used in titles and the widget)."""
    if g.error:
        return g.error
    span = f"({g.d}·({g.k}−1)+1)" if g.d > 1 else f"{g.k}"
    return (f"o = ⌊(i + p_before + p_after − k_eff) / s⌋ + 1 = "
            f"⌊({g.i} + {g.before} + {g.after} − {span}) / {g.s}⌋ + 1 = {g.o}")


def draw_conv_arithmetic(g: ConvGeometry, step: int = 0, fig=None):
    """The padded input with the kernel at output position `step` (row by row), and the output.

    Blue: input cells; white with dashes: zeros of the padding; grey with a number: cells
    wrapped round from the other edge (circular, the number is the input row or column
    they copy); dark: the kernel's taps (dilated: holes between them). Right: the o x o
    output, the cell being computed dark, those already computed light.
    Returns the figure (two axes). An impossible geometry draws its reason instead.
    """
    fig = fig or plt.figure(figsize=(7.2, 3.6), dpi=80)
    fig.clear()
    if g.error:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "\n".join(textwrap.wrap(g.error, 60)), ha="center", va="center",
                fontsize=12, color="darkred")
        return fig
    ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [g.i + g.before + g.after,
                                                                      max(g.o, 3)]})
    size = g.i + g.before + g.after
    row, col = divmod(step % (g.o * g.o), g.o)
    taps = {(row * g.s + a * g.d, col * g.s + b * g.d) for a in range(g.k) for b in range(g.k)}
    for y in range(size):
        for x in range(size):
            inside = g.before <= y < g.before + g.i and g.before <= x < g.before + g.i
            face = "#9ecae1" if inside else ("#d9d9d9" if g.padding == "circular" else "white")
            ax_in.add_patch(plt.Rectangle((x, y), 1, 1, facecolor=face, edgecolor="#636363",
                                          linestyle="-" if inside else "--", linewidth=0.8))
            if g.padding == "circular":  # which input cell each cell is (or copies)
                ax_in.text(x + 0.5, y + 0.5, f"{(y - g.before) % g.i},{(x - g.before) % g.i}",
                           ha="center", va="center", fontsize=6, color="#252525", zorder=3)
            if (y, x) in taps:
                ax_in.add_patch(plt.Rectangle((x + 0.1, y + 0.1), 0.8, 0.8, color="#08519c",
                                              alpha=0.75))
    ax_in.add_patch(plt.Rectangle((col * g.s, row * g.s), g.k_eff, g.k_eff, fill=False,
                                  edgecolor="#08519c", linewidth=2))
    for y in range(g.o):
        for x in range(g.o):
            done = (y, x) < (row, col)
            face = "#006d2c" if (y, x) == (row, col) else ("#a1d99b" if done else "#e5f5e0")
            ax_out.add_patch(plt.Rectangle((x, y), 1, 1, facecolor=face, edgecolor="#636363"))
    pad = g.padding if isinstance(g.padding, str) else f"p = {g.padding}"
    ax_in.set_title(f"input i = {g.i}, k = {g.k}, s = {g.s}, {pad}, d = {g.d}", fontsize=10)
    ax_out.set_title(f"output o = {g.o}", fontsize=10)
    for ax, n in ((ax_in, size), (ax_out, max(g.o, 3))):
        ax.set_xlim(0, n)
        ax.set_ylim(n, 0)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(_formula(g), fontsize=10)
    return fig




def png(fig) -> bytes:
    """The figure as PNG bytes, for an ipywidgets.Image (a widget's picture: no Output
    widget, whose captured outputs nbclient cannot execute without storing widget state)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def figure_frames(draw, steps) -> list[np.ndarray]:
    """RGB arrays (H, W, 3) of draw(step, fig) for each step, all drawn on one figure."""
    fig = plt.figure(figsize=(7.2, 3.6), dpi=80)
    frames = []
    try:
        for step in steps:
            draw(step, fig)
            fig.canvas.draw()
            frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    finally:
        plt.close(fig)
    return frames


def conv_arithmetic_frames(i=7, k=3, s=2, padding=1, d=1, max_frames: int = 25):
    """Frames of the kernel sliding over the padded input (at most max_frames positions)."""
    g = conv_geometry(i, k, s, padding, d)
    positions = max(g.o * g.o, 1)
    steps = np.unique(np.linspace(0, positions - 1, min(positions, max_frames)).astype(int))
    return figure_frames(lambda step, fig: draw_conv_arithmetic(g, int(step), fig), steps)


class Animation:
    """An animated GIF for a notebook: shown as an <img> (JupyterLab, the book, the slides)."""

    def __init__(self, gif: bytes, n_frames: int, alt: str):
        self.gif, self.n_frames, self.alt = gif, n_frames, alt

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.gif).decode("ascii")
        return (f'<img class="course-animation" alt="{self.alt}" '
                f'src="data:image/gif;base64,{data}"/>')

    def __repr__(self) -> str:
        return f"<animation: {self.n_frames} frames, {self.alt}>"


def animation(frames: list[np.ndarray], seconds_per_frame: float = 0.8,
              alt: str = "animation") -> Animation:
    """An endlessly looping GIF of `frames` (imageio), to display as a cell's output."""
    import imageio.v3 as iio

    if not frames:
        raise ValueError("frames is empty: render at least one frame.")
    buffer = io.BytesIO()
    iio.imwrite(buffer, np.stack(frames), extension=".gif",
                duration=int(1000 * seconds_per_frame), loop=0)
    return Animation(buffer.getvalue(), len(frames), alt)


def conv_arithmetic_widget(i=7, k=3, s=2, padding=1, d=1):
    """Sliders for i, k, s, padding and d; the picture, the formula and a play button.

    Any starting value may be wrong (k > i, s = 1.5): the widget then shows why, and the
    sliders put it right. Returns the widget (display it, or end a cell with it).
    """
    import ipywidgets as widgets

    def slider(description, value, low, high):
        start = value if isinstance(value, int) and low <= value <= high else low
        return widgets.IntSlider(value=start, min=low, max=high, description=description,
                                 continuous_update=False)

    controls = {"i": slider("input i", i, 1, 12), "k": slider("kernel k", k, 1, 7),
                "s": slider("stride s", s, 1, 4), "d": slider("dilation d", d, 1, 3),
                "padding": widgets.Dropdown(options=[str(p) for p in PADDINGS],
                                            value=str(padding) if str(padding) in map(str, PADDINGS)
                                            else "0", description="padding")}
    given = {"i": i, "k": k, "s": s, "d": d, "padding": padding}
    step = widgets.IntSlider(value=0, min=0, max=0, description="position")
    play = widgets.Play(interval=700, min=0, max=0)
    widgets.jslink((play, "value"), (step, "value"))
    formula = widgets.HTML()
    picture = widgets.Image(format="png")
    fig = plt.figure(figsize=(7.2, 3.6), dpi=80)
    plt.close(fig)  # drawn into the Image widget only, never shown by the inline backend

    def current():
        values = {name: given.pop(name, control.value) for name, control in controls.items()}
        p = values["padding"]
        values["padding"] = int(p) if isinstance(p, str) and p.isdigit() else p
        return conv_geometry(values["i"], values["k"], values["s"], values["padding"],
                             values["d"])

    def redraw(_=None):
        g = state["geometry"] = current()
        positions = g.o * g.o if not g.error else 1
        step.max = play.max = positions - 1
        colour = "darkred" if g.error else "black"
        formula.value = f'<span class="conv-formula" style="color:{colour}">{_formula(g)}</span>'
        show()

    def show(_=None):
        picture.value = png(draw_conv_arithmetic(state["geometry"], step.value, fig))

    state: dict = {}
    for control in controls.values():
        control.observe(redraw, names="value")
    step.observe(show, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([controls["i"], controls["k"], controls["s"]]),
                         widgets.HBox([controls["padding"], controls["d"]]),
                         widgets.HBox([play, step]), formula, picture])
