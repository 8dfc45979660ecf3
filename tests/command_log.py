"""A pymongo listener that logs what the server is asked to scan, for the cost tests."""

from __future__ import annotations

from pymongo import monitoring


class CommandLog(monitoring.CommandListener):
    """Every find, aggregate and count the server is sent, in ``seen``.

    Each entry is ``(collection, command name, filter)``; the filter is None for
    an aggregate.
    """

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict | None]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "aggregate", "count"):
            self.seen.append((event.command[event.command_name], event.command_name,
                              event.command.get("filter", event.command.get("query"))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
