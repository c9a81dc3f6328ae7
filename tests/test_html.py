"""`make html` builds the course page from the stored outputs: an index in notebook order,
one page per notebook with previous/next links, figures and maths that render offline.

The page is built once per session (`make html` into a temporary folder); the browser
test opens it in headless Chromium (skipped when Chromium is not installed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from _chromium import chromium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
from build_html import notebook_title


class _Links(HTMLParser):
    """Collect <a> hrefs with their classes, <script src> and <img> tags of a page."""

    def __init__(self):
        super().__init__()
        self.links, self.scripts, self.images = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append((attrs.get("class") or "", attrs["href"]))
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "img":
            self.images += 1


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _titles() -> list[str]:
    return [notebook_title(nbformat.read(p, as_version=4), p.stem) for p in NOTEBOOKS]


def _has_figure(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _has_maths(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any(re.search(r"\$[^$\n]+\$", c.source) for c in nb.cells if c.cell_type == "markdown")


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    if not NOTEBOOKS:
        pytest.skip("no notebooks/NN_*.ipynb yet")
    target = tmp_path_factory.mktemp("html")
    env = {**os.environ, "MAKEFLAGS": ""}
    start = time.perf_counter()
    result = subprocess.run(["make", "--no-print-directory", "html", f"HTML_DIR={target}"],
                            cwd=ROOT, check=False, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"make html failed:\n{result.stdout}\n{result.stderr}"
    print(f"make html took {time.perf_counter() - start:.1f} s")
    return target


def test_index_links_every_notebook_in_order(site):
    links = [href for cls, href in _parse(site / "index.html").links if cls == "notebook"]
    assert links == [p.with_suffix(".html").name for p in NOTEBOOKS]
    index = (site / "index.html").read_text(encoding="utf-8")
    for title in _titles():
        assert title.replace("&", "&amp;") in index, title


def test_every_page_has_previous_index_and_next_links_in_order(site):
    pages = [p.with_suffix(".html").name for p in NOTEBOOKS]
    for i, name in enumerate(pages):
        links = _parse(site / name).links
        nexts = {href for cls, href in links if "next" in cls.split()}
        prevs = {href for cls, href in links if "prev" in cls.split()}
        assert any("index" in c.split() and h == "index.html" for c, h in links), name
        assert nexts == ({pages[i + 1]} if i + 1 < len(pages) else set()), name
        assert prevs == ({pages[i - 1]} if i > 0 else set()), name


def test_pages_show_the_stored_outputs_and_need_no_network(site):
    for path in NOTEBOOKS:
        page = site / path.with_suffix(".html").name
        parsed = _parse(page)
        remote = [s for s in parsed.scripts if s.startswith(("http:", "https:", "//"))]
        assert not remote, f"{page.name} loads scripts from the web: {remote}"
        if _has_figure(path):
            assert parsed.images >= 1, f"{page.name} has no <img> for its stored figures"
        nb = nbformat.read(path, as_version=4)
        text = page.read_text(encoding="utf-8")
        for cell in nb.cells:
            streams = [o for o in cell.get("outputs", []) if o.output_type == "stream"]
            if streams:  # the first printed line of the notebook appears verbatim on the page
                line = next((ln for ln in streams[0].text.splitlines() if ln.strip()), "")
                escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                assert escaped.strip() in text, f"{page.name}: {line!r}"
                break
    assert (site / "_static" / "mathjax" / "MathJax.js").is_file()


def test_course_page_in_chromium_shows_titles_figures_and_maths(site):
    titles = _titles()
    with chromium() as driver:
        driver.get((site / "index.html").as_uri())
        index_text = driver.find_element("tag name", "body").text
        for title in titles:
            assert title in index_text, title
        # Walk the pages through their "next" links, starting from the index's first link.
        driver.find_element("css selector", "ol.notebooks a.notebook").click()
        for i, path in enumerate(NOTEBOOKS):
            assert driver.current_url.endswith(path.with_suffix(".html").name)
            assert driver.title == titles[i]
            headings = [h.text for h in driver.find_elements("tag name", "h1")]
            assert any(titles[i] in h for h in headings), (path.name, headings)
            if _has_figure(path):
                decoded = driver.execute_script(
                    "return Array.from(document.images).filter("
                    "im => im.complete && im.naturalWidth > 0).length")
                assert decoded >= 1, f"{path.name}: no figure decoded"
            if _has_maths(path):
                rendered = _wait_for_mathjax(driver)
                assert rendered >= 1, f"{path.name}: maths not rendered"
                errors = driver.find_elements("css selector", ".MathJax_Error, merror")
                assert not errors, f"{path.name}: MathJax errors: {[e.text for e in errors][:3]}"
            if i + 1 < len(NOTEBOOKS):
                driver.find_element("css selector", "nav.course-nav.top a.next").click()


def _wait_for_mathjax(driver, timeout: float = 60) -> int:
    """Wait until MathJax has typeset the page; return the number of rendered formulas."""
    deadline = time.monotonic() + timeout
    script = ("return window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
              "&& MathJax.Hub.queue.running === 0 "
              "? document.querySelectorAll('.MathJax, .MathJax_Display').length : -1")
    while time.monotonic() < deadline:
        count = driver.execute_script(script)
        if count is not None and count > 0:
            return count
        time.sleep(0.25)
    return 0
