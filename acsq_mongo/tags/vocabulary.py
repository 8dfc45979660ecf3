"""The anomaly vocabulary: the flags a tagger chooses from, as slugs and labels.

The setting ``anomaly_vocabulary`` lists labels (``satellite trail``,
``dragon's breath``, ...); what is stored and queried is each label's slug
(:func:`acsq_mongo.fields.anomaly_slug`: ``satellite_trail``,
``dragons_breath``). A flag dropped from the vocabulary stays in the history
and the catalog and is shown by its slug; it can be cleared but not set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acsq_mongo.errors import ConfigError
from acsq_mongo.fields import anomaly_slug

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = ["Vocabulary"]


@dataclass(frozen=True)
class Vocabulary:
    """The flags, in the order of the setting: ``(slug, label)`` pairs."""

    flags: tuple[tuple[str, str], ...]

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> Vocabulary:
        """Build the vocabulary of some labels.

        Raises
        ------
        ConfigError
            If a label has no letter or digit, or two labels have one slug.
        """
        flags: dict[str, str] = {}
        for label in labels:
            slug = anomaly_slug(label)
            if not slug:
                raise ConfigError(f"anomaly_vocabulary: {label!r} has no letter or digit")
            if slug in flags:
                raise ConfigError(f"anomaly_vocabulary: {flags[slug]!r} and {label!r} are "
                                  f"both {slug!r}")
            flags[slug] = label.strip()
        return cls(tuple(flags.items()))

    @classmethod
    def from_settings(cls, settings: Settings) -> Vocabulary:
        """The vocabulary of the setting ``anomaly_vocabulary``."""
        return cls.from_labels(settings.anomaly_vocabulary)

    @property
    def slugs(self) -> tuple[str, ...]:
        """The slugs, in order."""
        return tuple(slug for slug, _ in self.flags)

    def label(self, slug: str) -> str:
        """The label of a slug (the slug itself if it is no longer in the vocabulary)."""
        return dict(self.flags).get(slug, slug)

    def order(self, slugs: Iterable[str]) -> list[str]:
        """Some slugs in the vocabulary's order (others after them, alphabetically)."""
        rank = {slug: i for i, slug in enumerate(self.slugs)}
        return sorted(slugs, key=lambda s: (rank.get(s, len(rank)), s))
