"""acsq-mongo: the HST/ACS Quicklook system on a document store.

The data flow is one way: archive -> headers -> document -> store -> query
core -> web / CLI / Python API. Nothing here reads settings at import time;
build them with :func:`acsq_mongo.settings.load_settings` and pass them on.
"""

from acsq_mongo.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = ["Archive", "Settings", "load_settings", "__version__"]


def __getattr__(name: str):
    # Archive is imported on first use, so that `import acsq_mongo` (and the CLI) stays light.
    if name == "Archive":
        from acsq_mongo.query.api import Archive

        return Archive
    raise AttributeError(f"module 'acsq_mongo' has no attribute {name!r}")
