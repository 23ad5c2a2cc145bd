"""Real news text for the feed farm: Reuters-21578 wire stories, read at run time.

The stories are in ``../shared/devsets/reuters21578/`` (see its README); nothing of them is
copied into the project. Each farm item is one story: its headline, and its first sentences
as the summary, as a wire feed carries them. Items are dealt out in the file's order; past
the last story the deal starts again, so those items are copies of earlier ones carried by
another feed, as syndicated wire copy is.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devsets" / "reuters21578"
SUMMARY_CHARS = 420
"""About what a wire feed's description holds: two or three sentences."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@lru_cache(maxsize=1)
def stories() -> tuple[tuple[str, str], ...]:
    """(headline, summary) of every story that has both, in the file's order."""
    path = DEVSET / "reuters21578.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"{path} is missing: the real-news farm reads Reuters-21578 from there")
    found: list[tuple[str, str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            story = json.loads(line)
            title = " ".join(story.get("title", "").split())
            body = " ".join(story.get("body", "").split())
            if title and len(body) > 80:
                found.append((_headline(title), _lead(body)))
    return tuple(found)


def real_item(feed: int, item: int, items_per_feed: int) -> tuple[str, str]:
    """Feed ``feed``'s item ``item``: deterministic."""
    pool = stories()
    return pool[(feed * items_per_feed + item) % len(pool)]


def _headline(title: str) -> str:
    # Reuters headlines are upper case; feeds carry them in sentence case.
    return title[:1] + title[1:].lower() if title.isupper() else title


def _lead(body: str) -> str:
    lead = ""
    for sentence in _SENTENCE_END.split(body):
        if lead and len(lead) + len(sentence) > SUMMARY_CHARS:
            break
        lead = f"{lead} {sentence}".strip()
    return lead[: SUMMARY_CHARS * 2]
