#!/usr/bin/env python3
"""Consistent heading levels and projector-sized slide metadata in every notebook.

    .venv/bin/python tools/slide_layout.py [notebooks/NN_name.ipynb ...]   (default: notebooks/*.ipynb)

Run it after adding or moving cells: tests/test_slides.py fails on a cell without a slide
type. Rule-based, so it lays out new cells like the others, and idempotent (a second
run changes nothing). Only markdown cells are split and only metadata is added: no code
cell changes, so no re-execution is needed.

1. Heading levels: a heading more than one level below the one before it is promoted
   (notebook 03's "### Notation" right after its "# 03 ..." title becomes "## Notation"),
   so Jupyter Book builds without "non-consecutive header level" warnings.
2. Long markdown cells are split for the projector: at every heading that is not on the
   cell's first line, and a cell still taller than a slide at paragraph boundaries
   (never inside display maths, a code fence, or a list). New cells get the id of the
   cell they came from plus "-s1", "-s2", ...
3. metadata.slideshow.slide_type on every cell:
   - the title cell, and markdown cells starting with "# " or "## ": "slide";
     cells starting with "### " or deeper: "subslide";
   - cells tagged "speaker-notes": "notes" (reveal.js shows them in the speaker view, `S`);
     cells tagged "remove-cell" (reproducibility checks that only nbval needs): "skip";
   - set-up cells (the first code cell, cells of imports only, %xmode/%matplotlib),
     exercise answer cells (nbgrader solution cells, ### BEGIN SOLUTION) and their check
     cells (nbgrader graded cells, calls of check_*): "skip";
   - exercise statements ("**Exercise N", nbgrader task cells): "subslide";
   - every other cell follows the one before: "fragment" (or "-" right after a markdown
     cell that introduces it with a colon) while the (sub)slide still fits the screen,
     else "subslide"; a figure needs most of a screen, so it usually opens a subslide.
4. Notebook metadata "rise" (RISE's options): white theme, scrolling, start at the title.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from pathlib import Path

import nbformat

SCREEN = 22.0        # lines of projector text in one (sub)slide (RISE at 1280x720, 20 px)
SPLIT_AT = 20.0      # markdown cells taller than this are split at paragraph boundaries
MIN_CHUNK = 6.0      # ... into pieces at least this tall
WRAP = 95            # characters per rendered line
FIGURE = 14.0        # lines of screen that one figure takes

HEADING = re.compile(r"^(#{1,6})\s+\S")
FENCE = re.compile(r"^\s*(```|~~~)")
LIST_ITEM = re.compile(r"^\s*([*+-]|\d+[.)])\s+")
IMPORT = re.compile(r"^(import\s|from\s+\S+\s+import\s|%matplotlib|%xmode|%load_ext|%config)")
SPEAKER_NOTES = "speaker-notes"   # markdown for the lecturer: slide type "notes"
REMOVED = "remove-cell"           # Jupyter Book's tag: run by nbval, hidden from students
CHECK_CALL = re.compile(r"\bchecks\.check_\w+\(|\bcourse_utils\.checks\b")


# --- markdown structure ----------------------------------------------------------------

def _plain_lines(lines: list[str]) -> list[bool]:
    """For each line, True when it is outside code fences and $$ display maths."""
    plain, fence, maths = [], False, False
    for line in lines:
        if FENCE.match(line):
            plain.append(False)
            fence = not fence
            continue
        if not fence and line.strip().startswith("$$"):
            opens_and_closes = line.strip() != "$$" and line.strip().endswith("$$") \
                and len(line.strip()) > 4
            plain.append(False)
            if not opens_and_closes:
                maths = not maths
            continue
        plain.append(not fence and not maths)
    return plain


def _heading_level(line: str) -> int:
    m = HEADING.match(line)
    return len(m.group(1)) if m else 0


def fix_heading_levels(nb) -> bool:
    """Promote any heading that skips a level (# then ###) to one below the previous."""
    changed, previous = False, 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        plain = _plain_lines(lines)
        for i, line in enumerate(lines):
            level = _heading_level(line) if plain[i] else 0
            if not level:
                continue
            if previous and level > previous + 1:
                level = previous + 1
                lines[i] = "#" * level + line.lstrip("#")
                changed = True
            previous = level
        if changed:
            cell.source = "\n".join(lines)
    return changed


def _height(lines: list[str]) -> float:
    """Rough screen lines of rendered markdown."""
    total = 0.0
    for line in lines:
        text = line.strip()
        if not text:
            total += 0.5
        elif _heading_level(line):
            total += 2.0
        else:
            total += max(1, math.ceil(len(text) / WRAP))
    return total


def _split_points(lines: list[str]) -> tuple[list[int], list[int]]:
    """Line indices where a new cell may start: (at headings, at block starts).

    A block start is a paragraph after a blank line, or an item of a top-level list
    (a derivation's steps "1. ... 2. ..."), never inside display maths or a code fence,
    never an indented continuation, a table or a quote, and never right after a
    lead-in ("You will learn", "Four steps:").
    """
    plain = _plain_lines(lines)
    headings, blocks = [], []
    for i in range(1, len(lines)):
        line = lines[i]
        if not plain[i] or not line.strip():
            continue
        if _heading_level(line):
            headings.append(i)
            continue
        if line.startswith((" ", "\t", "|", "$$", ">")):
            continue                           # continuation, table, maths or quote
        after_blank = not lines[i - 1].strip() and plain[i - 1]
        next_item = bool(LIST_ITEM.match(line)) and bool(lines[i - 1].strip())
        if not (after_blank or next_item):
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        lead = lines[j].rstrip()
        block_of_one = j == 0 or not lines[j - 1].strip()
        if lead.endswith(":") or (block_of_one and len(lead) < 60 and not _heading_level(lead)
                                  and not LIST_ITEM.match(lead)):
            continue
        blocks.append(i)
    return headings, blocks


def _chunks(lines: list[str]) -> list[list[str]]:
    """Cut at every inner heading, then cut tall pieces into about equal parts."""
    headings, blocks = _split_points(lines)
    bounds = [0, *headings, len(lines)]
    out = []
    for start, end in itertools.pairwise(bounds):
        total = _height(lines[start:end])
        cuts = [b for b in blocks if start < b < end]
        if total <= SPLIT_AT or not cuts:
            out.append(lines[start:end])
            continue
        parts = max(2, math.ceil(total / SCREEN))
        begin = start
        for m in range(1, parts):
            target = total * m / parts
            options = [c for c in cuts if c > begin
                       and _height(lines[begin:c]) >= MIN_CHUNK
                       and _height(lines[c:end]) >= MIN_CHUNK]
            if not options:
                break
            cut = min(options, key=lambda c: abs(_height(lines[start:c]) - target))
            out.append(lines[begin:cut])
            begin = cut
        out.append(lines[begin:end])
    return [trim(c) for c in out if "".join(c).strip()]


def trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return lines


def split_long_markdown(nb) -> bool:
    changed, cells = False, []
    taken = {c.get("id") for c in nb.cells}
    for cell in nb.cells:
        # a split-off piece would lose the cell's tags (and a note belongs on one slide)
        if (cell.cell_type != "markdown" or "nbgrader" in cell.metadata
                or tags(cell) & {SPEAKER_NOTES, REMOVED}):
            cells.append(cell)
            continue
        chunks = _chunks(cell.source.split("\n"))
        if len(chunks) <= 1:
            cells.append(cell)
            continue
        changed = True
        cell.source = "\n".join(chunks[0])
        cells.append(cell)
        base, n = cell.get("id") or "md", 0
        for chunk in chunks[1:]:
            n += 1
            while f"{base}-s{n}" in taken:
                n += 1
            new = nbformat.v4.new_markdown_cell("\n".join(chunk))
            new["id"] = f"{base}-s{n}"
            taken.add(new["id"])
            cells.append(new)
    nb.cells = cells
    return changed


# --- slide types ---------------------------------------------------------------------------

def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) or {}


