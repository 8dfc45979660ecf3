"""A pymongo listener that logs the queries the server is sent, for the cost and index tests."""

from __future__ import annotations

from typing import Any, NamedTuple

from pymongo import monitoring

#: The commands that read documents, and so may scan.
QUERY_COMMANDS = ("find", "aggregate", "count", "distinct")
# Fields the driver adds to every command: not part of the query, and refused by explain.
_SESSION_FIELDS = ("lsid", "txnNumber", "$clusterTime", "$db", "$readPreference",
                   "readConcern", "writeConcern", "apiVersion", "apiStrict")


class Sent(NamedTuple):
    """One query command as sent: ``(collection, name, filter, command)``.

    ``filter`` is the ``filter`` (``query`` for a count), None for an
    aggregate; ``command`` the whole command (filter, projection, sort, skip,
    limit, pipeline...) without the driver's session fields, ready for
    ``explain``.
    """

    collection: str
    name: str
    filter: dict | None
    command: dict[str, Any]


class CommandLog(monitoring.CommandListener):
    """Every find, aggregate, count and distinct the server is sent, in ``seen``."""

    def __init__(self) -> None:
        self.seen: list[Sent] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in QUERY_COMMANDS:
            command = {k: v for k, v in event.command.items() if k not in _SESSION_FIELDS}
            self.seen.append(Sent(event.command[event.command_name], event.command_name,
                                  event.command.get("filter", event.command.get("query")),
                                  command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
