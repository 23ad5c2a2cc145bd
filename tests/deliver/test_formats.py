"""Webhook body formats: structure, platform limits, "and N more", hostile text.

Every format gets the same digests: the three-story sample, a 500-story digest
(limits must bite and be summarised), and digests of hostile titles.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from monitor.deliver.formats import FORMATS, discord, render_body, slack, standard, teams
from monitor.deliver.formats.fit import clip, fit_parts
from monitor.digest.build import build_digest
from monitor.types import Digest
from tests.conftest import FROZEN_NOW
from tests.digest.samples import TIMEZONE, WATCHES, big_digest, sample_digest, stored

HOSTILE_TITLES = [
    "<!channel> <!here> <@U123> &amp; <https://evil.example|click me> > quote",
    "@everyone @here <@123456789> <t:0:R> **bold** __u__ ~~s~~ ||spoiler|| `code`",
    "# Heading\n- list\n> quote [masked](https://evil.example) ![img](x)",
    '"}]} {"type": "TextBlock", "text": "[x](javascript:alert(1))"} \\ \u202eevil',
    "x" * 5000,
]


def hostile_digest() -> Digest:
    entries = [
        stored(
            n,
            title,
            f"USMCA summary of {title}",
            hours_ago=n,
            link="https://news.example/a_(b)|c>d<e [f] g&h=1",
            source=title[:40],
        )
        for n, title in enumerate(HOSTILE_TITLES, start=1)
    ]
    return build_digest("hostile", "desk", WATCHES, entries, FROZEN_NOW)


def many_watches_digest() -> Digest:
    watches = tuple(f"watch-{n:02d}-with-a-long-name-{'x' * 40}" for n in range(12))
    entries = [
        stored(n, f"USMCA story {n} " + "word " * 60, "USMCA " * 80, hours_ago=n,
               matches=((watches[n % 12], ("USMCA",)),))
        for n in range(1, 361)
    ]  # fmt: skip
    return build_digest("many", "desk", watches, entries, FROZEN_NOW)


DIGESTS = {
    "sample": sample_digest(),
    "limited": sample_digest(max_items=2),
    "big": big_digest(500),
    "big-limited": big_digest(500, max_items=200),
    "hostile": hostile_digest(),
    "many-watches": many_watches_digest(),
}


def serialized(body: dict[str, Any]) -> bytes:
    """As the webhook channel sends it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def test_registry_has_every_format_and_each_is_json() -> None:
    assert set(FORMATS) == {"standard", "slack", "discord", "teams"}
    for name in FORMATS:
        for digest in DIGESTS.values():
            body = render_body(name, digest, TIMEZONE)
            assert json.loads(serialized(body)) == body


# --- standard --------------------------------------------------------------------------


def test_standard_schema_is_valid_and_every_body_validates() -> None:
    schema = standard.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for name, digest in DIGESTS.items():
        errors = [e.message for e in validator.iter_errors(standard.body(digest, TIMEZONE))]
        assert errors == [], name


def test_standard_keeps_the_original_shape_and_adds_highlights() -> None:
    body = standard.body(sample_digest(), TIMEZONE)
    assert {"type", "id", "alert", "created_at", "item_count", "items"} <= set(body)
    assert body["type"] == "monitor.digest"
    assert body["item_count"] == len(body["items"]) == 3
    assert body["timezone"] == TIMEZONE
    first = body["items"][0]
    assert {
        "id",
        "watch",
        "title",
        "url",
        "source",
        "published",
        "summary",
        "also",
        "matches",
    } <= set(first)
    assert first["snippet"]["field"] == "summary"
    assert {"text": "Canada", "highlight": True} in first["snippet"]["parts"]
    assert {"text": "Sheinbaum", "highlight": True} in first["title_parts"]
    assert first["matches"][0]["terms"] == ["Sheinbaum", "Canada", "Mexico"]
    assert body["items"][2]["url"] is None  # the javascript: link


