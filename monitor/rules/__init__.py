"""Watch rules: compile queries once, match entries many times.

The rest of the project sees only this module's surface:

* :class:`WatchSpec` - a watch as the config declares it;
* :func:`compile_watches` - specs (+ alias groups) -> :class:`RuleSet`;
* :meth:`RuleSet.match` - a pure function from an :class:`~monitor.types.Entry`
  to the watches that fired, each with the spans that explain it.

Compilation errors are :class:`~monitor.errors.RuleError` (syntax errors are
:class:`~monitor.errors.RuleSyntaxError` and carry the character position).
"""

from __future__ import annotations

from monitor.rules.engine import RuleSet, WatchSpec, compile_query, compile_watches

__all__ = ["RuleSet", "WatchSpec", "compile_query", "compile_watches"]
