"""Synthetic news text for the feed farm: distinct stories, as real feeds carry.

Every item gets its own two-to-four sentence summary of words drawn from a
Zipf-shaped vocabulary (a few dozen topic words, then thousands of made-up
ones), so two items share common words and stock phrases the way two news
stories do, but not their text. A share of the items are *wire* stories: the
same text, from a small pool, carried by many feeds under their own headlines
and links, each with the carrier's own sign-off line, which is the syndicated
copy duplicate detection exists for. About a third of the items name the USMCA
(or T-MEC, CUSMA), so a USMCA watch matches some and not others.

Deterministic: the same (feed, item) always reads the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

_TOPIC_WORDS = """
the of to and in a on for that said with by at from as its was is will trade minister
ministers government tariffs tariff Canada México Ottawa talks review agreement officials
steel autos exports imports deal border economy president prime week Tuesday Monday percent
billion dollars Québec negotiators industry
"""
_TOPIC = tuple(_TOPIC_WORDS.split())
_SYLLABLE_TEXT = "ka ren dol mi tor sa vel po ran ti mar lu ben cor da fen gra hol is jun kel lon"
_SYLLABLES = tuple(_SYLLABLE_TEXT.split())
_NAMES = ("USMCA", "T-MEC", "CUSMA")


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], list[float]]:
    rng = random.Random(2026)
    made_up = {
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(6000)
    }
    words = list(_TOPIC) + sorted(made_up - set(_TOPIC))
    # Zipf: a few words make most of any text. Cumulative, so each draw is a bisection.
    cumulative = list(accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    return words, cumulative


def _sentence(rng: random.Random, mention: bool) -> str:
    words, cumulative = _vocabulary()
    chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(10, 20))
    if mention:
        chosen.insert(rng.randrange(len(chosen)), rng.choice(_NAMES))
    return " ".join(chosen).capitalize() + "."


@dataclass(frozen=True, slots=True)
class Story:
    headline: str
    summary: str


def _story(rng: random.Random) -> Story:
    mention = rng.random() < 0.33
    sentences = [_sentence(rng, mention and n == 0) for n in range(rng.randint(2, 4))]
    words, _ = _vocabulary()
    headline = " ".join(rng.choices(words[30:], k=6)).capitalize()
    if mention:
        headline = f"{rng.choice(_NAMES)}: {headline}"
    return Story(headline, " ".join(sentences))


@lru_cache(maxsize=64)
def wire_story(number: int) -> Story:
    """Wire story ``number`` of the pool: one text that many feeds carry."""
    return _story(random.Random(f"wire-{number}"))


def item_story(feed: int, item: int, wire_share: float = 0.05, wire_pool: int = 50) -> Story:
    """What item ``item`` of feed ``feed`` says: its own story, or a wire story with the
    carrier's headline and sign-off."""
    rng = random.Random(f"item-{feed}-{item}")
    if rng.random() < wire_share:
        wire = wire_story(rng.randrange(wire_pool))
        desk = _SYLLABLES[feed % len(_SYLLABLES)].capitalize()
        sign_off = f"Reported for the {desk} desk."
        return Story(f"{wire.headline} (Farm {feed})", f"{wire.summary} {sign_off}")
    return _story(rng)
