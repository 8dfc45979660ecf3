"""The state one app holds: its settings, its database (connected lazily), its caches.

Nothing is global: :func:`webapp.create_app` makes one :class:`WebState` and
keeps it in ``app.extensions["acsq"]``; views reach it with :func:`state`.
The database is connected on first use, in the process that serves the
request (gunicorn forks its workers before any request), and again after a
fork or a failed attempt, so a server that was down when the app started is
picked up when it comes back.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from flask import current_app

from acsq_mongo.db.connection import connect, ping
from acsq_mongo.query.cache import CallCache, ResultCache
from acsq_mongo.tags.vocabulary import Vocabulary

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["WebState", "state"]

#: Most memory the drawn pictures one app keeps may take (a PNG is ~50-200 kB): ~100 of them.
_RENDERS = 16 * 2**20


class WebState:
    """Settings, database, caches and anomaly vocabulary of one web app.

    Two caches, both valid until the data changes: ``cache`` holds the query core's
    results (shared with the core's calls), ``renders`` the pictures this app draws
    from them (trend and sky-map PNG and SVG bytes), so that pictures never crowd
    query results out of the core's cache.

    Parameters
    ----------
    settings : Settings
    db : Database, optional
        An open database (tests); default: :func:`acsq_mongo.db.connection.connect`
        on first use.
    cache : ResultCache, optional
        Query results kept until the data changes; default: a new one.
    renders : ResultCache, optional
        Drawn pictures kept until the data changes; default: a new one.
    """

    def __init__(self, settings: Settings, db: Database | None = None,
                 cache: ResultCache | None = None,
                 renders: ResultCache | None = None) -> None:
        self.settings = settings
        self.vocabulary = Vocabulary.from_settings(settings)
        self.cache = cache if cache is not None else ResultCache(
            max_bytes=settings.result_cache_mb * 2**20)
        self.renders = renders if renders is not None else ResultCache(max_bytes=_RENDERS)
        self._db = db
        self._injected = db is not None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @property
    def db(self) -> Database:
        """The database, connected on first use.

        Raises
        ------
        DatabaseUnavailable
            If the server does not answer within ``settings.server_timeout``
            (the app shows a 503 page).
        """
        if self._injected:
            return self._db
        if self._db is not None and self._pid == os.getpid():
            # A server known to be down is told within settings.server_timeout (ping), not
            # after the request's read budget (webapp.budget), which pymongo's wait for a
            # server would otherwise take whole.
            topology = getattr(self._db.client, "topology_description", None)
            if topology is not None and not topology.has_readable_server():
                ping(self._db, self.settings.mongo_uri)  # DatabaseUnavailable: the 503 page
            return self._db
        with self._lock:
            if self._db is None or self._pid != os.getpid():
                self._db = None
                db = connect(self.settings)  # raises DatabaseUnavailable; tried again next time
                self._db, self._pid = db, os.getpid()
        return self._db


    def rendered(self, kind: str, key: Hashable, draw: Callable[[], object]) -> object:
        """A picture of ``kind`` (``"sky_png"``, ``"trend_svg"``) for ``key``, drawn once
        per data generation and kept in :attr:`renders`."""
        return CallCache(self.db, self.renders).get(kind, (key,), draw)[0]


def state() -> WebState:
    """Return the :class:`WebState` of the app serving this request."""
    return current_app.extensions["acsq"]
