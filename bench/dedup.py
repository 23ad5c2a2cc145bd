"""Benchmark of the duplicate index: lookup time and index size at scale.

    python bench/dedup.py              # 1,000,000 articles (about 10 minutes on 2 cores)
    python bench/dedup.py --n 50000    # a quick run

Generates ``--n`` synthetic articles (deterministic; a Zipfian vocabulary with
the beat's stock phrases mixed in, so different articles share phrases the way
one beat's coverage does), fingerprints them on ``--workers`` processes, and
stores them twice:

* in :class:`monitor.dedup.MemoryIndex`;
* in a SQLite file with the layout below (bulk-loaded in key order, as a
  migration of an existing archive would; ``--queries`` further articles are
  then added one by one, as the daemon does, and timed).

Then it looks up ``--queries`` articles through :func:`monitor.dedup.find_duplicate`
against each store, a quarter each: edited copies and two-sentence summaries of
stored articles, stored articles under another spelling of their URL, and new
articles. It prints per-lookup time (median, p99, max), the share of copies
found, false matches among the new articles, and the database size.

The SQLite lookups are timed three times. First with every candidate fingerprinted again
from its stored text, as the store did before it kept packed features (migration 0012): a
new article's lookup ends by comparing up to a dozen more articles, those sharing the most
headline and lead words with it, so this is the slow end. Then reading each candidate's
packed features (:mod:`monitor.dedup.packed`, stored with the article as the store now
stores them for every indexed entry): the target's figure. Then through the pipeline's
feature cache (:class:`monitor.dedup.cache.CachedIndex`, the default size), which starts
empty and, unlike the pipeline's, is filled by the lookups alone (the pipeline also puts
each article it stores): the candidates of common words are the newest articles holding
them, the same ones lookup after lookup. The share of candidates whose features came from
the cache is printed. Each pass opens a connection of its own, but the operating system's
file cache is as warm as the passes before left it.

SQLite layout (the bench's own; the real store keeps its own tables)::

    doc(id INTEGER PRIMARY KEY, title TEXT, body TEXT, link TEXT, guid TEXT, feed_url TEXT,
        features BLOB)
    dedup_key(key INTEGER NOT NULL, doc_id INTEGER NOT NULL,
              PRIMARY KEY (key, doc_id)) WITHOUT ROWID
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dedup import (
    DedupIndex,
    DedupSettings,
    DuplicateDecision,
    Features,
    MemoryIndex,
    StoredDocument,
    find_duplicate,
)
from monitor.dedup import fingerprint as _fingerprint
from monitor.dedup.cache import CachedIndex, FeatureCache
from monitor.dedup.packed import pack, unpack

SETTINGS = DedupSettings()
CHUNK = 5_000
# Syllables of the synthetic vocabulary, and the stock words every sentence leans on.
SYLLABLES = (
    "ba",
    "be",
    "bi",
    "bo",
    "bu",
    "ca",
    "ce",
    "co",
    "da",
    "de",
    "di",
    "do",
    "fa",
    "fe",
    "fi",
    "ga",
    "go",
    "ha",
    "he",
    "hi",
    "ka",
    "ke",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "pa",
    "pe",
    "pi",
    "po",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
    "wa",
    "we",
    "ya",
    "zo",
)
COMMON = (
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "that",
    "is",
    "for",
    "on",
    "said",
    "with",
    "as",
    "by",
    "was",
    "it",
    "at",
    "from",
    "its",
    "be",
    "has",
    "would",
    "have",
    "will",
    "an",
    "are",
    "which",
    "but",
    "not",
    "this",
    "were",
    "after",
    "their",
    "they",
    "or",
    "more",
    "than",
    "been",
    "also",
    "year",
    "new",
    "two",
    "last",
    "who",
)
PHRASES = (
    "prime minister mark carney",
    "president claudia sheinbaum",
    "the united states mexico canada agreement",
    "tariffs on steel and aluminum",
    "president donald trump",
    "the bank of canada",
    "trade representative jamieson greer",
    "the review of the usmca",
    "economy secretary marcelo ebrard",
    "supply management",
    "rules of origin",
    "the canadian dollar",
    "per cent",
    "fentanyl at the border",
    "ottawa and washington",
    "mexico city",
)
OUTLETS = ("ledger.ca", "herald.com", "courier.mx", "gazette.ca", "wire.com", "post.com")


# --- synthetic articles -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    doc_id: int
    title: str
    text: str
    link: str


class Generator:
    """Deterministic article text: one generator per chunk, seeded by the chunk's number."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        vocab_rng = np.random.default_rng(20251121)
        pieces = vocab_rng.integers(0, len(SYLLABLES), size=(30_000, 3))
        self.vocabulary = ["".join(SYLLABLES[i] for i in row) for row in pieces]
        weights = 1.0 / np.arange(1, len(self.vocabulary) + 1) ** 1.1
        self.cdf = np.cumsum(weights / weights.sum())

    def sentences(self, count: int) -> list[str]:
        """``count`` sentences of 10-27 words: stock words, the beat's phrases, numbers."""
        rng = self.rng
        lengths = rng.integers(10, 28, size=count)
        total = int(lengths.sum())
        kinds = rng.random(total).tolist()
        ranks = np.minimum(np.searchsorted(self.cdf, rng.random(total)), len(self.cdf) - 1).tolist()
        words: list[str] = []
        for kind, rank in zip(kinds, ranks, strict=True):
            if kind < 0.42:
                words.append(COMMON[rank % len(COMMON)])
            elif kind < 0.50:
                words.append(PHRASES[rank % len(PHRASES)])
            elif kind < 0.53:
                words.append(str(rank % 900 + 1))
            else:
                words.append(self.vocabulary[rank])
        out = []
        position = 0
        for length in lengths.tolist():
            part = words[position : position + length]
            position += length
            out.append(part[0].capitalize() + " " + " ".join(part[1:]) + ".")
        return out

    def article(self, doc_id: int) -> Article:
        rng = self.rng
        if rng.random() < 0.3:  # summary-only feed items
            paragraph_sizes = [int(rng.integers(1, 3))]
        else:
            # 120-520 words at about 18 words a sentence, one to three sentences a paragraph
            sentences = int(rng.integers(120, 520)) // 18 + 1
            paragraph_sizes = []
            while sum(paragraph_sizes) < sentences:
                paragraph_sizes.append(int(rng.integers(1, 4)))
        pool = self.sentences(sum(paragraph_sizes) + 1)
        title = pool.pop().rstrip(".")
        paragraphs = []
        for size in paragraph_sizes:
            paragraphs.append(" ".join(pool[:size]))
            del pool[:size]
        outlet = OUTLETS[doc_id % len(OUTLETS)]
        link = f"https://www.{outlet}/news/2025/{doc_id % 12 + 1:02d}/story-{doc_id}"
        return Article(doc_id, title, "\n".join(paragraphs), link)


