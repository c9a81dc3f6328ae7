"""Slides: every notebook carries slide metadata; `make slides` writes static reveal.js decks
that need no network. (RISE presenting a notebook live in JupyterLab: test_browser.py.)

The browser tests run headless Chromium with the network cut off (skipped when Chromium
is not installed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from _chromium import chromium, offsite_requests, wait_for_script
from _helpers import NOTEBOOKS, ROOT

SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}
# files a page loads (not links a reader may follow): scripts, images, frames, stylesheets
REMOTE = re.compile(r"""<(?:script|img|iframe|source|link)\b[^>]*?\b(?:src|href)\s*=\s*["']"""
                    r"""((?:https?:)?//[^"']+)""", re.IGNORECASE)
UI_TIMEOUT = 90  # s


def _slide_type(cell) -> str | None:
    return cell.metadata.get("slideshow", {}).get("slide_type")


# --- the metadata in the notebooks -------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_slide_metadata_for_a_projector(path):
    nb = nbformat.read(path, as_version=4)
    types = [_slide_type(c) for c in nb.cells]
    missing = [i for i, t in enumerate(types) if t not in SLIDE_TYPES]
    assert not missing, f"{path.name}: cells {missing} have no slide type"
    assert types[0] == "slide", "the title cell opens the show"
    for cell, kind in zip(nb.cells, types):
        first = cell.source.lstrip().split("\n")[0]
        if cell.cell_type == "markdown" and re.match(r"##?\s", first):
            assert kind == "slide", f"{path.name}: {first!r} should start a slide"
        if cell.cell_type == "markdown" and re.match(r"###+\s", first):
            assert kind in ("slide", "subslide"), f"{path.name}: {first!r} should start a subslide"
        if "### BEGIN SOLUTION" in cell.source:
            assert kind == "skip", f"{path.name}: an exercise answer is shown on a slide"
    shown = [c for c, t in zip(nb.cells, types) if t != "skip"]
    assert len(shown) > len(nb.cells) / 2, f"{path.name}: most cells are skipped"
    rise = nb.metadata.get("rise", {})
    assert rise.get("theme") == "white", "RISE's default theme fetches web fonts"


def _slide_layout():
    spec = importlib.util.spec_from_file_location("slide_layout", ROOT / "tools" / "slide_layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_slide_layout_is_what_tools_slide_layout_gives(path):
    """A cell added or moved without re-running the layout tool lands on the wrong slide."""
    layout = _slide_layout()
    nb = nbformat.read(path, as_version=4)
    assert not layout.split_long_markdown(nb), f"{path.name}: run tools/slide_layout.py"
    stored = [_slide_type(c) for c in nb.cells]
    assert stored == layout.slide_types(nb), f"{path.name}: run tools/slide_layout.py"


# --- static decks from `make slides` -----------------------------------------------------------

@pytest.fixture(scope="session")
def decks(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("slides") / "slides"
    env = {**os.environ, "MAKEFLAGS": ""}
    start = time.perf_counter()
    result = subprocess.run(["make", "--no-print-directory", "slides", f"SLIDES_DIR={target}"],
                            cwd=ROOT, check=False, capture_output=True, text=True, env=env,
                            timeout=900)
    assert result.returncode == 0, f"make slides failed:\n{result.stdout}\n{result.stderr}"
    print(f"make slides took {time.perf_counter() - start:.1f} s")
    return target


def test_make_slides_writes_one_offline_deck_per_notebook(decks):
    written = sorted(p.name for p in decks.glob("*.slides.html"))
    assert written == [p.stem + ".slides.html" for p in NOTEBOOKS]
    for name in written:
        text = (decks / name).read_text(encoding="utf-8")
        remote = REMOTE.findall(text)
        assert not remote, f"{name} loads files from the web: {remote}"
        assert re.search(r"import\s+\w+\s+from\s+['\"]https?:", text) is None, name
        assert 'src="reveal.js/dist/reveal.js"' in text and "mathjax/MathJax.js" in text
    assert (decks / "reveal.js" / "dist" / "reveal.js").is_file()
    assert (decks / "reveal.js" / "dist" / "theme" / "white.css").is_file()
    assert (decks / "mathjax" / "MathJax.js").is_file()


def test_a_static_deck_opens_and_advances_in_chromium_with_no_network(decks):
    from selenium.webdriver.common.keys import Keys

    deck = decks / "02_toeplitz.slides.html"
    current = ("return [JSON.stringify(Reveal.getIndices()), "
               "Reveal.getCurrentSlide().innerText.trim().slice(0, 200)]")
    with chromium() as driver:
        driver.get(deck.as_uri())
        ready = wait_for_script(driver, "return window.Reveal && Reveal.isReady() && window.MathJax"
                                  " && MathJax.Hub && MathJax.Hub.queue.pending === 0", UI_TIMEOUT)
        assert ready, "the deck did not start (reveal.js or MathJax missing?)"
        assert driver.execute_script("return Reveal.getTotalSlides()") > 5
        first = driver.execute_script(current)
        title = nbformat.read(ROOT / "notebooks" / deck.name.replace(".slides.html", ".ipynb"),
                              as_version=4).cells[0].source.split("\n")[0].lstrip("# ")
        assert title.lower() in first[1].lower(), first
        driver.find_element("tag name", "body").send_keys(Keys.ARROW_RIGHT)
        assert wait_for_script(driver, f"return JSON.stringify(Reveal.getIndices()) !== {first[0]!r}",
                               UI_TIMEOUT)
        second = driver.execute_script(current)
        assert second[1] and second[1] != first[1], (first, second)
        assert driver.execute_script("return document.querySelectorAll("
                                     "'.MathJax, .MathJax_Display').length") > 0
        assert offsite_requests(driver) == []


def test_decks_leave_out_removed_cells_and_show_speaker_notes_as_notes(decks):
    """remove-cell cells are not in a deck; speaker-notes cells sit in reveal.js's
    <aside class="notes"> (the speaker view, S), not on a slide. A removed cell is kept out
    twice: its slide type is "skip" (tools/slide_layout.py), and `make slides` drops the tag
    with nbconvert's TagRemovePreprocessor, so a stale layout does not show it either."""
    notes_seen = removed_seen = 0
    for path in NOTEBOOKS:
        text = (decks / (path.stem + ".slides.html")).read_text(encoding="utf-8")
        asides = "".join(re.findall(r'<aside class="notes">(.*?)</aside>', text, re.DOTALL))
        for cell in nbformat.read(path, as_version=4).cells:
            tags = cell.metadata.get("tags", [])
            marker = f'id="cell-id={cell.id}"'
            if "remove-cell" in tags:
                removed_seen += 1
                assert marker not in text, f"{path.name}: removed cell {cell.id} on a slide"
            elif "speaker-notes" in tags:
                notes_seen += 1
                assert marker in asides, f"{path.name}: notes {cell.id} not speaker notes"
            elif _slide_type(cell) != "skip":
                assert marker in text and marker not in asides, f"{path.name}: cell {cell.id}"
    assert notes_seen and removed_seen, "no tagged cells: nothing was tested"
