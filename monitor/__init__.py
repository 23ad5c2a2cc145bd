"""monitor: a self-hosted news-monitoring daemon (see README.md)."""

import sys

# httpx loads its own command-line tool (click, rich's syntax highlighting, pygments) as it
# is imported whenever those happen to be installed: close to a tenth of a second of CPU at
# every start of every command, for a tool monitor never runs. A None entry makes that
# import fail, and httpx then leaves its tool out (its documented fallback).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
