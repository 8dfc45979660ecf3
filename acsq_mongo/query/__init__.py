"""The query core: one layer that the web app, the CLI and the Python API share.

A query flows through it in one direction:

- :mod:`.spec`: :class:`QuerySpec`, parsed from ``name=value`` pairs, with its
  filters (:mod:`.filters`, :mod:`.filter_values`, :mod:`.values`, :mod:`.names`;
  ``wavelength=`` by :mod:`.wavelength` from the filters' :mod:`.passbands`)
  and its search around a position (:mod:`.cone`, :mod:`.sky_search`,
  :mod:`.positions`);
- :mod:`.selection`: the rootnames a spec matches;
- :mod:`.counting` and :mod:`.facets`: the count and the facets of a selection;
- :mod:`.core`: :func:`run` a spec into a :class:`Result` (:mod:`.result`); stream
  rows (:mod:`.rows`) and file paths (:mod:`.files`);
- :mod:`.cache`: the results kept per data generation, and one call's view of them.

The packages above the core use it: :mod:`acsq_mongo.formats` (a result as a table,
CSV, JSON, VOTable, ECSV, a download script), :mod:`acsq_mongo.browse` (proposals,
one rootname, the archive summary), :mod:`acsq_mongo.trends` (trends and sky maps),
:mod:`acsq_mongo.vo` (the VO services) and the Python API :class:`acsq_mongo.Archive`.
"""

from acsq_mongo.query.cache import ResultCache
from acsq_mongo.query.core import Result, count, facets, iter_paths, iter_rows, run
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.facets import FACET_FIELDS
from acsq_mongo.query.filters import OPS
from acsq_mongo.query.spec import FORMATS, QuerySpec

__all__ = [
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
