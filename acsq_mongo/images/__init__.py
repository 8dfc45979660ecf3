"""Pixels to JPEG: read a mosaic, stretch it, write the quicklook images.

Pure image code (:mod:`~acsq_mongo.images.imaging`, :mod:`~acsq_mongo.images.stretch`,
:mod:`~acsq_mongo.images.quicklook`). It knows nothing of the store; the batch
runner that records quicklook paths in the store lives in :mod:`acsq_mongo.ingest`.
"""

__all__ = ["make_quicklooks", "read_mosaic"]


def __getattr__(name: str):
    # Imported on first use, so that importing the package stays light.
    if name == "make_quicklooks":
        from acsq_mongo.images.quicklook import make_quicklooks

        return make_quicklooks
    if name == "read_mosaic":
        from acsq_mongo.images.imaging import read_mosaic

        return read_mosaic
    raise AttributeError(f"module 'acsq_mongo.images' has no attribute {name!r}")
