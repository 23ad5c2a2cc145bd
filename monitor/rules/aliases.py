"""Alias groups: named lists of terms, used in queries as ``@name``.

A member is a term as a query would write it (``Canada``, ``tariff+``,
``export*``, ``"free trade"``), or a *name in context*: a word that is
ambiguous alone and counts only where one of its context terms stands close
by, in the same field::

    canada:
      - Canada
      - {term: Carney, near: [Mark, "prime minister", PM, Canada], within: 3}

``Carney`` then hits "Prime Minister Mark Carney" and "Carney, Canada's prime
minister", and not a sleep researcher or a blogger of that name. Only the
name is a hit (it is what the score counts and the digest shows); its context
is a condition, the way ``NEAR/n`` is, measured the same way (``within: 3``:
at most three words between them, either order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_WITHIN = 4
"""Words allowed between a name and its context when ``within`` is not given: a title or first name sits right next to it."""


class ContextMember(Protocol):
    """What the compiler reads from a name-in-context member (the config's model has these too)."""

    @property
    def term(self) -> str: ...

    @property
    def near(self) -> Sequence[str]: ...

    @property
    def within(self) -> int | None:
        """``None``: :data:`DEFAULT_WITHIN`."""


@dataclass(frozen=True, slots=True)
class InContext:
    """A name-in-context member, for code and tests (configs write a mapping)."""

    term: str
    near: tuple[str, ...]
    within: int | None = DEFAULT_WITHIN


AliasMember = str | ContextMember
Aliases = Mapping[str, Sequence[AliasMember]]
