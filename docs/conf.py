"""Sphinx configuration of the acsq-mongo documentation (``make docs``).

The guide is Markdown (MyST); the API reference comes from the numpydoc
docstrings through autodoc and autosummary. Nothing is loaded from a CDN: the
theme's assets ship with it, and no extension that fetches scripts (MathJax)
is enabled, so the built site works offline (tests/test_docs_build.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

project = "acsq-mongo"
author = "the acsq-mongo developers"
copyright = "the acsq-mongo developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# MyST: heading anchors so Markdown links like [x](ingest.md#run-log) resolve.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API reference. autosummary writes a page per module into generated/ (not in git) and
# never removes one: after a module moves, its old page would stay, in no toctree, and
# fail -W. Each build starts from an empty generated/.
shutil.rmtree(Path(__file__).parent / "generated", ignore_errors=True)
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = "acsq-mongo"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "footer_end": [],
}
# No "view source" links to a forge: the site is read where it is built.
html_show_sourcelink = False


def _no_signature_for_data(app, what, name, obj, options, signature, return_annotation):
    """Module data have no call signature, even when callable (a type alias such as
    ``Record = tuple[...]``). numpydoc would give one the signature of its origin
    (``tuple(iterable=(), /)``), and Sphinx 9 then fails on a signature where it
    expects none. Answering first, with nothing to change, keeps numpydoc out of it.
    """
    if what in ("data", "attribute"):
        return (None, None)
    return None


def setup(app):
    app.connect("autodoc-process-signature", _no_signature_for_data, priority=100)
