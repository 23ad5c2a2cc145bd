"""Exact similarity scores between two texts' shingle sets and between titles.

MinHash only *finds* candidates; every decision is made on exact scores over
the real shingle sets, which are cheap for the handful of candidates a lookup
brings back (a set intersection of a few hundred integers).

* :func:`jaccard` ``|A ∩ B| / |A ∪ B|``: high when two texts are copies of
  about the same length.
* :func:`containment` ``|A ∩ B| / min(|A|, |B|)``: the share of the *shorter*
  text's shingles found in the longer one. A feed item made of a headline and
  two sentences of an article has a Jaccard near 0.05 with it but a
  containment near 1.
* :func:`title_similarity`: Jaccard over headline content words; supporting
  evidence only, since syndicated copies get new headlines and different
  stories share stock ones.
"""

from __future__ import annotations

from collections.abc import Set

import numpy as np

from monitor.dedup.signature import U64


def jaccard(a: Set[int], b: Set[int]) -> float:
    """Jaccard similarity of two sets; 0.0 when both are empty."""
    if not a and not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def containment(a: Set[int], b: Set[int]) -> float:
    """Share of the smaller set's members found in the larger; 0.0 if either is empty."""
    if not a or not b:
        return 0.0
    smaller, larger = (a, b) if len(a) <= len(b) else (b, a)
    return len(smaller & larger) / len(smaller)


def coverage(part: Set[int], whole: Set[int]) -> float:
    """Share of ``part``'s members found in ``whole`` (directional); 0.0 if ``part`` is empty."""
    if not part:
        return 0.0
    return len(part & whole) / len(part)


def title_similarity(a: Set[str], b: Set[str]) -> float:
    """Jaccard similarity of two headlines' content-word sets (see ``text.title_tokens``)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def estimated_jaccard(sig_a: U64, sig_b: U64) -> float:
    """Jaccard estimated from two MinHash signatures of equal width."""
    if len(sig_a) != len(sig_b) or len(sig_a) == 0:
        raise ValueError("signatures must have the same, non-zero width")
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)
