"""Known articles into the store: the one service both ways in use.

Two ways in, one place that writes them:

* ``monitor seeds import`` reads articles the user already knows
  (:func:`monitor.dedup.seeds.read_seeds`) and stores them with their text:
  :func:`import_seeds`;
* the config's ``seeds:`` list names fingerprint files (the shipped
  ``config/seeds.json``); :meth:`monitor.pipeline.Pipeline.start` loads them,
  once each: :func:`load_fingerprint_files`.

Either way an article becomes an entry of the seeds' pseudo-feed
(:data:`~monitor.dedup.seedfeed.SEED_FEED_URL`), indexed for duplicate lookups and
never alerted; one already known (by its key) is left as it is, so loading the
same file at every start, or from several replicas at once, adds nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from monitor.dedup.scheme import V1
from monitor.dedup.seedfeed import FINGERPRINT_FORMAT, SEED_FEED_URL, SEED_SOURCE
from monitor.parse.urls import canonical_url
from monitor.types import Entry

if TYPE_CHECKING:  # the fingerprinting modules (numpy and all) load when a seed is new
    from monitor.dedup.seeds import Seed

log = logging.getLogger(__name__)


class SeedStore(Protocol):
    """What importing known articles needs of the store."""

    def add_seed(
        self,
        key: str,
        entry: Entry,
        keys: Sequence[int],
        fingerprint: str | None,
        now: datetime,
        source: str | None = None,
    ) -> int | None: ...

    def known_keys(self, keys: Iterable[str]) -> set[str]: ...


def seed_entry(
    title: str, url: str | None, source: str | None, published: datetime | None, text: str = ""
) -> Entry:
    """A known article as an entry of the seeds' pseudo-feed."""
    return Entry(
        feed_url=SEED_FEED_URL,
        feed_name=source or SEED_SOURCE,
        title=title,
        link=url,
        canonical_link=canonical_url(url) if url else None,
        guid=None,
        summary=text,
        published=published,
    )


def import_seeds(
    store: SeedStore, seeds: Iterable[Seed], now: datetime
) -> list[tuple[Seed, int | None]]:
    """Store known articles with their text: each with its new entry id, or None when it
    was known already."""
    results = []
    for seed in seeds:
        features = seed.features()
        entry = seed_entry(seed.title, seed.url, seed.source, seed.published, seed.text)
        stored = store.add_seed(seed.key, entry, features.keys, None, now, seed.source)
        results.append((seed, stored))
    return results


def load_fingerprints(store: SeedStore, path: Path, now: datetime) -> int:
    """Make the known articles of one fingerprint file known; return how many were new.
    Raises :class:`~monitor.errors.SeedError` for a file that cannot be read.

    The file is loaded at every start, and its articles are most often all stored by an
    earlier one: its keys alone tell so, with one query, and the start then reads no
    fingerprint (the fingerprinting modules, numpy among them, took about 0.1 s of every
    start). A file with an article still to store is read whole and checked as ever; one
    whose every article is stored is checked for its format and scheme, not its records'
    fingerprints, which nothing reads.
    """
    if _all_stored(store, path):
        return 0
    from monitor.dedup.features import features_to_json
    from monitor.dedup.seeds import read_fingerprints

    seeds = read_fingerprints(path)
    # The articles stored at an earlier start are found with one query, instead of a
    # transaction each that add_seed would find them known in.
    known = store.known_keys(seed.key for seed in seeds)
    added = 0
    for seed in seeds:
        if seed.key in known:
            continue
        entry = seed_entry(seed.title, seed.url, seed.source, seed.published)
        fingerprint = json.dumps(features_to_json(seed.features))
        if store.add_seed(seed.key, entry, seed.features.keys, fingerprint, now, seed.source):
            added += 1
    if added:
        log.info("%s: %d known articles loaded", path, added)
    return added


def _all_stored(store: SeedStore, path: Path) -> bool:
    """Whether every article of the fingerprint file at ``path`` is stored; False too when
    the file is not plainly a fingerprint file of this monitor's scheme (the whole read
    then says what is wrong with it)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if (
        not isinstance(document, dict)
        or document.get("format") != FINGERPRINT_FORMAT
        or document.get("scheme") != V1.tag
    ):
        return False
    records = document.get("seeds") or []
    if not isinstance(records, list) or not all(
        isinstance(record, dict) and "key" in record and "features" in record for record in records
    ):
        return False
    keys = {str(record["key"]) for record in records}
    return keys <= store.known_keys(keys)


def load_fingerprint_files(store: SeedStore, paths: Iterable[str | Path], now: datetime) -> int:
    """:func:`load_fingerprints` for each of ``paths`` (the config's ``seeds:``), in order;
    how many articles were new in all."""
    return sum(load_fingerprints(store, Path(path), now) for path in paths)
