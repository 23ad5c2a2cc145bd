"""Text from outside made safe for a terminal and for rich."""

from __future__ import annotations

import io

from rich.console import Console

from monitor.ops.terminal import one_line, plain, safe
from monitor.redact import redact_urls, shown_target, webhook_label


def test_control_characters_and_escape_sequences_are_stripped() -> None:
    text = "a\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 nul\x00 del\x7f bidi\u202e!"
    assert plain(text) == "ared link nul del bidi!"
    assert plain("two\nlines\tand a tab") == "two\nlines\tand a tab"
    assert one_line("two\nlines\r\n  here") == "two lines here"


def test_rich_markup_is_printed_as_written() -> None:
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=False, width=200).print(
        safe("[link=https://e.example]x[/link] [bold]b")
    )
    assert buffer.getvalue().strip() == "[link=https://e.example]x[/link] [bold]b"


def test_credentials_in_urls_are_masked() -> None:
    text = "GET https://user:pw@feeds.example/rss?page=2&api_key=abc123&Signature=zz#top failed"
    assert (
        redact_urls(text)
        == "GET https://***@feeds.example/rss?page=2&api_key=***&Signature=***#top failed"
    )
    hook = "https://discord.com/api/webhooks/123/tOkEn"
    assert "tOkEn" not in redact_urls(f"posting to {hook} failed")
    assert shown_target("webhook", hook) == webhook_label(hook)
    assert shown_target("webhook", webhook_label(hook)) == webhook_label(hook)
    assert shown_target("email", "a@example.org") == "a@example.org"
    assert webhook_label(hook) != webhook_label(hook + "x")  # targets stay distinguishable
