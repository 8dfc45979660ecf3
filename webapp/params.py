"""One rule for a page's parameters: a name the page does not take, or a single value given
twice, is a 400 that names it, never silently ignored.

- Pages over a query (``/query``, ``/trend``, ``/sky.png``, a proposal's
  gallery) take the query core's parameters: filters, which may repeat (they
  are ANDed), and the reserved names, each once (``columns`` and ``filetype``
  add up); the core checks them all (:class:`~acsq_mongo.query.spec.QuerySpec`)
  and names what it does not know.
- Every other page takes the names of :data:`PAGE_PARAMS`, each once.
- ``format`` (and ``/query``'s ``count``) is taken once everywhere, and
  honoured where a page has formats; elsewhere it is a name the page does not
  take.
- The VO services follow their standards: SIA v2 ORs a repeated parameter and
  ignores unknown ones (DALI), Simple Cone Search takes RA, DEC, SR and VERB
  once each and ignores other names (:mod:`acsq_mongo.vo.scs`). Static
  files take no parameters that matter.
"""

from __future__ import annotations

from flask import Flask, request

from acsq_mongo.query.errors import QueryError

__all__ = ["PAGE_PARAMS", "check_params", "register"]

# Taken at most once on every page: the answer's format, and /query's count=all.
_ONCE = ("format", "count")

#: The parameters of each page that is not over a query: endpoint -> names.
PAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "home.index": (),
    "home.summary_json": (),
    "docs.index": (),
    "archive.proposals": ("sort", "format"),
    "archive.image_view": (),
    "archive.headers": ("q", "format"),
    "archive.find_rootname": ("rootname",),
    "tags.anomalies": ("flag", "user", "offset", "format"),
    "files.download": (),
    "images.image": (),
    "users.users": (),
    "auth.login": ("next",),
    "auth.logout": (),
}


def check_params() -> None:
    """Check this request's parameters against its page's (a ``before_request`` hook).

    Raises
    ------
    QueryError
        Naming a parameter the page does not take, or a single one given twice.
    """
    if request.endpoint is None or request.endpoint.startswith("vo."):
        return
    names = list(request.args.keys())
    for name in _ONCE:
        if len(request.args.getlist(name)) > 1:
            raise QueryError(f"{name} is given more than once")
    allowed = PAGE_PARAMS.get(request.endpoint)
    if allowed is None:
        return
    for name in names:
        if name not in allowed:
            takes = ("it takes " + ", ".join(allowed)) if allowed else "it takes none"
            raise QueryError(f"this page has no parameter {name[:40]!r}; {takes}")
        if len(request.args.getlist(name)) > 1:
            raise QueryError(f"{name} is given more than once")


def register(app: Flask) -> None:
    """Install the check on ``app``."""
    app.before_request(check_params)
