"""The lecture demos: geometry and its reasons, frames and GIFs, widgets that never raise."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from course_utils.convolution import conv_output_size, padding_amounts
from course_utils.demos import (
    animation,
    conv_arithmetic_frames,
    conv_arithmetic_widget,
    conv_geometry,
)
from course_utils.image_demos import (
    KERNELS,
    check_kernel,
    field_frames,
    field_layers,
    kernel_editor,
    kernel_frames,
    receptive_field_widget,
)
from course_utils.receptive_field import receptive_field


def _text(widget) -> str:
    """The HTML text of a widget and all its children (what the lecturer reads)."""
    import ipywidgets as widgets

    if isinstance(widget, widgets.HTML):
        return widget.value
    return " ".join(_text(child) for child in getattr(widget, "children", ()))


def _find(widget, kind, description=None):
    if isinstance(widget, kind) and description in (None, getattr(widget, "description", None)):
        return widget
    for child in getattr(widget, "children", ()):
        found = _find(child, kind, description)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("i, k, s, p, d", [(7, 3, 2, 1, 1), (5, 4, 1, 2, 1), (9, 3, 3, 0, 2),
                                           (6, 2, 1, 0, 3), (12, 7, 4, 3, 1)])
def test_geometry_with_zeros_matches_the_package_arithmetic(i, k, s, p, d):
    g = conv_geometry(i, k, s, p, d)
    assert not g.error
    assert (g.before, g.after, g.k_eff) == (p, p, d * (k - 1) + 1)
    assert g.o == conv_output_size(i, d * (k - 1) + 1, s, p)
    assert g.formula.endswith(f"= {g.o}") and f"/ {s}⌋" in g.formula
    # the numbers in the formula evaluate to o
    numbers = g.formula.split(" = ")[-2].translate(str.maketrans("⌊⌋·−", "()*-"))
    assert eval(numbers.replace("/", "//")) == g.o  # our own text, not user input


@pytest.mark.parametrize("padding", ["same", "circular"])
@pytest.mark.parametrize("i, k, s", [(5, 2, 1), (7, 3, 2), (8, 3, 3), (6, 5, 2)])
def test_same_and_circular_pad_as_the_layers_do_and_keep_ceil_i_over_s(padding, i, k, s):
    g = conv_geometry(i, k, s, padding)
    top, bottom, _, _ = padding_amounts(padding, i, i, k, k, s, s)
    assert (g.before, g.after) == (top, bottom)
    assert g.o == -(-i // s)


@pytest.mark.parametrize("args, reason", [
    ((3, 5, 1, 0), ("the kernel does not fit: it spans k_eff = 1·(5 − 1) + 1 = 5 cells, the "
                   "padded input only 3 + 0 + 0 = 3")),
    ((5, 3, 1, 0, 3), "spans k_eff = 3·(3 − 1) + 1 = 7"),
    ((7, 3, 1.5, 1), "s must be an integer ≥ 1 (the kernel moves by whole pixels), got 1.5"),
    ((7, 3, 0, 1), "s must be an integer ≥ 1"),
    ((7, 3, 1, -1), "p must be an integer ≥ 0"),
    ((7, 3, 1, "mirror"), 'Or "same", "circular"'),
    ((3, 5, 1, "circular"), "does not fit a torus of 3"),
    (("7", 3, 1, 0), "i must be an integer ≥ 1"),
])
def test_impossible_cases_come_back_with_the_reason(args, reason):
    assert reason in conv_geometry(*args).error


def test_frames_show_each_kernel_position_and_make_a_looping_gif():
    frames = conv_arithmetic_frames(7, 3, 2, 1)  # o = 4: 16 positions
    assert len(frames) == 16 and frames[0].ndim == 3 and frames[0].shape[2] == 3
    assert not np.array_equal(frames[0], frames[1])  # the window moved
    gif = animation(frames[:3], alt="kernel positions")
    assert gif.gif.startswith(b"GIF89a") and gif.n_frames == 3
    html = gif._repr_html_()
    assert html.startswith('<img class="course-animation" alt="kernel positions"')
    assert "data:image/gif;base64," in html
    import imageio.v3 as iio

    assert iio.imread(gif.gif, index=None).shape[0] == 3  # all frames kept


def test_an_impossible_case_draws_one_frame_with_its_reason():
    assert len(conv_arithmetic_frames(3, 5)) == 1


def test_the_widget_redraws_when_a_slider_moves_and_shows_reasons_instead_of_raising():
    import ipywidgets as widgets

    demo = conv_arithmetic_widget(7, 3, 2, 1)
    assert "= 4" in _text(demo)
    _find(demo, widgets.IntSlider, "input i").value = 9
    assert "⌊(9 + 1 + 1 − 3) / 2⌋ + 1 = 5" in _text(demo)
    _find(demo, widgets.IntSlider, "kernel k").value = 7
    _find(demo, widgets.Dropdown, "padding").value = "0"
    _find(demo, widgets.IntSlider, "dilation d").value = 2
    assert "the kernel does not fit" in _text(demo)
    assert _find(demo, widgets.IntSlider, "position").max == 0
    # bad starting values: the reason, not a traceback
    assert "s must be an integer" in _text(conv_arithmetic_widget(7, 3, 1.5, 1))
    assert "the kernel does not fit" in _text(conv_arithmetic_widget(3, 5, 1, 0))


def test_kernel_editor_follows_edits_and_names_a_bad_entry():
    import ipywidgets as widgets

    photo = np.random.default_rng(0).uniform(0, 255, (20, 30))
    editor = kernel_editor(photo, "box blur")
    assert "weights sum to 1" in _text(editor)
    _find(editor, widgets.Dropdown, "kernel").value = "Sobel x"
    assert "weights sum to 0" in _text(editor)
    _find(editor, widgets.FloatText).value = 2.0  # top-left: 1 -> 2
    assert "weights sum to 1" in _text(editor)
    assert check_kernel([1, 2, 3])[0] is None and "nine numbers" in check_kernel([1, 2, 3])[1]
    assert "finite" in check_kernel([np.nan] * 9)[1]
    assert "nine numbers" in _text(kernel_editor(photo, [[1, 2], [3, 4]]))
    assert "unknown kernel 'blurr'" in _text(kernel_editor(photo, "blurr"))
    assert len(kernel_frames(photo, ("identity", "Laplacian"))) == 2
    assert set(KERNELS) >= {"identity", "box blur", "Sobel x", "Laplacian"}


def test_receptive_field_demo_uses_the_package_recurrence_and_explains_a_stack_too_deep():
    import ipywidgets as widgets

    image = np.zeros((28, 28))
    layers = field_layers(4)  # conv conv pool conv conv pool
    assert receptive_field(layers, (1, 28, 28))[-1].size == (16, 16)  # 3, 5, 6, 10, 14, 16
    demo = receptive_field_widget(image, depth=4)
    assert "each unit of the last sees 16x16 pixels" in _text(demo)
    _find(demo, widgets.Dropdown, "2x2 pooling").value = 1
    _find(demo, widgets.IntSlider, "convolutions").value = 8  # 8 poolings of 28 pixels
    assert "larger than" in _text(demo) or "does not fit" in _text(demo) or "input" in _text(demo)
    assert len(field_frames(image, range(1, 4))) == 3


def test_importing_the_package_imports_neither_ipywidgets_nor_the_demos():
    code = ("import sys, course_utils, course_utils.saliency; "
            "print(any(m in sys.modules for m in ('ipywidgets', 'course_utils.demos', "
            "'course_utils.image_demos')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
