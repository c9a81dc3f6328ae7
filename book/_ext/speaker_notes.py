"""Keep the lecturer's speaker notes off the course site.

Cells tagged "speaker-notes" are slide notes (slide type "notes", shown in the
speaker view of the slides); students read the site, so they are left out of it.
MyST-NB already leaves out cells tagged "remove-cell" (Jupyter Book's tag for the
checks that only nbval needs); this extension adds that tag to every speaker-notes
cell as Sphinx reads a notebook. The notebook file itself, and the copy the page's
download button gives, stay as they are.
"""

from __future__ import annotations

import nbformat

HIDDEN = "speaker-notes"
REMOVE = "remove-cell"


def _hide_notes(app, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    nb = nbformat.reads(source[0], as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if HIDDEN in tags and REMOVE not in tags:
            cell.metadata["tags"] = [*tags, REMOVE]
            changed = True
    if changed:
        source[0] = nbformat.writes(nb)


def setup(app):
    app.connect("source-read", _hide_notes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
