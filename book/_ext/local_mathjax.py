"""Serve MathJax from the site itself, so the maths renders with no network.

Sphinx loads MathJax 3 from a CDN by default. This extension copies MathJax 2.7 from the
pip package jupyter-server-mathjax (pinned in requirements.txt) to _static/mathjax/ of
the built site and points Sphinx at it (Sphinx's mathjax_path and mathjax2_config). The
package ships only the STIX-Web fonts, so MathJax is told so before it starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jupyter_server_mathjax

SOURCE = Path(jupyter_server_mathjax.__file__).parent / "static"
CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"


def _configure(app, config) -> None:
    config.mathjax_path = f"mathjax/MathJax.js?config={CONFIG}"
    config.mathjax3_config = None
    config.myst_update_mathjax = False   # its window.MathJax = {...} is MathJax 3 syntax
    config.mathjax2_config = {
        "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web",
                     "imageFont": None},
        "SVG": {"font": "STIX-Web"},
        # MyST marks the whole page tex2jax_ignore and each formula with class "math"
        "tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"},
        "messageStyle": "none",
    }


def _copy(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(SOURCE, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _configure, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
