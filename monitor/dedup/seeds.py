"""Known articles (the baseline): read them, and ship what recognises them.

A user imports articles they already know with ``monitor seeds import``:

* plain text: an optional title line, then the body; a leading photo-caption
  block ("Open this photo in gallery:" and the caption after it) is dropped;
* HTML: the page's headline (``<h1>``, else ``<title>``) and the text of its
  ``<article>`` (else of all its paragraphs);
* JSON Lines: one object per line with ``title``, ``url``, ``published``,
  ``source`` and ``text``.

Imported with their text, they live in the user's own database. For a baseline
that must travel without its text (the shipped ``config/seeds.json``), the
import writes a *fingerprint file*: each article's metadata and its dedup
features (shingle hashes, counts, keys; see
:func:`monitor.dedup.features.features_to_json`), from which the text cannot be
recovered, but against which copies are recognised exactly as against the
text itself. The config's ``seeds:`` list loads such files at start.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from monitor.dedup.features import Features, features_from_json, features_to_json, fingerprint
from monitor.dedup.scheme import V1
from monitor.dedup.seedfeed import FINGERPRINT_FORMAT
from monitor.errors import SeedError
from monitor.parse.html import html_to_text, normalize_space
from monitor.parse.urls import canonical_url

_CAPTION_MARKERS = ("open this photo in gallery", "photo:", "image:")
_TITLE_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class Seed:
    """One known article."""

    title: str
    text: str
    url: str | None = None
    published: datetime | None = None
    source: str | None = None

    @property
    def key(self) -> str:
        """Identity: the canonical URL when known, else the title and the text."""
        basis = canonical_url(self.url) if self.url else f"{self.title}\x00{self.text}"
        return hashlib.sha256(f"seed\x00{basis}".encode()).hexdigest()

    def features(self) -> Features:
        return fingerprint(self.title, self.text, link=self.url, scheme=V1)


def parse_published(value: str | None, where: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SeedError(
            f"{where}: published must be an ISO date like 2025-09-18, got {value!r}"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_seeds(
    path: Path,
    kind: str = "auto",
    title: str | None = None,
    url: str | None = None,
    published: datetime | None = None,
    source: str | None = None,
) -> list[Seed]:
    """The articles in ``path``; metadata given here overrides what the file says."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: cannot read: {exc}") from exc
    if kind == "auto":
        suffix = path.suffix.lower()
        kind = {".jsonl": "jsonl", ".ndjson": "jsonl", ".html": "html", ".htm": "html"}.get(
            suffix, "text"
        )
        if kind == "text" and raw.lstrip().lower().startswith(("<!doctype html", "<html")):
            kind = "html"
    if kind == "jsonl":
        seeds = list(_from_jsonl(raw, path))
    elif kind == "html":
        seeds = [_from_html(raw)]
    elif kind == "text":
        seeds = [_from_text(raw)]
    else:
        raise SeedError(f"{path}: unknown format {kind!r} (text, html or jsonl)")
    result = []
    for found in seeds:
        seed = Seed(
            title=title or found.title,
            text=found.text,
            url=url or found.url,
            published=published or found.published,
            source=source or found.source,
        )
        if len(seed.text.split()) < 20:
            raise SeedError(
                f"{path}: an article needs a body of at least 20 words to be recognised"
            )
        result.append(seed)
    return result


def _from_text(raw: str) -> Seed:
    paragraphs = [normalize_space(p) for p in re.split(r"\n\s*\n", raw.strip())]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and paragraphs[0].lower().startswith(_CAPTION_MARKERS):
        marker = paragraphs.pop(0)
        # "Open this photo in gallery:" stands alone; the caption is the next block.
        if marker.rstrip().endswith(":") and paragraphs:
            paragraphs.pop(0)
    title = ""
    if (
        paragraphs
        and len(paragraphs[0]) <= _TITLE_MAX_CHARS
        and not paragraphs[0].endswith((".", "!", "?", '"', "”"))
    ):
        title = paragraphs.pop(0)
    return Seed(title=title, text="\n".join(paragraphs))


