"""The error of a bad query: which parameter was wrong, and what would be right."""

from __future__ import annotations

from acsq_mongo.errors import AcsqError

__all__ = ["QueryError"]


class QueryError(AcsqError):
    """A query names an unknown field or op, or gives a value of the wrong type.

    The message is one line meant for the analyst, and lists the valid
    choices where there is a fixed set. The web app shows it as a 400 page;
    the CLI prints it and exits with status 2.
    """

    exit_code = 2
