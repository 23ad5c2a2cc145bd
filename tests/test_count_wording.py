"""Counts people read say "1 feed", "2 feeds": the noun agrees with its count wherever one
can be 1 (a digest's feeds needing attention, a bad --pick, a JSON Feed's or a sitemap
index's notes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.channels.text import PLAIN_TEXT, compose
from monitor.digest.render import render_digest
from monitor.errors import ParseError, UsageError
from monitor.pipeline import FeedOutcome, PollSummary
from monitor.sources import parse_document
from monitor.sources.add import choose
from monitor.sources.discover import Candidate
from monitor.types import FeedNotice
from tests.digest.samples import TIMEZONE, sample_digest

URL = "https://src.example/feed"


@pytest.mark.parametrize(("failures", "said"), [(1, "1 failure"), (3, "3 failures")])
def test_a_feed_needing_attention_in_a_chat_message(failures: int, said: str) -> None:
    notice = FeedNotice(name="Wire", url="https://w.example/", failures=failures, last_error="x")
    digest = sample_digest().model_copy(update={"attention": (notice,)})
    message = compose(digest, TIMEZONE, PLAIN_TEXT, 100_000)
    assert f"Feeds needing attention: Wire ({said})" in message.text


@pytest.mark.parametrize(
    ("failures", "said"), [(1, "1 failed poll in a row"), (3, "3 failed polls in a row")]
)
def test_a_feed_needing_attention_in_an_email(failures: int, said: str) -> None:
    notice = FeedNotice(name="Wire", url="https://w.example/", failures=failures, last_error="x")
    rendered = render_digest(sample_digest().model_copy(update={"attention": (notice,)}), TIMEZONE)
    assert f"Wire: {said}" in rendered.text
    assert f"Wire: {said}" in rendered.html


def test_a_pick_beyond_the_only_candidate() -> None:
    only = Candidate(URL, "rss", "", "the address itself", True)
    with pytest.raises(UsageError) as caught:
        choose((only,), 2, print, None)
    assert str(caught.value).endswith("--pick 2: there is 1 candidate (1 to 1)")


def test_a_json_feed_whose_one_item_is_skipped() -> None:
    parsed = parse_document(
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [7]}', URL, "J"
    )
    assert parsed.entries == ()
    assert parsed.warning == "1 of 1 item skipped (not an object, or empty)"


def test_a_sitemap_index_of_one_sitemap() -> None:
    body = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://src.example/s0.xml</loc></sitemap></sitemapindex>"
    )
    with pytest.raises(ParseError) as caught:
        parse_document(body, URL, "S")
    assert caught.value.reason.startswith(
        "a sitemap index (it lists 1 sitemap: https://src.example/s0.xml), "
    )


def test_the_poll_cycle_log_line() -> None:
    start = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    one = FeedOutcome("https://a.example/", "updated", seen=3, new=1, matched=1, duplicates=1)
    alone = PollSummary((one,), start, start + timedelta(seconds=2))
    assert alone.line() == (
        "poll: 1 feed in 2.0s, 1 new entry, 1 matched, 1 duplicate, 0 unchanged, 0 failed"
    )
    other = FeedOutcome("https://b.example/", "updated", seen=3, new=2, matched=0, duplicates=1)
    both = PollSummary((one, other), start, start + timedelta(seconds=2))
    assert both.line() == (
        "poll: 2 feeds in 2.0s, 3 new entries, 1 matched, 2 duplicates, 0 unchanged, 0 failed"
    )
