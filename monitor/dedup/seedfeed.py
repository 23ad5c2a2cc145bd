"""Where the known articles (seeds) are stored: a feed of their own that is never polled.

Apart from :mod:`monitor.dedup.seeds`, which reads and fingerprints them, so that the
store can tell a seed from a polled entry, and a start can tell that a fingerprint file
is stored already, without loading the fingerprinting machinery.
"""

from __future__ import annotations

SEED_FEED_URL = "seed:baseline"
"""The URL of the feed the known articles are stored under."""
SEED_SOURCE = "Known articles"
"""Its name, and the source shown for a seed that names none."""
FINGERPRINT_FORMAT = "monitor-seed-fingerprints/1"
"""The ``format`` a fingerprint file names (:func:`monitor.dedup.seeds.write_fingerprints`)."""
