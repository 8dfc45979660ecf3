"""Exceptions that carry a message meant for a person, not a traceback.

The CLI prints ``str(exc)`` of any :class:`AcsqError` on one line and exits
non-zero; the web app turns them into error pages.
"""

__all__ = ["AcsqError", "ClusterUnavailable", "ConfigError", "DatabaseUnavailable",
           "LocalServerError", "TimeBudgetExceeded"]


class AcsqError(Exception):
    """Base class of errors whose message is shown to the user as it is."""

    exit_code = 1


class ConfigError(AcsqError):
    """A setting is unknown, of the wrong type, or its file is unreadable."""

    exit_code = 2


class DatabaseUnavailable(AcsqError):
    """The database server cannot be reached."""

    exit_code = 3


class ClusterUnavailable(AcsqError):
    """The Dask scheduler cannot be reached, or was lost during a run."""

    exit_code = 4


class LocalServerError(AcsqError):
    """The local development server cannot be built, started or stopped."""


class TimeBudgetExceeded(AcsqError):
    """A read ran out of its time budget (the web answers 503)."""

    exit_code = 5