class _ArticleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self.article_depth = 0
        self.article: list[str] = []
        self.paragraphs: list[str] = []
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        if tag == "article":
            self.article_depth += 1
        if tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.article_depth = max(0, self.article_depth - 1)
        if tag == "p" and self._paragraph is not None:
            text = normalize_space("".join(self._paragraph))
            if text:
                self.paragraphs.append(text)
                if self.article_depth:
                    self.article.append(text)
            self._paragraph = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if any(t in ("script", "style", "noscript", "nav", "footer", "aside") for t in self.stack):
            return
        current = self.stack[-1] if self.stack else ""
        if current == "title":
            self.title.append(data)
        elif current == "h1":
            self.h1.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)


def _from_html(raw: str) -> Seed:
    parser = _ArticleParser()
    parser.feed(raw)
    parser.close()
    body = parser.article or parser.paragraphs
    text = "\n".join(body) if body else html_to_text(raw)
    title = normalize_space("".join(parser.h1)) or normalize_space("".join(parser.title))
    return Seed(title=title, text=text)


def _from_jsonl(raw: str, path: Path) -> Iterable[Seed]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise SeedError(f"{where}: not JSON: {exc}") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise SeedError(f"{where}: expected an object with a text field")
        yield Seed(
            title=str(record.get("title") or ""),
            text=normalize_space(record["text"]),
            url=record.get("url") or None,
            published=parse_published(record.get("published"), where),
            source=record.get("source") or None,
        )


# --- fingerprint files ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeedFingerprint:
    """A known article as shipped: metadata and features, no text."""

    key: str
    title: str
    url: str | None
    published: datetime | None
    source: str | None
    features: Features


def fingerprint_seed(seed: Seed) -> SeedFingerprint:
    return SeedFingerprint(
        seed.key, seed.title, seed.url, seed.published, seed.source, seed.features()
    )


def write_fingerprints(path: Path, seeds: Iterable[SeedFingerprint]) -> int:
    """Merge ``seeds`` into the fingerprint file at ``path`` (by key); return how many it holds."""
    known = {s.key: s for s in (read_fingerprints(path) if path.exists() else [])}
    for seed in seeds:
        known[seed.key] = seed
    records: list[dict[str, Any]] = [
        {
            "key": s.key,
            "title": s.title,
            "url": s.url,
            "published": s.published.isoformat() if s.published else None,
            "source": s.source,
            "features": features_to_json(s.features),
        }
        for s in sorted(
            known.values(), key=lambda s: (s.published or datetime.min.replace(tzinfo=UTC), s.key)
        )
    ]
    document = {"format": FINGERPRINT_FORMAT, "scheme": V1.tag, "seeds": records}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(records)


def read_fingerprints(path: Path) -> list[SeedFingerprint]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedError(f"{path}: cannot read seed fingerprints: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FINGERPRINT_FORMAT:
        raise SeedError(
            f"{path}: not a monitor seed fingerprint file (format {FINGERPRINT_FORMAT})"
        )
    if document.get("scheme") != V1.tag:
        raise SeedError(
            f"{path}: made with fingerprint scheme {document.get('scheme')!r}, this monitor uses "
            f"{V1.tag!r}: re-run `monitor seeds import` on the original texts"
        )
    seeds = []
    for number, record in enumerate(document.get("seeds") or [], start=1):
        where = f"{path} seed {number}"
        try:
            seeds.append(
                SeedFingerprint(
                    key=str(record["key"]),
                    title=str(record.get("title") or ""),
                    url=record.get("url") or None,
                    published=parse_published(record.get("published"), where),
                    source=record.get("source") or None,
                    features=features_from_json(record["features"]),
                )
            )
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            raise SeedError(f"{where}: malformed record: {exc}") from exc
    return seeds