def chunk_articles(chunk: int, first_id: int, count: int) -> list[Article]:
    generator = Generator(seed=chunk)
    return [generator.article(first_id + offset) for offset in range(count)]


def features_of(article: Article) -> Features:
    return _fingerprint(article.title, article.text, article.link, doc_id=article.doc_id)


def build_chunk(chunk: int, n: int) -> tuple[list[Article], list[np.ndarray], list[bytes | None]]:
    first = chunk * CHUNK
    articles = chunk_articles(chunk, first, min(CHUNK, n - first))
    features = [features_of(article) for article in articles]
    keys = [np.array(f.keys, dtype=np.int64) for f in features]
    return articles, keys, [pack(f, SETTINGS.scheme.tag) for f in features]


# --- the SQLite index -----------------------------------------------------------


class SqliteIndex:
    """The DedupIndex Protocol over two SQLite tables (see the module docstring)."""

    def __init__(self, path: Path, packed: bool = True) -> None:
        self.packed = packed
        """Read candidates' packed features where stored; else fingerprint their text."""
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")

    def create(self) -> None:
        self.connection.executescript(
            """
            CREATE TABLE doc (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,
                              link TEXT, guid TEXT, feed_url TEXT, features BLOB);
            CREATE TABLE dedup_key (key INTEGER NOT NULL, doc_id INTEGER NOT NULL,
                                    PRIMARY KEY (key, doc_id)) WITHOUT ROWID;
            """
        )

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        if not keys:
            return []
        # One bounded, newest-first range scan per key, counted together.
        branch = "SELECT doc_id FROM (SELECT doc_id FROM dedup_key WHERE key = ? ORDER BY doc_id DESC LIMIT ?)"
        union = " UNION ALL ".join([branch] * len(keys))
        rows = self.connection.execute(
            f"SELECT doc_id, COUNT(*) AS shared FROM ({union}) "
            "GROUP BY doc_id ORDER BY shared DESC, doc_id DESC LIMIT ?",
            (*[value for key in keys for value in (key, per_key)], limit),
        )
        return [(doc_id, shared) for doc_id, shared in rows]

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        packed = "features" if self.packed else "NULL"
        rows = self.connection.execute(
            f"SELECT id, title, body, link, guid, feed_url, {packed} FROM doc "
            f"WHERE id IN ({marks})",
            tuple(ids),
        )
        version = SETTINGS.scheme.tag
        documents = []
        for row in rows:
            features = None if row[6] is None else unpack(row[6], version, row[0], row[1], None)
            packed = row[6] if features is not None else None
            documents.append(StoredDocument(*row[:6], features=features, packed=packed))
        return documents

    def add(self, document: StoredDocument, keys: Sequence[int], packed: bytes | None) -> None:
        with self.connection:
            self.connection.execute("BEGIN")
            self._insert_doc(document, packed)
            self.connection.executemany(
                "INSERT OR IGNORE INTO dedup_key (key, doc_id) VALUES (?, ?)",
                [(key, document.doc_id) for key in keys],
            )

    def _insert_doc(self, document: StoredDocument, packed: bytes | None) -> None:
        self.connection.execute(
            "INSERT INTO doc (id, title, body, link, guid, feed_url, features) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                document.doc_id,
                document.title,
                document.text,
                document.link,
                document.guid,
                document.feed_url,
                packed,
            ),
        )

    def bulk_docs(
        self, documents: Iterator[StoredDocument], packed: Sequence[bytes | None]
    ) -> None:
        self.connection.execute("BEGIN")
        for document in documents:
            self._insert_doc(document, packed[document.doc_id])
        self.connection.execute("COMMIT")

    def bulk_keys(self, keys: np.ndarray, doc_ids: np.ndarray) -> None:
        order = np.lexsort((doc_ids, keys))
        self.connection.execute("BEGIN")
        step = 200_000
        for start in range(0, len(order), step):
            part = order[start : start + step]
            self.connection.executemany(
                "INSERT OR IGNORE INTO dedup_key (key, doc_id) VALUES (?, ?)",
                zip(keys[part].tolist(), doc_ids[part].tolist(), strict=True),
            )
        self.connection.execute("COMMIT")

    def sizes(self) -> dict[str, int]:
        rows = self.connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        return dict(rows)


