"""acsq-mongo: the HST/ACS Quicklook system on a document store.

The data flow is one way: archive -> headers -> document -> store -> query
core -> web / CLI / Python API, with one subpackage per stage (see
docs/architecture.md). Nothing here reads settings at import time; build
them with :func:`acsq_mongo.settings.load_settings` and pass them on.
"""

from acsq_mongo.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "Archive",
    "Settings",
    "load_settings",
    "ingest_rootname",
    "make_quicklooks",
    "read_mosaic",
    "__version__",
]

# Imported on first use, so that `import acsq_mongo` (and the CLI) stays light.
_LAZY = {
    "Archive": "acsq_mongo.api",
    "ingest_rootname": "acsq_mongo.ingest.rootname",
    "make_quicklooks": "acsq_mongo.images.quicklook",
    "read_mosaic": "acsq_mongo.images.imaging",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'acsq_mongo' has no attribute {name!r}")
