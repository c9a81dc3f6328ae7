"""`make html` builds the course site, a Jupyter Book of the stored outputs: every notebook
in order in the sidebar and on the index, an in-page table of contents, a download button
for the notebook itself, full-text search, and maths and figures that need no network.

The site is built once per session (`make html` into a temporary folder, warnings are
errors); the browser tests open it in headless Chromium with the network cut off
(skipped when Chromium is not installed).
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from _chromium import chromium, offsite_requests, wait_for_script
from _helpers import NOTEBOOKS, ROOT

HEADING = re.compile(r"^(#{1,6})\s+(.*)")
# the lecture demos' animations (course_utils.demos.animation): a GIF inside an <img>
ANIMATION = re.compile(r'<img class="course-animation" alt="[^"]*" '
                       r'src="data:image/gif;base64,([A-Za-z0-9+/=]+)"')
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)


class _Page(HTMLParser):
    """Links and loaded files (scripts, styles, images) of a page, by where the links sit:
    the sidebar of all notebooks, the page's own table of contents, the article."""

    def __init__(self):
        super().__init__()
        self.links, self.sources = [], []
        self.sidebar, self.page_toc, self.article = [], [], []
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in ("nav", "article"):
            region = ("article" if tag == "article" else "sidebar" if "bd-links" in classes
                      else "page_toc" if "bd-toc-nav" in classes or "page-toc" in classes
                      else None)
            self._open.append((tag, region))
        if tag == "a" and "href" in attrs:
            self.links.append((attrs.get("class") or "", attrs["href"]))
            region = next((r for _, r in reversed(self._open) if r), None)
            if region:
                getattr(self, region).append(attrs["href"])
        for key in ("src", "href"):
            if tag in ("script", "img", "link", "iframe", "source") and attrs.get(key):
                self.sources.append(attrs[key])

    def handle_endtag(self, tag):
        if tag in ("nav", "article") and self._open and self._open[-1][0] == tag:
            self._open.pop()


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every markdown heading of a notebook, outside code fences."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        fence = False
        for line in cell.source.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
            m = None if fence else HEADING.match(line)
            if m:
                found.append((len(m.group(1)), m.group(2).strip()))
    return found


def _title(path: Path) -> str:
    return next(text for level, text in _headings(path) if level == 1)


def _page(site: Path, notebook: Path) -> Path:
    return site / "notebooks" / notebook.with_suffix(".html").name


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("html")
    env = {**os.environ, "MAKEFLAGS": ""}
    start = time.perf_counter()
    result = subprocess.run(["make", "--no-print-directory", "html", f"HTML_DIR={target / 'html'}",
                             f"BOOK_WORK={target / 'work'}"],
                            cwd=ROOT, check=False, capture_output=True, text=True, env=env,
                            timeout=900)
    assert result.returncode == 0, f"make html failed:\n{result.stdout}\n{result.stderr}"
    print(f"make html took {time.perf_counter() - start:.1f} s")
    return target / "html"


def test_notebook_headings_never_skip_a_level():
    """Jupyter Book warns (and -W fails the build) when a heading skips a level."""
    for path in NOTEBOOKS:
        levels = [level for level, _ in _headings(path)]
        assert levels and levels[0] == 1, f"{path.name}: no level-1 title first"
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, f"{path.name}: heading level {before} then {after}"


def test_book_lists_every_notebook_in_order_on_the_index_and_in_every_sidebar(site):
    names = [p.with_suffix(".html").name for p in NOTEBOOKS]
    index = site / "book" / "index.html"
    listed = [h.removeprefix("../notebooks/") for h in _parse(index).article
              if h.startswith("../notebooks/")]
    assert list(dict.fromkeys(listed)) == names  # the index's table of contents
    assert [h.removeprefix("../notebooks/") for h in _parse(index).sidebar] == names
    for i, path in enumerate(NOTEBOOKS):  # on a notebook's page its own entry is "#"
        sidebar = [names[i] if h == "#" else h for h in _parse(_page(site, path)).sidebar]
        assert sidebar == names, (path.name, sidebar)
    text = index.read_text(encoding="utf-8")
    for path in NOTEBOOKS:  # the titles, as the notebooks spell them
        assert _title(path).replace("&", "&amp;") in text, _title(path)
    assert (site / "index.html").is_file()  # the top page sends the reader to book/index.html