# --- queries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    features: Features
    expected: int | None


def edited(text: str, rng: np.random.Generator) -> str:
    paragraphs = text.split("\n")
    if len(paragraphs) > 3:
        i = int(rng.integers(1, len(paragraphs) - 1))
        paragraphs[i], paragraphs[i + 1] = paragraphs[i + 1], paragraphs[i]
        del paragraphs[int(rng.integers(1, len(paragraphs)))]
    return "By Staff Writer\nOTTAWA (Reuters) - " + "\n".join(paragraphs) + "\n(Editing by Desk)"


def summary(text: str) -> str:
    sentences = text.replace("\n", " ").split(". ")
    return ". ".join(sentences[:2]).rstrip(".") + "."


def make_queries(stored: MemoryIndex, n: int, count: int) -> tuple[list[Query], list[float]]:
    """The lookups to time, and how long fingerprinting each incoming article took."""
    rng = np.random.default_rng(99)
    timings: list[float] = []

    def fingerprint(title: str, text: str, link: str) -> Features:
        start = time.perf_counter()
        features = _fingerprint(title, text, link)
        timings.append(time.perf_counter() - start)
        return features

    targets = [int(i) for i in rng.integers(0, n, size=count)]
    documents = stored.documents(targets)
    fresh = chunk_articles(10_000_000, n + 1_000_000, count)
    queries = []
    for number, document in enumerate(documents):
        kind = ("edited", "summary", "url", "new")[number % 4]
        if kind == "edited":
            body = edited(document.text, rng)
            features = fingerprint("Another headline", body, f"https://other.ca/x/{number}")
        elif kind == "summary":
            features = fingerprint(
                document.title, summary(document.text), f"https://agg.ca/{number}"
            )
        elif kind == "url":
            link = (document.link or "").replace("https://www.", "http://m.") + "?utm_source=rss"
            features = fingerprint(document.title, "", link)
        else:
            article = fresh[number]
            features = fingerprint(article.title, article.text, article.link)
            queries.append(Query(kind, features, None))
            continue
        queries.append(Query(kind, features, document.doc_id))
    return queries, timings


