"""The fast path's dates are feedparser's: ``_date`` against ``_parse_date``, on RFC 822
dates it works out itself (any day, time and zone, real or not) and on shapes it hands on."""

from __future__ import annotations

import pytest
from feedparser.datetimes import _parse_date
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse.fast import _RFC822, _date

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ZONES = ("GMT", "UT", "UTC", "Z", "EST", "gmt", "+0000", "-0000", "+0530", "-0930", "+2400")


def _two(n: int) -> str:
    return f"{n:02d}"


rfc822_dates = st.builds(
    "{}{} {} {} {}:{}:{} {}".format,
    st.sampled_from(("", *(f"{d}, " for d in DAYS))),
    st.one_of(st.integers(0, 32).map(str), st.integers(0, 32).map(_two)),
    st.sampled_from(MONTHS),
    st.sampled_from(("0001", "1970", "2026", "2038", "9999", "0000")),
    st.integers(0, 25).map(_two),
    st.integers(0, 61).map(_two),
    st.integers(0, 61).map(_two),
    st.one_of(
        st.sampled_from(ZONES),
        st.builds("{}{}{}".format, st.sampled_from("+-"), st.integers(0, 99).map(_two),
                  st.integers(0, 99).map(_two)),
    ),
)  # fmt: skip


@settings(max_examples=4000, deadline=None)
@given(rfc822_dates)
def test_rfc822_dates_read_as_feedparser_reads_them(text: str) -> None:
    assert _date(text) == _parse_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Dec 2026 21:01:30 +0000",
        "6 Dec 2026 21:01:30 GMT",
        "Tue, 03 Feb 2026 01:02:03 -0530",
        "Thu, 31 Dec 2026 23:30:00 -0100",  # into the next year
        "Sat, 01 Jan 0001 00:30:00 +0100",  # before the first year: feedparser's handlers
        "Fri, 31 Dec 9999 23:59:59 -0100",  # after the last one
        "Sun, 30 Feb 2026 10:00:00 GMT",  # no such day
        "Sun, 06 Dec 2026 23:59:60 GMT",  # a leap second
    ],
)
def test_edge_dates_agree(text: str) -> None:
    assert _RFC822.fullmatch(text)
    assert _date(text) == _parse_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-06T21:01:30Z",
        "Sun, 06 Dec 26 21:01:30 GMT",  # a two-digit year
        "sun, 06 dec 2026 21:01:30 gmt",
        "Sun, 06 Dec 2026 21:01 GMT",  # no seconds
        "Sun, 06 Dec 2026 21:01:30 EST",
        "Sun, 06 Dec 2026 21:01:30 +05:30",
        " Sun, 06 Dec 2026 21:01:30 GMT",
        "Sun Dec  6 21:01:30 2026",
        "Sun, \u0660\u0666 Dec 2026 21:01:30 GMT",  # digits other than ASCII
        "",
    ],
)
def test_other_shapes_go_to_feedparser(text: str) -> None:
    assert not _RFC822.fullmatch(text)
    assert _date(text) == _parse_date(text)


def test_a_date_read_from_the_clock_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedparser fills a date without a year from today's: the fast path must not keep
    the first answer it got for such a text (a parser process runs for months)."""
    import time
    from typing import Any

    from feedparser.datetimes import iso8601

    first = _date("--03-12")
    assert first is not None
    later = time.gmtime(time.time() + 5 * 366 * 86400)

    class Later:
        """feedparser's ISO 8601 handler's clock, five years on (the rest of ``time``)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def gmtime(*_: object) -> time.struct_time:
            return later

    monkeypatch.setattr(iso8601, "time", Later())
    again = _date("--03-12")
    assert again is not None
    assert again.tm_year == later.tm_year != first.tm_year


def test_a_plain_date_is_read_once_and_kept() -> None:
    from monitor.parse.fast import _plain_date

    text = "Mon, 07 Dec 2026 10:11:12 +0100"
    assert _date(text) == _parse_date(text)
    hits = _plain_date.cache_info().hits
    assert _date(text) == _parse_date(text)
    assert _plain_date.cache_info().hits == hits + 1  # the kept answer
    assert _plain_date("--03-12") is None  # not kept: feedparser reads it every time
