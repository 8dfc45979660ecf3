"""The query core: one layer that the web app, the CLI and the Python API share.

- :mod:`.filters`: ``field__op=value`` -> a MongoDB filter (a fixed table of ops).
- :mod:`.filter_values`: what was typed -> typed values, wildcards, case folding.
- :mod:`.keyword_check`: warnings for header keyword paths that cannot match.
- :mod:`.names`: the allow-list of fields, and header keywords by path.
- :mod:`.values`: text -> typed values (numbers, dates, booleans).
- :mod:`.cone`: cone search without geo operators.
- :mod:`.facets`: the count and the facets from one ``$facet`` aggregation.
- :mod:`.spec`: :class:`QuerySpec`, parsed from ``name=value`` pairs.
- :mod:`.core`: :func:`run` a spec into a :class:`Result`; stream rows and paths.
- :mod:`.render`: a result as a table, CSV, JSON.
- :mod:`.api`: :class:`Archive`, for Python scripts.
"""

from acsq_mongo.query.api import Archive, Query
from acsq_mongo.query.cache import ResultCache
from acsq_mongo.query.core import Result, count, facets, iter_paths, iter_rows, run
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.facets import FACET_FIELDS
from acsq_mongo.query.filters import OPS
from acsq_mongo.query.spec import FORMATS, QuerySpec

__all__ = [
    "Archive",
    "Query",
    "QuerySpec",
    "QueryError",
    "Result",
    "ResultCache",
    "run",
    "count",
    "facets",
    "iter_rows",
    "iter_paths",
    "FACET_FIELDS",
    "FORMATS",
    "OPS",
]