def test_every_page_has_its_sections_in_a_table_of_contents_and_a_download_button(site):
    for path in NOTEBOOKS:
        page = _page(site, path)
        parsed = _parse(page)
        sections = [text for level, text in _headings(path) if level == 2]
        toc = [h for h in parsed.page_toc if h.startswith("#")]
        assert len(toc) >= len(sections), (path.name, toc)
        download = f"../_sources/notebooks/{path.name}"
        assert any(h == download for _, h in parsed.links), f"{path.name}: no download link"
        # the download is the notebook itself, with its outputs
        assert (site / "_sources" / "notebooks" / path.name).read_bytes() == path.read_bytes()


def test_pages_show_the_stored_outputs_and_load_nothing_from_the_web(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= len(NOTEBOOKS) + 1
    for page in pages:
        remote = [s for s in _parse(page).sources if REMOTE.match(s)]
        assert not remote, f"{page.relative_to(site)} loads files from the web: {remote}"
    for css in (site / "_static").rglob("*.css"):
        imports = re.findall(r"@import\s+url\(\s*['\"]?((?:https?:)?//[^)'\"]+)",
                             css.read_text(encoding="utf-8", errors="replace"))
        assert not imports, f"{css.relative_to(site)} imports {imports}"
    assert (site / "_static" / "mathjax" / "MathJax.js").is_file()
    assert (site / "searchindex.js").is_file()
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        text = _page(site, path).read_text(encoding="utf-8")
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells
                      if c.cell_type == "code" for o in c.outputs)
        if figures:
            assert re.search(r'<img[^>]+src="\.\./_images/', text), f"{path.name}: no figure"
        stream = next((o.text for c in nb.cells if c.cell_type == "code"
                       and "remove-cell" not in c.metadata.get("tags", []) for o in c.outputs
                       if o.output_type == "stream" and o.text.strip()), None)
        if stream:  # the first printed line of the notebook appears on its page
            line = next(ln for ln in stream.splitlines() if ln.strip()).strip()
            escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert escaped in text.replace("&#39;", "'").replace("&quot;", '"'), (path.name, line)


class _Text(HTMLParser):
    """The text of a page's article, in one string with single spaces."""

    def __init__(self):
        super().__init__()
        self.parts, self._depth = [], 0

    def handle_starttag(self, tag, attrs):
        self._depth += tag == "article"

    def handle_endtag(self, tag):
        self._depth -= tag == "article"

    def handle_data(self, data):
        if self._depth:
            self.parts.append(data)


def _article_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join("".join(parser.parts).translate(QUOTES).split())


QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _words(source: str) -> str:
    """The longest stretch of the first line of a cell between formulas, as a page shows it:
    without markup, links as their text, straight quotes, spaces collapsed."""
    line = next(ln for ln in source.splitlines() if ln.strip())
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"^\s*#+\s*", "", line)
    longest = max(re.split(r"\$[^$]*\$?", line), key=len)
    return " ".join(re.sub(r"[*`]", "", longest).translate(QUOTES).split())


def test_pages_leave_out_removed_cells_and_speaker_notes(site):
    """Jupyter Book leaves out cells tagged remove-cell; book/_ext/speaker_notes.py
    makes it leave out the lecturer's speaker-notes too. Every other markdown cell shows."""
    hidden_seen = 0
    for path in NOTEBOOKS:
        text = _article_text(_page(site, path))
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            tags = set(cell.metadata.get("tags", []))
            if not cell.source.strip():
                continue
            words = _words(cell.source)
            if len(words) < 20:
                continue
            if tags & {"remove-cell", "speaker-notes"}:
                hidden_seen += 1
                assert words not in text, f"{path.name}: hidden cell shown: {words!r}"
            elif cell.cell_type == "markdown" and not re.match(r"\s*([|>*-]|\d+\.)", cell.source):
                assert words in text, f"{path.name}: markdown cell missing: {words!r}"
    assert hidden_seen, "no hidden cell in any notebook: nothing was tested"


