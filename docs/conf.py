"""Sphinx configuration of the acsq-mongo documentation (``make docs``).

The guide is Markdown (MyST); the API reference comes from the numpydoc
docstrings through autodoc and autosummary. Nothing is loaded from a CDN: the
theme's assets ship with it, and no extension that fetches scripts (MathJax)
is enabled, so the built site works offline (tests/test_docs_build.py).
"""

from __future__ import annotations

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

# API reference.
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
