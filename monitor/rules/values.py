"""The rule engine's values that cross process boundaries: :class:`WatchSpec` goes to
the parser workers, which compile their own rule sets from it, and :class:`Stop` and
:class:`Verdict` come out of :meth:`RuleSet.judge <monitor.rules.engine.RuleSet.judge>`.

Kept out of the modules the build compiles (:mod:`monitor.rules.native`): a frozen
dataclass compiled by mypyc cannot be unpickled (its ``__setstate__`` meets the frozen
``__setattr__``), and these must pickle as any value does. What stays in the engine
(:class:`~monitor.rules.engine.CompiledQuery`, the compiled rules) is made and used
within one process: compiled, it neither pickles nor deep-copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.types import Match


@dataclass(frozen=True, slots=True)
class WatchSpec:
    """A watch as the configuration declares it."""

    name: str
    query: str
    exclude: str | None = None
    """A query; an entry matching it is dropped for this watch."""
    min_score: float = 0.0
    """Matches scoring below this are dropped (see :mod:`monitor.rules.score`)."""
    min_focus: float = 0.0
    """Matches less focused than this are dropped (see :mod:`monitor.rules.focus`)."""
    guards: tuple[str, ...] = ()
    """Names of topic guards (shipped, :data:`monitor.rules.guards.GUARDS`, or the config's)
    that may veto a match."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Why a watch whose query matched did not fire."""

    rule: str
    """``min_score``, ``min_focus``, ``exclude`` or ``guard``."""
    detail: str
    """The reason in words, with the figures or terms that decided it."""
    guard: str = ""
    """The guard's name, when a guard stopped it."""
    figures: str = field(default="", compare=False)
    """What decided, in short (``focus 0.20 < 0.5``); the same facts as ``detail``."""

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"

    @property
    def label(self) -> str:
        """The rule that stopped it, a guard by name: ``min_focus``, ``guard sport``."""
        return f"guard {self.guard}" if self.guard else self.rule

    @property
    def summary(self) -> str:
        """One line: ``guard health (its focus 0.80 ≥ the watch's 0.60)``."""
        return f"{self.label} ({self.figures})" if self.figures else self.label


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one watch whose query matched an entry."""

    match: Match
    """The match, with its score and spans, whether or not it fired."""
    focus: float
    """Its focus (0 to 1; see :mod:`monitor.rules.focus`)."""
    stopped: Stop | None = None
    """The rule that stopped it; ``None`` when the watch fired."""

    @property
    def watch(self) -> str:
        return self.match.watch

    @property
    def fired(self) -> bool:
        return self.stopped is None
