"""Error pages a person can act on, and never a traceback.

- An unknown proposal, rootname or page: 404.
- A bad query or parameter (:class:`~acsq_mongo.query.errors.QueryError`,
  whose message says what was wrong and lists the valid choices): 400.
  The query page catches its own and shows the form again instead.
- The database not answering: 503, saying so.
- A read past the request's time budget (:mod:`webapp.budget`): 503, saying
  which budget ran out and what helps (an index, a narrower query).
- Anything else: a plain 500 page; the traceback goes to the server's log only.

A request that asked for JSON gets the error as JSON, ``{"error": ..., "status": ...}``;
one that asked for CSV or ECSV gets it as ``text/plain`` (one line), so a script that saves
the answer as a .csv file gets the message, not an HTML page; one that asked for a VOTable
gets a VOTable with ``INFO name="QUERY_STATUS" value="ERROR"``, which TOPCAT shows.
"""

from __future__ import annotations

import pymongo.errors
from flask import Flask, Response, render_template
from werkzeug.exceptions import HTTPException

from acsq_mongo.db.budget import budget_message, is_timeout
from acsq_mongo.errors import DatabaseUnavailable, TimeBudgetExceeded
from acsq_mongo.formats.votable import VOTABLE_MIME, error_votable
from acsq_mongo.query.errors import QueryError
from webapp.formats import json_response, wants_csv, wants_json, wants_votable

__all__ = ["register", "error_page"]

_TITLES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    500: "Something went wrong",
    503: "The database is not answering",
}


def error_page(status: int, message: str, title: str | None = None):
    """Return the error page (or JSON) for ``status`` with a one-line ``message``."""
    if wants_json():
        return json_response({"error": message, "status": status}, status=status)
    if wants_votable():
        return Response(error_votable(message), status=status, mimetype=VOTABLE_MIME)
    if wants_csv():
        return Response(f"error {status}: {message}\n", status=status, mimetype="text/plain")
    title = title or _TITLES.get(status, "Error")
    return render_template("error.html", status=status, title=title, message=message), status


def _http_error(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    return error_page(exc.code, exc.description or "")


def _query_error(exc: QueryError):
    return error_page(400, str(exc))


def _out_of_time(exc: Exception):
    from webapp.state import state

    message = str(exc) if isinstance(exc, TimeBudgetExceeded) else budget_message(
        state().settings.web_time_limit_ms, "web_time_limit_ms")
    return error_page(503, message, title="The query ran out of time")


def _database_down(exc: Exception):
    if is_timeout(exc):
        return _out_of_time(exc)
    if isinstance(exc, DatabaseUnavailable):
        message = str(exc)
    else:
        message = f"the database stopped answering ({type(exc).__name__})"
    return error_page(503, message + ". Try again in a minute; if it persists, tell the "
                      "operators.")


def _unexpected(exc: Exception):
    from flask import current_app

    current_app.logger.exception("unexpected error")
    return error_page(500, "An unexpected error occurred; it has been logged.")


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(QueryError, _query_error)
    app.register_error_handler(DatabaseUnavailable, _database_down)
    app.register_error_handler(TimeBudgetExceeded, _out_of_time)
    app.register_error_handler(pymongo.errors.ExecutionTimeout, _out_of_time)
    app.register_error_handler(pymongo.errors.ConnectionFailure, _database_down)
    app.register_error_handler(pymongo.errors.ServerSelectionTimeoutError, _database_down)
    app.register_error_handler(Exception, _unexpected)
