"""The config's ``aliases:``, ``rules:``, ``guards:`` and ``watches:`` sections, as declared
in the file (each field with its reason).

:class:`RulesConfig` makes the picklable :class:`monitor.rules.settings.RuleSettings`
the matcher takes; the queries are compiled by :mod:`monitor.config`'s cross-checks.
Kept apart from :mod:`.settings` so that the parser workers, which import that, do
not load pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Discriminator, Field, Tag

from monitor.fields import Name, SettingsModel

if TYPE_CHECKING:
    from monitor.rules.settings import RuleSettings


class AliasInContext(SettingsModel):
    """An alias member that counts only near one of its context terms (``monitor.rules.aliases``)."""

    term: str = Field(min_length=1)
    near: tuple[str, ...] = Field(min_length=1)
    within: int | None = Field(default=None, ge=0, le=1000)
    """Words allowed between the term and its context; the rules' default when absent."""


def _member_kind(value: object) -> str:
    return "term" if isinstance(value, str) else "in_context"


# A term, or a mapping for a name in context; told apart up front so that a mistake in
# either is reported once, for the kind it is, not once per kind it might have been.
AliasMember = Annotated[
    Annotated[str, Tag("term")] | Annotated[AliasInContext, Tag("in_context")],
    Discriminator(_member_kind),
]


class RulesConfig(SettingsModel):
    """How watches weigh where their terms occur (focus) and when a topic guard vetoes."""

    title_weight: float = Field(default=1.0, ge=0, le=1)
    """Focus of a hit in the title: a headline names what the story is about."""
    lead_weight: float = Field(default=0.5, ge=0, le=1)
    """Focus of each hit in the lead: two lead mentions count like a headline."""
    deep_weight: float = Field(default=0.1, ge=0, le=1)
    """Focus of each hit deeper in the body: passing mentions add up slowly."""
    deep_cap: float = Field(default=0.5, ge=0, le=1)
    """Most that deep hits add together: a topic only named far down never outweighs a
    mention in the lead, however often it comes back."""
    lead_words: int = Field(default=50, gt=0, le=10_000)
    """Words at the start of the summary or content that make the lead: about two
    sentences of news copy."""
    guard_min_focus: float = Field(default=0.5, ge=0, le=1)
    """A topic guard vetoes only when its topic is at least this prominent (a lead
    mention or a title one), besides at least as prominent as the watch's."""

    @property
    def settings(self) -> RuleSettings:
        """The value the matcher takes (picklable, for the parser workers)."""
        from monitor.rules.settings import RuleSettings

        return RuleSettings(**self.model_dump())


class GuardConfig(SettingsModel):
    """A topic guard of the config's own, next to the shipped ones (``monitor.rules.guards``)."""

    terms: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)
    """Words of the topic, any of which counts: ``cricket``, ``wicket+`` (a word's forms),
    ``Test match`` (several words: a phrase)."""


class WatchConfig(SettingsModel):
    """A named query; alerts send what their watches match."""

    name: Name
    query: str = Field(min_length=1)
    exclude: str | None = None
    """A query; an entry matching it is dropped for this watch."""
    min_score: float = Field(default=0.0, ge=0)
    """Matches scoring below this are dropped."""
    min_focus: float = Field(default=0.0, ge=0, le=1)
    """Matches less focused than this (0 to 1: title and lead count most) are dropped."""
    guards: tuple[str, ...] = ()
    """Names of topic guards (shipped in ``monitor.rules.guards``, or under the top-level
    ``guards:``) that may veto a match."""
