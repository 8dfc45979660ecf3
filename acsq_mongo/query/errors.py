"""The error of a bad query: which parameter was wrong, and what would be right.

:func:`server_errors` turns the server's refusal of a query into a :class:`QueryError`
and a lost server into :class:`~acsq_mongo.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

import contextlib

import pymongo.errors

from acsq_mongo.db.budget import is_timeout
from acsq_mongo.errors import AcsqError, DatabaseUnavailable

__all__ = ["QueryError", "server_errors"]


class QueryError(AcsqError):
    """A query names an unknown field or op, or gives a value of the wrong type.

    The message is one line meant for the analyst, and lists the valid
    choices where there is a fixed set. The web app shows it as a 400 page;
    the CLI prints it and exits with status 2.
    """

    exit_code = 2


@contextlib.contextmanager
def server_errors():
    """Turn the server's refusals into QueryError (e.g. a regex Go's RE2 rejects).

    A time budget that ran out (:func:`acsq_mongo.db.budget.is_timeout`) goes up
    as it is: the caller that set the budget handles it.
    """
    try:
        yield
    except pymongo.errors.PyMongoError as exc:
        if is_timeout(exc):
            raise
        if isinstance(exc, pymongo.errors.OperationFailure):
            reason = (exc.details or {}).get("errmsg") or str(exc)
            raise QueryError("the database refused this query: "
                             f"{reason.split(', full error')[0]}") from None
        if isinstance(exc, pymongo.errors.ConnectionFailure):
            raise DatabaseUnavailable(f"the database stopped answering: {exc}") from None
        raise
