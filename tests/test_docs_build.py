"""The documentation builds with warnings as errors, and the built site works offline.

Sphinx builds docs/ as ``make docs`` does (``-W``: a broken reference or a
docstring Sphinx cannot parse fails), into a temporary folder. Then: every
guide page and the API reference are there, and no page or style sheet loads
anything from another host (no CDN): scripts, style sheets, images, fonts and
CSS imports all come from the site itself. And every dotted name
``acsq_mongo.…`` that the README or the guide names exists, so prose follows the
modules when they move.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE_PAGES = ("index", "install", "ingest", "quicklook", "query", "webapp", "distributed",
               "deployment", "local-server", "benchmarks")
#: A tag that makes the browser fetch something: a script, a style sheet, an image, a frame.
FETCHING_TAG = re.compile(
    r"<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE)
#: A dotted name in a page, in prose or code: `acsq_mongo.ingest.run`, `from acsq_mongo.x import`.
DOTTED_NAME = re.compile(r"\b(acsq_mongo(?:\.[A-Za-z_]\w*)+)")
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
CSS_REMOTE = re.compile(r"(url\(\s*[\"']?|@import\s+[\"'])((?:https?:)?//[^\"')\s]+)",
                        re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-E", "-q",
         "-d", str(out.parent / "doctrees"), str(ROOT / "docs"), str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"make docs would fail:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_every_guide_page_the_architecture_and_the_data_model_are_built(site: Path):
    for page in GUIDE_PAGES:
        assert (site / "guide" / f"{page}.html").is_file(), page
    html = (site / "data-model.html").read_text()
    assert "catalog" in html and "rootnames" in html
    architecture = (site / "architecture.html").read_text()
    assert "ingest/" in architecture and "query/" in architecture
    assert (site / "benchmarks-scale.html").is_file()
    assert "var/sample-archive" in (site / "guide" / "index.html").read_text()


def test_the_api_reference_documents_the_public_api(site: Path):
    pages = list((site / "generated").glob("*.html"))
    text = "\n".join(p.read_text() for p in pages)
    # Wherever the modules live, Archive.query and load_settings are documented.
    assert re.search(r'id="acsq_mongo\.[\w.]*Archive\.query"', text)
    assert re.search(r'id="acsq_mongo\.[\w.]*load_settings"', text)
    assert re.search(r'id="webapp\.[\w.]*create_app"', text)
    # numpydoc turned the Parameters sections into field lists.
    assert "Parameters" in text and 'class="field-list' in text


def test_the_site_loads_nothing_from_another_host(site: Path):
    html_files = list(site.rglob("*.html"))
    assert len(html_files) > 20
    remote = [(p.relative_to(site), m.group(3)) for p in html_files
              for m in FETCHING_TAG.finditer(p.read_text())]
    assert not remote, f"pages fetch from another host: {remote[:10]}"
    css = [(p.relative_to(site), m.group(2)) for p in site.rglob("*.css")
           for m in CSS_REMOTE.finditer(p.read_text(errors="replace"))]
    assert not css, f"style sheets fetch from another host: {css[:10]}"
    # The theme's scripts and styles are there, served from the site itself.
    index = (site / "index.html").read_text()
    local = re.findall(r'<script[^>]*src="([^"]+)"', index)
    assert local and all((site / src.split("?")[0]).is_file() for src in local)


def _resolves(dotted: str) -> bool:
    """Whether ``a.b.c`` is a module, or an attribute of the longest module it starts with."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError:
            continue
        try:
            for name in parts[k:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_every_module_path_the_docs_name_exists():
    named = {(path.relative_to(ROOT), m.group(1)) for path in DOC_FILES
             if "generated" not in path.parts
             for m in DOTTED_NAME.finditer(path.read_text())}
    assert len(named) >= 10
    missing = sorted(f"{where}: {name}" for where, name in named if not _resolves(name))
    assert not missing, "the docs name modules or functions that do not exist:\n" + "\n".join(
        missing)
