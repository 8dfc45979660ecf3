"""The layout shows the architecture: the layers of docs/architecture.md, and small modules.

Every import of every module in ``acsq_mongo/``, ``webapp/``, ``scripts/`` and
``benchmarks/`` is read with :mod:`ast` (imports inside functions and under
``TYPE_CHECKING`` too: a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The layers, lowest first, as drawn in docs/architecture.md. A module may import
#: its own package and any package of a lower layer; never a higher layer, nor
#: another package of its own layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("acsq_mongo.errors",),
    ("acsq_mongo.settings", "acsq_mongo.fields"),
    ("acsq_mongo.archive", "acsq_mongo.images", "acsq_mongo.db", "acsq_mongo.sample",
     "acsq_mongo.sky", "acsq_mongo.plots"),
    ("acsq_mongo.ingest", "acsq_mongo.query", "acsq_mongo.accounts"),
    # Above the query core: its browse views and output formats; and the tags, which
    # name the accounts/ user who set a flag.
    ("acsq_mongo.browse", "acsq_mongo.formats", "acsq_mongo.tags"),
    ("acsq_mongo.vo", "acsq_mongo.trends"),  # they render with formats/
    ("acsq_mongo.api",),   # the Python API's Archive, over every package of the query side
    ("webapp",),
    ("acsq_mongo.cli",),   # the outermost shell: `acsq serve` and `acsq demo` start the web app
)

#: The root package is the Python API face (``Archive`` and friends, imported lazily),
#: so it sits at the top; importing ``acsq_mongo`` itself for ``__version__`` is
#: allowed everywhere, since Python imports the root package first anyway.
ROOT_PACKAGE = "acsq_mongo"

#: Files that may exceed the size limit: none. tests/ is exempt (a test module keeps a
#: use case's cases together; it is not part of the product).
MAX_LINES = 400
SIZE_CHECKED = ("acsq_mongo", "webapp", "scripts", "benchmarks")


def _unit(module: str) -> str | None:
    """The layered unit (package or base module) that ``module`` belongs to."""
    for layer in LAYERS:
        for unit in layer:
            if module == unit or module.startswith(unit + "."):
                return unit
    return None


def _rank(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``path``, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.append((node.lineno, base))
            # `from acsq_mongo.db import keys` imports the module acsq_mongo.db.keys.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def layering_violations(files: list[Path]) -> list[str]:
    """Every import that runs against the layers, as ``file:line: a -> b``."""
    out = []
    for path in files:
        module = _module_name(path)
        if module == ROOT_PACKAGE:
            continue   # the API face; its lazy imports reach the top layer by design
        own = _unit(module)
        if own is None:
            continue   # scripts/ and benchmarks/ are users of every layer
        for line, target in _imports(path, module):
            if target == ROOT_PACKAGE:
                continue
            unit = _unit(target)
            if unit is None or unit == own:
                continue
            if _rank(unit) >= _rank(own):
                out.append(f"{path.relative_to(ROOT)}:{line}: {module} -> {target}")
    return out


def test_every_module_is_in_a_layer():
    modules = [_module_name(p) for p in _python_files("acsq_mongo")]
    unplaced = [m for m in modules if m != ROOT_PACKAGE and _unit(m) is None]
    assert unplaced == [], "add these to LAYERS (and to docs/architecture.md)"


def test_no_layer_imports_a_higher_one():
    assert layering_violations(_python_files("acsq_mongo", "webapp")) == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    # The check itself can fail: the query core importing the ingest stage is caught,
    # and so is a sideways import between two packages of one layer.
    fake = tmp_path / "acsq_mongo" / "query" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from acsq_mongo.ingest.store import upsert_rootname\n"
                    "def f():\n    from acsq_mongo.images import quicklook\n")
    side = tmp_path / "acsq_mongo" / "db" / "bad.py"
    side.parent.mkdir(parents=True)
    side.write_text("from ..archive import discover\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = layering_violations([fake, side])
    assert [v.split(": ", 1)[1] for v in found] == [
        "acsq_mongo.query.bad -> acsq_mongo.ingest.store",
        "acsq_mongo.query.bad -> acsq_mongo.ingest.store.upsert_rootname",
        "acsq_mongo.db.bad -> acsq_mongo.archive",
        "acsq_mongo.db.bad -> acsq_mongo.archive.discover",
    ]


def test_the_architecture_doc_shows_these_layers():
    # docs/architecture.md has a table `| layer | unit | what it holds |`; it must match LAYERS.
    text = (ROOT / "docs" / "architecture.md").read_text()
    documented = {
        f"acsq_mongo.{m.group(2)}" if m.group(2) != "webapp" else "webapp": int(m.group(1))
        for m in re.finditer(r"^\| (\d+) \| `(\w+)/?` \|", text, re.M)
    }
    assert documented == {unit: rank + 1 for rank, layer in enumerate(LAYERS) for unit in layer}


def long_files(folders: tuple[str, ...] = SIZE_CHECKED) -> list[str]:
    """Every .py file over MAX_LINES lines, as ``path: lines``."""
    out = []
    for path in _python_files(*folders):
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            out.append(f"{path.relative_to(ROOT)}: {n} lines")
    return out


def test_no_module_is_over_the_size_limit():
    assert long_files() == [], f"split these along their seams (limit {MAX_LINES} lines)"


@pytest.mark.parametrize("lines, over", [(MAX_LINES, False), (MAX_LINES + 1, True)])
def test_the_size_check_counts_lines(tmp_path, monkeypatch, lines, over):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "big.py").write_text("x = 1\n" * lines)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert bool(long_files(("pkg",))) is over


def test_the_public_api_is_importable_from_the_root_package():
    import acsq_mongo
    from acsq_mongo.api import Archive
    from acsq_mongo.images.imaging import read_mosaic
    from acsq_mongo.images.quicklook import make_quicklooks
    from acsq_mongo.ingest.rootname import ingest_rootname

    assert (acsq_mongo.Archive, acsq_mongo.ingest_rootname, acsq_mongo.make_quicklooks,
            acsq_mongo.read_mosaic) == (Archive, ingest_rootname, make_quicklooks, read_mosaic)
    assert acsq_mongo.load_settings is acsq_mongo.settings.load_settings
    with pytest.raises(AttributeError, match="no attribute 'ingest'"):
        acsq_mongo.__getattr__("ingest")
