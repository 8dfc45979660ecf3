"""The ingest stage: the writers of the store.

Headers of FITS files become one document per rootname, written to the store;
runs over an archive, on Dask or in process, with a run log and a lock;
re-ingest by filter; and the quicklook batch runner that records images in
the store. It reads the archive (:mod:`acsq_mongo.archive`), makes images with
:mod:`acsq_mongo.images` and writes through the model of :mod:`acsq_mongo.db`.
"""

__all__ = ["ingest_rootname", "run_ingest"]


def __getattr__(name: str):
    # Imported on first use: `acsq_mongo.ingest.run_lock` should not pull in the whole stage.
    if name == "ingest_rootname":
        from acsq_mongo.ingest.rootname import ingest_rootname

        return ingest_rootname
    if name == "run_ingest":
        from acsq_mongo.ingest.run import run_ingest

        return run_ingest
    raise AttributeError(f"module 'acsq_mongo.ingest' has no attribute {name!r}")