def _stored_animations(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(len(ANIMATION.findall(o.get("data", {}).get("text/html", "")))
               for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_no_notebook_stores_widget_state():
    """With widget state stored, the site and the slides would load the widget manager
    from a CDN; the demos keep a GIF for them instead (make execute stores no state)."""
    for path in NOTEBOOKS:
        assert "widgets" not in nbformat.read(path, as_version=4).metadata, path.name


def test_pages_show_the_lecture_demos_as_animated_gifs(site):
    import base64

    import imageio.v3 as iio

    animated = {p.name: _stored_animations(p) for p in NOTEBOOKS if _stored_animations(p)}
    assert {"01_convolution.ipynb", "03_conv_arithmetic.ipynb"} <= set(animated), animated
    for path in NOTEBOOKS:
        if path.name not in animated:
            continue
        gifs = ANIMATION.findall(_page(site, path).read_text(encoding="utf-8"))
        assert len(gifs) == animated[path.name], path.name
        for gif in gifs:  # a GIF that moves: several frames
            assert iio.imread(base64.b64decode(gif), index=None).shape[0] > 1, path.name


# --- in the browser, offline ----------------------------------------------------------------


def test_site_in_chromium_lists_the_notebooks_and_search_finds_toeplitz(site):
    titles = [_title(p) for p in NOTEBOOKS]
    with chromium() as driver:
        driver.get((site / "index.html").as_uri())  # redirects to book/index.html
        # the redirect has landed and the page's article is there (it may not be at once)
        body = wait_for_script(driver, "const a = document.querySelector('article'); return "
                               "location.pathname.endsWith('book/index.html') && a && a.innerText")
        assert body, "book/index.html never showed its article"
        positions = [body.find(t) for t in titles]
        assert -1 not in positions and positions == sorted(positions), (titles, body[:1000])

        # Search: type in the page's search box, as a student does.
        driver.get((site / "search.html").as_uri() + "?q=Toeplitz")
        summary = wait_for_script(driver, "const p = document.querySelector('#search-results "
                                    "p.search-summary'); return p && p.textContent")
        assert summary, "search never finished"
        hits = driver.execute_script(
            "return Array.from(document.querySelectorAll('#search-results ul.search li a'))"
            ".map(a => a.getAttribute('href'))")
        notebook_hits = sorted({h.split("#")[0].split("?")[0] for h in hits
                                if h.startswith("notebooks/")})
        toeplitz = [p for p in NOTEBOOKS if "toeplitz" in
                    p.read_text(encoding="utf-8").lower()]
        assert notebook_hits == [f"notebooks/{p.with_suffix('.html').name}" for p in toeplitz]
        assert notebook_hits == ["notebooks/02_toeplitz.html"], hits
        assert offsite_requests(driver) == []


def test_maths_is_typeset_and_figures_show_in_chromium_with_no_network(site):
    with_maths = [p for p in NOTEBOOKS
                  if any(level == 2 for level, _ in _headings(p))][:2]
    with chromium() as driver:
        for path in with_maths:
            driver.get(_page(site, path).as_uri())
            done = wait_for_script(driver, "return window.MathJax && MathJax.Hub && MathJax.Hub.queue"
                                     " && MathJax.Hub.queue.pending === 0"
                                     " && document.querySelectorAll('.MathJax, .MathJax_Display')"
                                     ".length")
            assert done, f"{path.name}: MathJax rendered nothing"
            # every formula of the page became MathJax output: no raw TeX is left
            raw = driver.execute_script(
                "return Array.from(document.querySelectorAll('.math.notranslate'))"
                ".filter(e => !e.querySelector('script[type^=\"math/tex\"]'))"
                ".map(e => e.textContent).slice(0, 5)")
            assert raw == [], f"{path.name}: formulas not typeset: {raw}"
            text = driver.find_element("tag name", "article").text
            assert "\\(" not in text and "\\[" not in text, f"{path.name}: raw TeX on the page"
            assert not driver.find_elements("css selector", ".MathJax_Error, merror")
            decoded = driver.execute_script(
                "return Array.from(document.images).filter("
                "im => im.complete && im.naturalWidth > 0 && im.src.includes('_images')).length")
            assert decoded >= 1, f"{path.name}: no figure decoded"
        assert offsite_requests(driver) == []


def test_the_convolution_animation_shows_in_chromium_with_no_network(site):
    page = _page(site, ROOT / "notebooks" / "03_conv_arithmetic.ipynb")
    with chromium() as driver:
        driver.get(page.as_uri())
        shown = wait_for_script(driver, "return Array.from(document.querySelectorAll("
                                "'article img.course-animation')).filter(im => im.complete "
                                "&& im.naturalWidth > 200 && im.getBoundingClientRect().width > 200)"
                                ".length")
        assert shown >= 2, "the animations of notebook 03 did not show"
        assert offsite_requests(driver) == []
