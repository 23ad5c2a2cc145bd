"""Watch rules: compile queries once, match entries many times.

The rest of the project sees only this module's surface:

* :class:`WatchSpec` - a watch as the config declares it;
* :func:`compile_watches` - specs (+ alias groups, :class:`RuleSettings`, guard
  topics) -> :class:`RuleSet`;
* :meth:`RuleSet.match` - a pure function from an :class:`~monitor.types.Entry`
  to the watches that fired, each with the spans that explain it;
  :meth:`RuleSet.judge` - the same as :class:`Verdict` values, watches that
  matched but were stopped (by ``min_score``, ``min_focus``, ``exclude`` or a
  topic guard) included, each with its :class:`Stop`.

Compilation errors are :class:`~monitor.errors.RuleError` (syntax errors are
:class:`~monitor.errors.RuleSyntaxError` and carry the character position).

Also here, for renderers and tools: :func:`compile_query` (one query, e.g. to
validate a config) returning a :class:`CompiledQuery`, :func:`make_snippet`
(text around the first hit, as escapable parts) and :func:`explain` (why
watches fired, as plain text).

The modules, in pipeline order: ``grammar`` (lark grammar, error mapping) ->
``compile`` (checks, aliases, field scopes) -> ``nodes`` (the compiled tree)
-> ``index`` (requirements, Aho-Corasick candidates); per entry ``fold`` and
``document`` (fold each field once) -> ``evaluate`` (hits) -> ``score`` and
``focus`` -> ``guards``; ``aliases`` (alias members, names in context) and
``forms`` (what ``word+`` expands to) serve the compiler;
``engine`` ties them together; ``values`` holds what crosses processes (watch specs
in, verdicts out). ``native`` decides, before any of them is imported,
whether this process runs the build's compiled copies of the per-entry modules.
"""

from __future__ import annotations

from monitor.rules import native

native.choose()

from monitor.rules.aliases import InContext
from monitor.rules.engine import (
    CompiledQuery,
    RuleSet,
    Stop,
    Verdict,
    WatchSpec,
    compile_query,
    compile_watches,
)
from monitor.rules.explain import explain, explain_verdicts
from monitor.rules.settings import RuleSettings
from monitor.rules.snippet import make_snippet

__all__ = [
    "CompiledQuery",
    "InContext",
    "RuleSet",
    "RuleSettings",
    "Stop",
    "Verdict",
    "WatchSpec",
    "compile_query",
    "compile_watches",
    "explain",
    "explain_verdicts",
    "make_snippet",
]
