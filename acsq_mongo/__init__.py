"""acsq-mongo: the HST/ACS Quicklook system on a document store.

The data flow is one way: archive -> headers -> document -> store -> query
core -> web / CLI / Python API. Nothing here reads settings at import time;
build them with :func:`acsq_mongo.settings.load_settings` and pass them on.
"""

from acsq_mongo.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = ["Settings", "load_settings", "__version__"]
