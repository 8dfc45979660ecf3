"""Every request's database reads under one time budget, the setting ``web_time_limit_ms``.

:class:`ReadBudget` wraps the WSGI app: the view runs inside pymongo's
:func:`pymongo.timeout`, so every command it sends carries ``maxTimeMS`` (what
is left of the budget) and the server stops a read that runs out. A streamed
response (a CSV download, a file list) gets the budget afresh for each piece
it sends: a long download is not cut for being long, but no single read of it
runs past the budget. A file sent as it is (``wsgi.file_wrapper``) reads no
database and passes untouched.

A read past the budget becomes a 503 (:mod:`webapp.errors`), one line that
says what ran out and what helps (:func:`acsq_mongo.db.budget.budget_message`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pymongo

from acsq_mongo.db.budget import each_within

__all__ = ["ReadBudget"]


class ReadBudget:
    """WSGI middleware: the reads of each request within ``limit_ms`` milliseconds.

    Parameters
    ----------
    wsgi_app : callable
        The app to wrap (Flask's ``app.wsgi_app``).
    limit_ms : int
        The budget; 0 sets none.
    """

    def __init__(self, wsgi_app: Callable, limit_ms: int) -> None:
        self.wsgi_app = wsgi_app
        self.limit_ms = limit_ms

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.limit_ms <= 0:
            return self.wsgi_app(environ, start_response)
        with pymongo.timeout(self.limit_ms / 1000):
            body = self.wsgi_app(environ, start_response)
        wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(body, (list, tuple)) or (isinstance(wrapper, type)
                                               and isinstance(body, wrapper)):
            return body
        return each_within(body, self.limit_ms, "web_time_limit_ms")