def test_standard_counts_what_max_items_left_out() -> None:
    body = standard.body(big_digest(500, max_items=200))
    assert (body["item_count"], body["omitted"]) == (200, 300)
    assert [(s["item_count"], s["omitted"]) for s in body["sections"]] == [(100, 150), (100, 150)]


def test_standard_of_a_digest_stored_before_snippets() -> None:
    digest = sample_digest()
    old_item = (
        digest.sections[0]
        .items[0]
        .model_copy(update={"snippet": (), "snippet_field": None, "title_parts": ()})
    )
    section = digest.sections[0].model_copy(update={"items": (old_item,)})
    body = standard.body(digest.model_copy(update={"sections": (section,)}))
    jsonschema.validate(body, standard.schema())
    assert body["items"][0]["snippet"] is None
    assert body["items"][0]["title_parts"] == [{"text": old_item.title, "highlight": False}]


# --- slack -----------------------------------------------------------------------------

SLACK_TOKEN = re.compile(
    r"<(https?://[^|<>\s]+\|[^<>]*|!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*)>"
)


def slack_texts(body: dict[str, Any]) -> list[str]:
    texts = []
    for block in body["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts.extend(element["text"] for element in block.get("elements", []))
    return texts


@pytest.mark.parametrize("name", list(DIGESTS))
def test_slack_respects_its_limits(name: str) -> None:
    body = slack.body(DIGESTS[name], TIMEZONE)
    assert len(body["blocks"]) <= slack.MAX_BLOCKS
    assert body["blocks"][0]["type"] == "header"
    assert len(body["blocks"][0]["text"]["text"]) <= slack.MAX_HEADER
    for text in slack_texts(body):
        assert len(text) <= slack.MAX_TEXT
    for block in body["blocks"]:
        mrkdwn = [block["text"]] if block["type"] == "section" else block.get("elements", [])
        assert all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in mrkdwn)
    assert body["unfurl_links"] is False


def shown_and_more(texts: list[str], item_marker: str) -> tuple[int, int]:
    shown = sum(1 for text in texts if text.startswith(item_marker))
    more = sum(int(n) for text in texts for n in re.findall(r"…and (\d+) more", text))
    return shown, more


def test_slack_summarises_what_does_not_fit() -> None:
    body = slack.body(big_digest(500), TIMEZONE)
    assert len(body["blocks"]) == slack.MAX_BLOCKS
    items = [t for t in slack_texts(body) if t.startswith("*<https://")]
    more = sum(int(n) for t in slack_texts(body) for n in re.findall(r"…and (\d+) more", t))
    assert len(items) + more == 500
    assert len(items) >= 40


def test_slack_escapes_feed_text() -> None:
    body = slack.body(hostile_digest(), TIMEZONE)
    for text in slack_texts(body):
        # Every <…> left is ours: a link or a date token. Feed text cannot open one.
        assert "<" not in SLACK_TOKEN.sub("", text), text
        assert ">" not in re.sub(r"^>", "", SLACK_TOKEN.sub("", text), flags=re.MULTILINE), text
    joined = "\n".join(slack_texts(body))
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &amp;amp;" in joined
    assert "<https://news.example/a_(b)%7Cc%3Ed%3Ce [f] g&amp;h=1|" not in joined  # space: encoded
    assert "<https://news.example/a_(b)%7Cc%3Ed%3Ce%20[f]%20g&amp;h=1|" in joined
    assert "\u202e" not in joined


# --- discord ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DIGESTS))
def test_discord_respects_its_limits(name: str) -> None:
    body = discord.body(DIGESTS[name], TIMEZONE)
    embeds = body["embeds"]
    assert 1 <= len(embeds) <= discord.MAX_EMBEDS
    assert len(body["content"]) <= discord.MAX_CONTENT
    total = 0
    for embed in embeds:
        assert len(embed["title"]) <= discord.MAX_TITLE
        assert len(embed["description"]) <= discord.MAX_DESCRIPTION
        assert 0 <= embed["color"] <= 0xFFFFFF
        total += len(embed["title"]) + len(embed["description"])
    assert total <= discord.MAX_EMBED_TOTAL
    assert body["allowed_mentions"] == {"parse": []}


