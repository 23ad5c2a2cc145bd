"""The cyclic garbage collector in the processes that poll.

A poll keeps many containers alive for long (the near-duplicate index, the feature cache,
the queued entries; in a parser process, the compiled rules) and makes many that die
young. At CPython's threshold of 700 new containers the collector runs, and walks every
young container each time. Measured in #14: about 4 % of a cold ``monitor poll`` of
bench/peers.py's farm, 6 % of bench/poll.py's first cycle (with the collector off
altogether), 2.5 % of a parser process's work on each entry. Cyclic garbage, rare in
this code, waits a little longer to be collected.
"""

from __future__ import annotations

import gc

POLLING_GC_THRESHOLD = 20_000
"""The young generation's threshold in a polling or parser process."""


def collect_less() -> None:
    """Raise the young generation's threshold to :data:`POLLING_GC_THRESHOLD` (never
    lower it); the older generations keep theirs."""
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, POLLING_GC_THRESHOLD), second, third)
