"""Build the course page: one HTML page per stored notebook plus an index, no re-execution.

    python tools/build_html.py [--notebooks notebooks] [--output build/html]

Each notebook is converted with nbconvert's HTML exporter (the "lab" template, the
same as `jupyter nbconvert --to html`) from its STORED outputs, so the page shows
exactly what nbval checked. Every page gets previous / index / next links in notebook
order. Maths is rendered by a local copy of MathJax 2.7 (from the pip package
jupyter-server-mathjax) copied to <output>/_static/mathjax, so the pages work offline;
without that package the exporter's default (MathJax from a CDN) is kept.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"

# The pip package ships only the STIX-Web fonts; tell MathJax before it starts up.
MATHJAX_FONTS = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  SVG: {font: "STIX-Web"}
});
</script>
"""

# The notebook pages get nbconvert's MathJax set-up; the index gets the same delimiters.
INDEX_MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], processEscapes: true},
                   messageStyle: "none"});
</script>
"""

NAV_STYLE = """<style type="text/css">
nav.course-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1100px;
  margin: 0.5em auto; padding: 0.5em 1em; font-family: sans-serif; font-size: 14px;
  border-bottom: 1px solid #ddd; }
nav.course-nav.bottom { border-top: 1px solid #ddd; border-bottom: none; }
nav.course-nav a { text-decoration: none; }
</style>
"""

INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style type="text/css">
body {{ font-family: sans-serif; max-width: 900px; margin: 2em auto; padding: 0 1em;
        line-height: 1.5; color: #222; }}
ol.notebooks li {{ margin-bottom: 1em; }}
ol.notebooks a {{ font-size: 1.15em; }}
div.summary p {{ margin: 0.2em 0 0 0; color: #444; }}
</style>
{mathjax}
</head>
<body>
<h1>{title}</h1>
<p>The notebooks of the unit, in order, with the outputs stored in the repository
(run them yourself with <code>make lab</code>).</p>
<ol class="notebooks">
{items}
</ol>
</body>
</html>
"""


def notebook_title(nb, fallback: str) -> str:
    """The text of the first level-1 heading ("# 01 · Convolution: the maths"), else fallback."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def notebook_summary(nb) -> str:
    """The first paragraph after the title heading (what the student will learn), as HTML."""
    from nbconvert.filters.markdown import markdown2html

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            paragraphs = [p.strip() for p in cell.source.split("\n\n") if p.strip()]
            rest = [p for p in paragraphs if not p.startswith("#")]
            return markdown2html(rest[0]) if rest else ""
    return ""


def local_mathjax(output: Path) -> str | None:
    """Copy MathJax next to the pages; return its URL relative to a page, or None."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = output / "_static" / "mathjax"
    if not target.exists():
        shutil.copytree(source, target)
    return f"_static/mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def navigation(pages: list[tuple[str, str]], i: int, where: str) -> str:
    """Previous / index / next links for page i of (filename, title) pairs."""

    def link(j: int, arrow_left: bool) -> str:
        if not 0 <= j < len(pages):
            return "<span></span>"
        name, title = pages[j]
        text = f"← {html.escape(title)}" if arrow_left else f"{html.escape(title)} →"
        rel = "prev" if arrow_left else "next"
        return f'<a class="{rel}" rel="{rel}" href="{name}">{text}</a>'

    return (f'<nav class="course-nav {where}">{link(i - 1, True)}'
            f'<a class="index" href="index.html">Course index</a>{link(i + 1, False)}</nav>')


def build(notebooks_dir: Path, output: Path) -> list[Path]:
    """Write one page per notebook and index.html into `output`; return the pages written."""
    import nbformat
    from nbconvert import HTMLExporter

    paths = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"no notebooks NN_name.ipynb found in {notebooks_dir}")
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob("*.html"):  # pages of renamed or removed notebooks
        stale.unlink()
    exporter = HTMLExporter(template_name="lab")
    mathjax_url = local_mathjax(output)
    if mathjax_url:
        exporter.mathjax_url = mathjax_url
    else:
        print("warning: jupyter-server-mathjax not installed; maths needs MathJax from the web",
              file=sys.stderr)

    notebooks = [nbformat.read(path, as_version=4) for path in paths]
    pages = [(path.with_suffix(".html").name, notebook_title(nb, path.stem))
             for path, nb in zip(paths, notebooks)]
    written = []
    # A markdown link to another notebook ("[notebook 01](01_convolution.ipynb)") goes to its page.
    ipynb_link = re.compile(r'href="(\d\d_[\w.-]+)\.ipynb(#[^"]*)?"')
    for i, (path, nb) in enumerate(zip(paths, notebooks)):
        nb.metadata["title"] = pages[i][1]
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        # require.js only serves widget outputs (we have none); offline it would only stall.
        body = re.sub(r'<script src="[^"]*require(\.min)?\.js"></script>\n?', "", body)
        if mathjax_url:
            body = body.replace("<!-- Load mathjax -->", MATHJAX_FONTS + "<!-- Load mathjax -->", 1)
        body = body.replace("</head>", NAV_STYLE + "</head>", 1)
        body = ipynb_link.sub(r'href="\1.html\2"', body)
        opening = re.search(r"<body[^>]*>", body).end()
        body = body[:opening] + navigation(pages, i, "top") + body[opening:]
        body = body.replace("</body>", navigation(pages, i, "bottom") + "\n</body>", 1)
        page = output / pages[i][0]
        page.write_text(body, encoding="utf-8")
        written.append(page)

    items = ipynb_link.sub(r'href="\1.html\2"', "\n".join(
        f'<li><a class="notebook" href="{name}">{html.escape(title)}</a>'
        f'<div class="summary">{notebook_summary(nb)}</div></li>'
        for (name, title), nb in zip(pages, notebooks)
    ))
    mathjax = (MATHJAX_FONTS + f'<script src="{mathjax_url}"></script>\n'
               + INDEX_MATHJAX_CONFIG) if mathjax_url else ""
    index = INDEX_TEMPLATE.format(title="Convolutional neural networks: course notebooks",
                                  items=items, mathjax=mathjax)
    (output / "index.html").write_text(index, encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "html")
    args = parser.parse_args(argv)
    pages = build(args.notebooks, args.output)
    print(f"wrote {len(pages)} pages and {args.output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
