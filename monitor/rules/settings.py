"""The figures that weigh focus and guards, as one picklable value.

The config's ``rules:`` section (:class:`monitor.rules.models.RulesConfig`)
declares each with its reason and makes this value; the matcher takes it as an
argument (:func:`monitor.rules.compile_watches`) and reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """How a hit's place counts towards focus (:mod:`.focus`), and when a guard vetoes (:mod:`.guards`)."""

    title_weight: float = 1.0
    lead_weight: float = 0.5
    deep_weight: float = 0.1
    deep_cap: float = 0.5
    lead_words: int = 50
    guard_min_focus: float = 0.5


DEFAULT_RULE_SETTINGS = RuleSettings()