def is_setup(cell, first_code: bool) -> bool:
    code = [ln for ln in cell.source.split("\n")
            if ln.strip() and not ln.lstrip().startswith("#")]
    if first_code or (code and all(IMPORT.match(ln) or ln.startswith((" ", ")")) for ln in code)):
        return True
    return bool(code) and all(ln.startswith(("%xmode", "%matplotlib", "%config")) for ln in code)


def is_answer(cell) -> bool:
    g = _nbgrader(cell)
    return bool(g.get("solution")) or "### BEGIN SOLUTION" in cell.source


def is_check(cell) -> bool:
    g = _nbgrader(cell)
    if g.get("grade") and not g.get("solution"):
        return True
    code = [ln for ln in cell.source.split("\n") if ln.strip() and not ln.startswith("#")]
    return bool(code) and len(code) <= 4 and any(CHECK_CALL.search(ln) for ln in code)


def is_exercise_statement(cell) -> bool:
    return bool(_nbgrader(cell).get("task")) or bool(
        re.match(r"\s*\*\*(Exercise|Questions|Open questions)\b", cell.source))


def code_height(cell) -> float:
    lines = cell.source.split("\n")
    height = len(lines) * 1.0
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if any(k.startswith("image/") for k in data):
            height += FIGURE
        elif "text/html" in data:
            height += min(15, 2 + "".join(data["text/html"]).count("<tr"))
        elif out.get("output_type") == "stream":
            height += min(15, len(out.get("text", "").rstrip("\n").split("\n")))
        elif "text/plain" in data:
            height += min(10, len("".join(data["text/plain"]).split("\n")))
        elif out.get("output_type") == "error":
            height += min(10, len(out.get("traceback", [])) + 1)
    return height


