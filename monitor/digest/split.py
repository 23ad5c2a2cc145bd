"""Split a digest too big for one message into parts that each fit, losing no story.

Pure: a digest and a ``fits`` test (a channel's own measure of one message)
come in; parts come out, each a digest of its own carrying a run of the
stories in their order, ``part`` set to ``k of n``. Every story is in exactly
one part. The feeds needing attention go with the first part; the stories
``max_items`` left out (counted, not shown) with the part that ends their
watch. A story too big even alone still gets a part of its own: the channel
decides what to do with it (stories are bounded at build time, so this is a
receiver with a very small limit).

Parts are measured with the widest ``part`` label they could get, so setting
the real label afterwards never makes a part grow past what was measured.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from monitor.types import Digest, DigestItem, DigestSection

_WIDEST_LABEL = "99999 of 99999"


def split_digest(
    digest: Digest,
    fits: Callable[[Digest], bool],
    new_id: Callable[[int], str] | None = None,
) -> tuple[Digest, ...]:
    """``digest`` as parts that ``fits`` accepts (one part when it fits whole).

    ``new_id(k)`` names part ``k`` (default: the digest's id, ``.pK`` and a random
    suffix, so parts of two splits of one digest never share an id)."""
    flat = [(s, item) for s, section in enumerate(digest.sections) for item in section.items]
    if not flat or fits(digest):
        return (digest,)
    token = uuid.uuid4().hex[:8]
    name = new_id or (lambda k: f"{digest.id[:40]}.p{k}.{token}")
    runs: list[tuple[int, int]] = []
    start = 0
    while start < len(flat):
        end = _longest_run(digest, flat, start, fits)
        runs.append((start, end))
        start = end
    count = len(runs)
    prefix = f"{digest.part}, " if digest.part else ""
    return tuple(
        _part(
            digest, flat, a, b, f"{prefix}{k} of {count}", first=k == 1, last=k == count
        ).model_copy(update={"id": name(k)})
        for k, (a, b) in enumerate(runs, start=1)
    )


def _longest_run(
    digest: Digest,
    flat: Sequence[tuple[int, DigestItem]],
    start: int,
    fits: Callable[[Digest], bool],
) -> int:
    """The end of the longest run of stories from ``start`` that fits (at least one):
    doubling, then halving, so a part of n stories costs about 2 log n measures."""

    def ok(end: int) -> bool:
        label = f"{digest.part}, {_WIDEST_LABEL}" if digest.part else _WIDEST_LABEL
        return fits(_part(digest, flat, start, end, label, first=start == 0, last=end == len(flat)))

    good, step = start + 1, 1
    bad = len(flat) + 1
    while good < len(flat):
        probe = min(start + step * 2, len(flat))
        if not ok(probe):
            bad = probe
            break
        good, step = probe, step * 2
    while bad - good > 1:
        middle = (good + bad) // 2
        if ok(middle):
            good = middle
        else:
            bad = middle
    return good


def _part(
    digest: Digest,
    flat: Sequence[tuple[int, DigestItem]],
    start: int,
    end: int,
    label: str,
    first: bool,
    last: bool,
) -> Digest:
    chosen = flat[start:end]
    ends = {s: i for i, (s, _) in enumerate(flat)}  # where each watch's last story stands
    sections: list[DigestSection] = []
    for index, section in enumerate(digest.sections):
        items = tuple(item for s, item in chosen if s == index)
        # A watch's left-out count goes with its last story (with the last part if it has none).
        ends_here = start <= ends[index] < end if index in ends else last
        omitted = section.omitted if ends_here else 0
        if items or omitted:
            sections.append(DigestSection(watch=section.watch, items=items, omitted=omitted))
    return digest.model_copy(
        update={
            "sections": tuple(sections),
            "omitted": sum(section.omitted for section in sections),
            "attention": digest.attention if first else (),
            "part": label,
        }
    )


def carried(parts: Sequence[Digest]) -> list[int]:
    """The entry ids the parts carry, in order (each once when nothing was lost)."""
    return [item.entry_id for part in parts for section in part.sections for item in section.items]
