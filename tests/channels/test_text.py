"""The push and chat channels' text (monitor.channels.text): escaping, mentions, clipping."""

from __future__ import annotations

from html.parser import HTMLParser

from monitor.channels import text
from monitor.channels.text import PLAIN_TEXT, TELEGRAM_HTML, WORD_JOINER, compose
from monitor.digest.split import carried, split_digest
from tests.deliver.test_formats import HOSTILE_TITLES, hostile_digest
from tests.digest.samples import TIMEZONE, big_digest, sample_digest


class _Tags(HTMLParser):
    """Every tag of a Telegram text, and whether each one closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.opened: list[str] = []
        self.seen: set[str] = set()
        self.hrefs: list[str] = []
        self.balanced = True
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.opened.append(tag)
        self.seen.add(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_endtag(self, tag: str) -> None:
        if not self.opened or self.opened.pop() != tag:
            self.balanced = False

    def handle_data(self, data: str) -> None:
        self.text += data


def parsed(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    return tags


def test_telegram_html_lets_no_feed_markup_through() -> None:
    message = compose(hostile_digest(), TIMEZONE, TELEGRAM_HTML, 100_000, with_title=True)
    tags = parsed(message.text)
    assert tags.balanced
    assert not tags.opened
    assert tags.seen <= {"b", "i", "a"}  # only what the layout writes
    assert all(href.startswith("https://news.example/") for href in tags.hrefs)
    assert all('"' not in href and "<" not in href for href in tags.hrefs)
    # The feed's text shows as written (after Telegram decodes the entities)...
    assert "<!channel> <!here>" in tags.text.replace(WORD_JOINER, "")
    assert "&amp; <https://evil.example|click me>" in tags.text
    # ...and no mention survives.
    for mention in ("@everyone", "@here", "<@123456789>"):
        assert mention not in tags.text
    assert "@" + WORD_JOINER + "everyone" in tags.text


def test_plain_text_has_no_mentions_and_keeps_the_words() -> None:
    message = compose(hostile_digest(), TIMEZONE, PLAIN_TEXT, 100_000)
    assert "@everyone" not in message.text
    assert "<!channel>" not in message.text
    assert "<@U123>" not in message.text
    assert message.text.replace(WORD_JOINER, "").count("@everyone") >= 1  # still readable
    # Links on their own lines, with nothing a service could take for markup.
    assert "\nhttps://news.example/a_(b)|c%3Ed%3Ce%20[f]%20g&h=1" in message.text
    assert message.title == "desk: 5 new items"


def test_a_clipped_title_never_splits_an_escape() -> None:
    digest = hostile_digest()
    message = compose(digest, TIMEZONE, TELEGRAM_HTML, 100_000, with_title=True)
    long_title = HOSTILE_TITLES[-1]
    assert long_title not in message.text  # 5,000 characters: clipped
    assert "x" * (text.TITLE_CHARS - 30) in message.text
    for line in message.text.splitlines():
        # An entity is whole wherever a cut fell.
        assert not line.rstrip("…").endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
    assert parsed(message.text).balanced


def test_a_digest_too_long_for_one_message_counts_what_is_left_out() -> None:
    digest = big_digest(200)
    message = compose(digest, TIMEZONE, TELEGRAM_HTML, 4096, with_title=True)
    assert len(message.text) <= 4096
    assert message.left_out > 0
    shown = message.text.count("<b><a href=")
    assert shown + message.left_out == digest.item_count
    assert "more in" in message.text
    assert parsed(message.text).balanced


def test_split_by_the_message_limit_carries_every_story_once() -> None:
    digest = big_digest(120)

    def fits(part: object) -> bool:
        composed = compose(part, TIMEZONE, TELEGRAM_HTML, 4096, with_title=True)  # type: ignore[arg-type]
        return composed.left_out == 0 and len(composed.text) <= 4096

    parts = split_digest(digest, fits)
    assert len(parts) > 1
    assert sorted(carried(parts)) == sorted(carried([digest]))
    for part in parts:
        composed = compose(part, TIMEZONE, TELEGRAM_HTML, 4096, with_title=True)
        assert composed.left_out == 0
        assert len(composed.text) <= 4096
        assert f"part {part.part}" in composed.text


def test_bytes_are_the_measure_when_asked() -> None:
    wide = sample_digest()

    def utf8(value: str) -> int:
        return len(value.encode())

    message = compose(wide, TIMEZONE, PLAIN_TEXT, 1_000, utf8)
    assert utf8(message.text) <= 1_000
    # The first story always goes in: a part carries at least one.
    assert message.left_out < wide.item_count
