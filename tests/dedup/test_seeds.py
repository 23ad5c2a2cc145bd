"""Reading known articles, and fingerprint files that carry no text."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.dedup.decide import decide
from monitor.dedup.features import fingerprint
from monitor.dedup.seeds import (
    Seed,
    fingerprint_seed,
    read_fingerprints,
    read_seeds,
    write_fingerprints,
)
from monitor.dedup.settings import DedupSettings
from monitor.errors import SeedError

BODY = " ".join(
    f"Paragraph {n} of an invented report on port inspections between Canada and Mexico, with details."
    for n in range(12)
)


def test_plain_text_drops_the_photo_caption_and_takes_the_title_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(
        f"Open this photo in gallery:\n\nA caption about a press conference\n\nPorts deal near\n\n{BODY}\n"
    )
    (seed,) = read_seeds(path)
    assert seed.title == "Ports deal near"
    assert seed.text.startswith("Paragraph 0")
    assert "caption" not in seed.text


def test_metadata_given_on_the_command_line_wins(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(BODY)
    (seed,) = read_seeds(path, title="Given title", url="https://x.example/a", source="Paper")
    assert (seed.title, seed.url, seed.source) == ("Given title", "https://x.example/a", "Paper")


def test_html_article_text(tmp_path: Path) -> None:
    path = tmp_path / "a.html"
    path.write_text(
        "<html><head><title>Site | Ports</title><script>var x=1;</script></head><body>"
        "<nav><p>Menu entry one two three four five six seven eight nine ten eleven</p></nav>"
        f"<article><h1>Ports deal near</h1><p>{BODY}</p><p>Second paragraph here.</p></article>"
        "<footer><p>Copyright notice</p></footer></body></html>"
    )
    (seed,) = read_seeds(path)
    assert seed.title == "Ports deal near"
    assert seed.text.startswith("Paragraph 0")
    assert "Menu entry" not in seed.text
    assert "Copyright" not in seed.text


def test_json_lines_and_their_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps(
            {"title": "One", "url": "https://x.example/1", "published": "2025-09-18", "text": BODY}
        )
        + "\n\n"
        + json.dumps({"title": "Two", "text": BODY + " more"})
        + "\n"
    )
    seeds = read_seeds(path)
    assert [s.title for s in seeds] == ["One", "Two"]
    assert seeds[0].published is not None
    assert seeds[0].published.isoformat() == "2025-09-18T00:00:00+00:00"
    path.write_text('{"title": "no text"}\n')
    with pytest.raises(SeedError, match=r"a\.jsonl line 1: expected an object with a text field"):
        read_seeds(path)


def test_too_short_to_recognise(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Title\n\nToo short a body.")
    with pytest.raises(SeedError, match="at least 20 words"):
        read_seeds(path)


def test_fingerprint_file_round_trip_recognises_copies_without_the_text(tmp_path: Path) -> None:
    seed = Seed("Ports deal near", BODY, "https://x.example/ports", None, "Paper")
    path = tmp_path / "seeds.json"
    assert write_fingerprints(path, [fingerprint_seed(seed)]) == 1
    assert write_fingerprints(path, [fingerprint_seed(seed)]) == 1  # merged by key
    assert "Paragraph 0" not in path.read_text()  # no text travels
    (loaded,) = read_fingerprints(path)
    assert loaded.features.shingles == seed.features().shingles
    copy = fingerprint(
        "Another headline", BODY.replace("Paragraph 3 of", "Part 3 of"), "https://y.example/z"
    )
    stored = replace(loaded.features, doc_id=1)  # the store gives it its entry id
    decision = decide(copy, [stored], DedupSettings())
    assert decision.is_duplicate
    assert decision.of_id == 1
    assert decision.signal == "near_duplicate"


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seeds.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(SeedError, match="not a monitor seed fingerprint file"):
        read_fingerprints(path)
