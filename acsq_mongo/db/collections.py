"""The collections of the store, by name, and what each one holds.

Every rootname is stored in two shapes, both keyed by ``_id`` = the first 8
characters of the rootname and both written by an upsert on ``_id``:

``rootnames``
    The whole document: promoted fields, files, every header of every
    filetype and extension, errors, quicklook paths. About 100 kB for a WFC
    rootname with every filetype. Header-keyword queries and the header view
    read it.
``catalog``
    A slim copy of the promoted fields plus bookkeeping (filetypes present,
    quicklook paths, ingest dates). The browse and query views read only
    this: ~1 kB a document, so that what a query fetches stays small and
    the collection stays in RAM.

Beside them: ``ingest_errors`` (one document per failed file or image),
``proposals`` and ``galleries`` (per-proposal summaries and date-ordered
rows, rebuilt after each ingest run by :mod:`acsq_mongo.ingest.summaries`) and
``meta`` (bookkeeping such as the data generation, and the archive summary).

Written by people, not by an ingest: ``users`` (accounts, ``_id`` the user
name; :mod:`acsq_mongo.accounts`), ``sign_in_failures`` (recent failed
sign-ins, for throttling) and ``anomaly_events`` (the append-only history of
anomaly flags set and cleared; :mod:`acsq_mongo.tags`). The current flags of a
rootname are the catalog's ``anomalies`` field, which no ingest writes.
"""

__all__ = ["ROOTNAMES", "CATALOG", "INGEST_ERRORS", "PROPOSALS", "GALLERIES", "META", "USERS",
           "SIGN_IN_FAILURES", "ANOMALY_EVENTS"]

ROOTNAMES = "rootnames"
CATALOG = "catalog"
INGEST_ERRORS = "ingest_errors"
PROPOSALS = "proposals"
GALLERIES = "galleries"
META = "meta"
USERS = "users"
SIGN_IN_FAILURES = "sign_in_failures"
ANOMALY_EVENTS = "anomaly_events"