def has_figure(cell) -> bool:
    return any(k.startswith("image/") for o in cell.get("outputs", [])
               for k in o.get("data", {}))


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def slide_types(nb) -> list[str]:
    types, used, first_code, previous = [], 0.0, True, None
    for index, cell in enumerate(nb.cells):
        kind = None
        # Notes and hidden checks take no room on the screen, so the layout of the cells
        # around them is the same as without them.
        if SPEAKER_NOTES in tags(cell):
            types.append("notes")
            continue
        if REMOVED in tags(cell):
            if cell.cell_type == "code":
                first_code = False
            types.append("skip")
            continue
        if cell.cell_type == "markdown":
            level = _heading_level(cell.source.lstrip("\n").split("\n")[0])
            height = _height(cell.source.split("\n"))
            if index == 0 or level in (1, 2):
                kind = "slide"
            elif level >= 3 or is_exercise_statement(cell):
                kind = "subslide"
        elif cell.cell_type == "code":
            setup = is_setup(cell, first_code)
            first_code = False
            if setup or is_answer(cell) or is_check(cell):
                types.append("skip")
                continue
            height = code_height(cell)
        else:                                  # raw cells are not presented
            types.append("skip")
            continue
        if kind is None:
            if used + height <= SCREEN:
                intro = (previous is not None and previous.cell_type == "markdown"
                         and cell.cell_type == "code"
                         and previous.source.rstrip().endswith(":"))
                kind = "-" if intro else "fragment"
            else:
                kind = "subslide"
        used = height if kind in ("slide", "subslide") else used + height
        types.append(kind)
        previous = cell
    return types


def set_slide_metadata(nb) -> bool:
    changed = False
    for cell, kind in zip(nb.cells, slide_types(nb)):
        if cell.metadata.get("slideshow", {}).get("slide_type") != kind:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
    return changed


# RISE (jupyterlab-rise) reads these from the notebook: reveal.js's "white" theme (the
# default "simple" theme fetches its fonts from the web), slides taller than the screen
# scroll, and the show starts at the title whichever cell is selected.
RISE = {"theme": "white", "scroll": True, "start_slideshow_at": "beginning"}


def set_rise_options(nb) -> bool:
    options = {**nb.metadata.get("rise", {}), **RISE}
    if nb.metadata.get("rise") == options:
        return False
    nb.metadata["rise"] = options
    return True


def apply(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    changed = set_rise_options(nb)
    changed |= fix_heading_levels(nb)
    changed |= split_long_markdown(nb)
    changed |= set_slide_metadata(nb)
    if changed:
        nbformat.validate(nb)
        nbformat.write(nb, path)
    return changed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(Path("notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks given or found in notebooks/", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path}: {'updated' if apply(path) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
