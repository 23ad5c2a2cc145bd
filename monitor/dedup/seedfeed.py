"""Where the known articles (seeds) are stored: a feed of their own that is never polled.

Apart from :mod:`monitor.dedup.seeds`, which reads and fingerprints them, so that the
store can tell a seed from a polled entry without loading the fingerprinting machinery.
"""

from __future__ import annotations

SEED_FEED_URL = "seed:baseline"
"""The URL of the feed the known articles are stored under."""
SEED_SOURCE = "Known articles"
"""Its name, and the source shown for a seed that names none."""
