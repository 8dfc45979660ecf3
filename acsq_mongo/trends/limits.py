"""The guard rail of every picture of a query: at most ``trend_max_points`` rootnames.

A trend and a sky map count the query first, from the indexes, and refuse it before
any point is read when it matches more rootnames than one picture may hold. Both
raise a kind of :class:`TooManyPoints`, a :class:`~acsq_mongo.query.errors.QueryError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acsq_mongo.query.errors import QueryError

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = ["TooManyPoints", "check_points"]


class TooManyPoints(QueryError):
    """A picture of a query over more rootnames than ``trend_max_points``."""


def check_points(n_matching: int, settings: Settings, error: type[TooManyPoints],
                 what: str, picture: str, hint: str = "") -> None:
    """Raise ``error`` if ``n_matching`` is over the setting ``trend_max_points``.

    Parameters
    ----------
    n_matching : int
        How many rootnames the query matches.
    settings : Settings
        ``trend_max_points``: the most rootnames one picture may hold.
    error : type
        The kind of :class:`TooManyPoints` to raise.
    what : str
        The start of the message, with ``{n}`` for the count, e.g.
        ``"this map would draw {n} rootnames"``.
    picture : str
        What one picture is called in the message: ``"trend"``, ``"map"``.
    hint : str
        How to narrow the query, added after the reason.
    """
    cap = settings.trend_max_points
    if n_matching > cap:
        raise error(f"{what.format(n=f'{n_matching:,}')}, more than the {cap:,} one "
                    f"{picture} may (setting trend_max_points, ACSQ_TREND_MAX_POINTS); "
                    "narrow the query" + (f", {hint}" if hint else ""))