@dataclass
class Timing:
    name: str
    seconds: list[float]
    found: dict[str, list[bool]]
    too_short: int
    false_matches: int

    def report(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        found = ", ".join(
            f"{kind} {sum(hits)}/{len(hits)}" for kind, hits in self.found.items() if kind != "new"
        )
        return (
            f"{self.name}: lookup median {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms, "
            f"max {ms[-1]:.2f} ms over {len(ms)} lookups\n"
            f"  copies found: {found} (of the misses, {self.too_short} are stored one-line "
            f"items too short to judge); false matches among "
            f"{len(self.found.get('new', []))} new articles: {self.false_matches}"
        )


def run_queries(name: str, index: DedupIndex, queries: list[Query]) -> Timing:
    seconds: list[float] = []
    found: dict[str, list[bool]] = {}
    too_short = 0
    false_matches = 0
    for query in queries:
        start = time.perf_counter()
        decision: DuplicateDecision = find_duplicate(query.features, index, SETTINGS)
        seconds.append(time.perf_counter() - start)
        hit = decision.is_duplicate and decision.of_id == query.expected
        found.setdefault(query.kind, []).append(hit)
        if query.expected is not None and not hit and decision.reason.startswith("too little"):
            too_short += 1
        if query.expected is None and decision.is_duplicate:
            false_matches += 1
    return Timing(name, seconds, found, too_short, false_matches)


# --- main ------------------------------------------------------------------------

TEXT_PATH = "SQLite, every candidate fingerprinted from its text (no packed features)"
DAEMON_PATH = (
    f"SQLite through the daemon's feature cache (dedup.feature_cache_size "
    f"{SETTINGS.feature_cache_size:,}, empty at the start)"
)


class CountedStore(SqliteIndex):
    """The bench's SQLite index, counting the documents read from it."""

    read = 0

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        self.read += len(ids)
        return super().documents(ids)


class CountedCache(CachedIndex):
    """The pipeline's cached view, counting the candidates asked for."""

    asked = 0

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        self.asked += len(ids)
        return super().documents(ids)


def cached_lookups(path: Path, queries: list[Query]) -> str:
    """The lookups through the feature cache: a candidate's features come from the cache
    when an earlier lookup fingerprinted it, else from its stored text (and are kept)."""
    store = CountedStore(path)  # its own connection, as fresh as the first pass's
    view = CountedCache(store, FeatureCache(SETTINGS.feature_cache_size), SETTINGS)
    report = run_queries(DAEMON_PATH, view, queries).report()
    store.connection.close()
    hits = 1 - store.read / view.asked if view.asked else 0.0
    return f"{report}\n  features from the cache for {hits:.0%} of {view.asked:,} candidates"


def timed(label: str, action: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = action()
    print(f"  {label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


def build(n: int, workers: int) -> tuple[MemoryIndex, np.ndarray, np.ndarray, list[bytes | None]]:
    """Generate, fingerprint (in ``workers`` processes) and memory-index ``n`` articles.

    Returns the index, every (key, article id) pair and each article's packed features
    (by id) for the SQLite bulk load.
    """
    # The collector would walk the growing heap again and again for nothing:
    # nothing built here is cyclic garbage.
    gc.disable()
    memory = MemoryIndex()
    all_keys: list[np.ndarray] = []
    all_ids: list[np.ndarray] = []
    all_packed: list[bytes | None] = []
    start = time.perf_counter()
    chunks = range((n + CHUNK - 1) // CHUNK)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for articles, keys, packed in pool.map(build_chunk, chunks, [n] * len(chunks)):
            all_packed += packed
            for article, article_keys in zip(articles, keys, strict=True):
                document = StoredDocument(article.doc_id, article.title, article.text, article.link)
                memory.add(document, article_keys.tolist())
                all_keys.append(article_keys)
                all_ids.append(np.full(len(article_keys), article.doc_id, dtype=np.int64))
    keys_array = np.concatenate(all_keys)
    print(
        f"  generated, fingerprinted and memory-indexed {len(memory):,} articles in "
        f"{time.perf_counter() - start:.1f} s ({len(keys_array) / len(memory):.1f} keys per article)",
        flush=True,
    )
    return memory, keys_array, np.concatenate(all_ids), all_packed


def load_sqlite(
    path: Path, memory: MemoryIndex, keys: np.ndarray, ids: np.ndarray, packed: list[bytes | None]
) -> None:
    path.unlink(missing_ok=True)
    index = SqliteIndex(path)
    index.create()
    documents = iter(memory.documents(range(len(memory))))
    timed("SQLite: documents loaded", lambda: index.bulk_docs(documents, packed))
    timed("SQLite: keys bulk-loaded in key order", lambda: index.bulk_keys(keys, ids))
    index.connection.close()


def time_inserts(index: SqliteIndex, first_id: int, count: int) -> str:
    """Articles added one by one, one transaction each, as the daemon adds them."""
    seconds = []
    for article in chunk_articles(20_000_000, first_id, count):
        features = features_of(article)
        document = StoredDocument(article.doc_id, article.title, article.text, article.link)
        packed = pack(features, SETTINGS.scheme.tag)  # by the parser workers, in the daemon
        start = time.perf_counter()
        index.add(document, features.keys, packed)
        seconds.append(time.perf_counter() - start)
    ms = sorted(s * 1000 for s in seconds)
    return (
        f"SQLite: one-by-one insert median {statistics.median(ms):.2f} ms, "
        f"p99 {ms[round(0.99 * (len(ms) - 1))]:.2f} ms (one transaction each)"
    )


def size_report(index: SqliteIndex, path: Path, articles: int) -> str:
    index.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sizes = index.sizes()
    key_bytes = sizes.get("dedup_key", 0)
    doc_bytes = sizes.get("doc", 0)
    (packed_bytes,) = index.connection.execute("SELECT SUM(LENGTH(features)) FROM doc").fetchone()
    return (
        f"SQLite size: {path.stat().st_size / 2**20:,.0f} MiB in all; dedup_key "
        f"{key_bytes / 2**20:,.0f} MiB ({key_bytes / articles:.0f} B per article), doc "
        f"{doc_bytes / 2**20:,.0f} MiB ({doc_bytes / articles:.0f} B per article, of which "
        f"{(packed_bytes or 0) / articles:.0f} B of packed features, the rest mostly body "
        "text the store keeps anyway)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="articles to index")
    parser.add_argument("--queries", type=int, default=2_000, help="lookups to time per store")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()

    print(f"dedup bench: {args.n:,} articles, {args.queries:,} lookups per store")
    memory, keys, ids, packed = build(args.n, args.workers)
    # Millions of long-lived objects: keep the cyclic collector from walking them
    # in the middle of a timed lookup (a long-running process would do the same).
    gc.freeze()
    gc.enable()
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as directory:
        path = args.db or Path(directory) / "dedup.sqlite"
        load_sqlite(path, memory, keys, ids, packed)
        del keys, ids, packed
        queries, fingerprint_seconds = make_queries(memory, len(memory), args.queries)
        print(run_queries("MemoryIndex", memory, queries).report(), flush=True)
        # Fresh connections: nothing cached on the Python side.
        text_only = SqliteIndex(path, packed=False)
        print(run_queries(TEXT_PATH, text_only, queries).report(), flush=True)
        text_only.connection.close()
        index = SqliteIndex(path)
        print(run_queries("SQLite", index, queries).report(), flush=True)
        print(cached_lookups(path, queries), flush=True)
        print(time_inserts(index, len(memory) + 2_000_000, args.queries), flush=True)
        print(size_report(index, path, len(memory) + args.queries))
        index.connection.close()
    print(
        "fingerprinting an incoming article (before the lookup, not in its time): median "
        f"{statistics.median(fingerprint_seconds) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