def test_discord_summarises_what_does_not_fit() -> None:
    body = discord.body(big_digest(500), TIMEZONE)
    descriptions = "\n\n".join(e["description"] for e in body["embeds"]) + body["content"]
    shown = len(re.findall(r"^\*\*\[", descriptions, re.MULTILINE))
    more = sum(int(n) for n in re.findall(r"…and (\d+) more", descriptions))
    assert shown + more == 500
    assert shown >= 10


def test_discord_escapes_markdown_and_mentions() -> None:
    body = discord.body(hostile_digest(), TIMEZONE)
    description = "\n".join(e["description"] for e in body["embeds"])
    assert "\\@everyone \\@here \\<\\@123456789\\> \\<t\\:0\\:R\\>" in description
    assert (
        "\\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\`code\\`" in description
    )
    assert "\\[masked\\]\\(https\\:" in description
    assert "(https://news.example/a_%28b%29|c%3Ed%3Ce%20%5Bf%5D%20g&h=1)" in description
    # Outside our own markup (time tokens, link targets) no mention or code character is bare.
    ours = re.sub(r"<t:\d+:f>|\]\(https?://[^)\s]*\)", "", description)
    assert not re.search(r"(?<!\\)[@<`|~]", ours)
    assert "\u202e" not in description


# --- teams -----------------------------------------------------------------------------


def walk(node: Any) -> list[dict[str, Any]]:
    """Every object in a card, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk(value))
    return found


@pytest.mark.parametrize("name", list(DIGESTS))
def test_teams_is_an_adaptive_card_message_within_size(name: str) -> None:
    body = teams.body(DIGESTS[name], TIMEZONE)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert len(serialized(body)) <= 28_000
    objects = walk(card)
    # Feed text only ever goes into TextRuns, which Teams never parses as Markdown.
    assert {o["type"] for o in objects if "type" in o} <= {
        "AdaptiveCard", "RichTextBlock", "TextRun", "Container", "Action.OpenUrl",
    }  # fmt: skip
    for action in (o for o in objects if o.get("type") == "Action.OpenUrl"):
        assert action["url"].startswith(("https://", "http://"))


def test_teams_summarises_what_does_not_fit_and_highlights_hits() -> None:
    body = teams.body(big_digest(500), TIMEZONE)
    runs = [o for o in walk(body) if o.get("type") == "TextRun"]
    stories = [o for o in walk(body) if o.get("type") == "Container" and "selectAction" in o]
    more = sum(int(n) for run in runs for n in re.findall(r"…and (\d+) more", run["text"]))
    assert len(stories) + more == 500
    assert len(stories) >= 15
    assert any(run.get("highlight") is True and run["text"] == "USMCA" for run in runs)


def test_teams_keeps_hostile_text_as_plain_runs() -> None:
    body = teams.body(hostile_digest(), TIMEZONE)
    runs = [o["text"] for o in walk(body) if o.get("type") == "TextRun"]
    assert any(HOSTILE_TITLES[0] in text for text in runs)
    assert not any("\u202e" in text or "\n" in text for text in runs)


# --- fitting ---------------------------------------------------------------------------


def test_clip_never_splits_an_escape_and_prefers_words() -> None:
    assert clip("a & b", 10, slack.ESCAPES) == "a &amp; b"
    assert clip("&&&&", 11, slack.ESCAPES) == "&amp;&amp;…"
    assert clip("one two three four", 12) == "one two…"
    assert clip("x" * 50, 10) == "x" * 9 + "…"
    assert clip("anything", 0) == ""


def test_fit_parts_marks_hits_within_the_limit() -> None:
    parts = (("The ", False), ("USMCA", True), (" review & more text here", False))
    assert (
        fit_parts(parts, 100, slack.ESCAPES, ("*", "*"))
        == "The *USMCA* review &amp; more text here"
    )
    cut = fit_parts(parts, 20, slack.ESCAPES, ("*", "*"))
    assert len(cut) <= 20
    assert cut.startswith("The *USMCA*")
    assert cut.endswith("…")
