"""The email parts: a golden plain-text part, and an HTML part fit for mail clients."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.digest.render import (
    TEXT_WIDTH,
    inline_template_css,
    render_digest,
    render_html,
    subject_line,
)
from tests.digest.samples import TIMEZONE, big_digest, sample_digest

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MONITOR_UPDATE_GOLDEN") == "1"  # rewrite the golden files on purpose


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; see {path}"


def test_text_part_matches_the_golden_file() -> None:
    check_golden("sample.txt", render_digest(sample_digest(), TIMEZONE, "[test]").text)


def test_text_part_of_a_limited_digest_matches_the_golden_file() -> None:
    check_golden("limited.txt", render_digest(big_digest(7, max_items=4), "UTC").text)


def test_text_part_is_wrapped_with_links_on_their_own_lines() -> None:
    text = render_digest(big_digest(40), TIMEZONE).text
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 40
    for line in text.splitlines():
        if "://" in line:
            assert re.fullmatch(r" +https?://\S+", line), line  # a link is alone on its line
        else:
            assert len(line) <= TEXT_WIDTH, line
    assert not re.search(r"&(amp|lt|gt|quot|#\d+);", text)  # plain text, not HTML
    assert "<update>" in text  # written as it is
    assert "**USMCA**" in text  # highlights


def test_subject_counts_and_cannot_carry_a_line_break() -> None:
    digest = sample_digest()
    assert subject_line(digest, "[test]") == "[test] desk: 3 new items"
    assert subject_line(sample_digest(max_items=2)) == "desk: 3 new items (2 shown)"
    hostile = digest.model_copy(update={"alert": "desk\r\nBcc: victim@example.org"})
    line = subject_line(hostile, "[x]\nX-Evil: 1")
    assert line == "[x] X-Evil: 1 desk Bcc: victim@example.org: 3 new items"
    assert "\r" not in line
    assert "\n" not in line


def test_render_html_is_the_same_standalone_document() -> None:
    digest = sample_digest()
    html = render_html(digest, TIMEZONE)
    assert html == render_digest(digest, TIMEZONE).html
    assert html.startswith("<!DOCTYPE html><html")
    assert html.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in html[:1024]  # where browsers look for it


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def test_html_is_built_for_mail_clients() -> None:
    html = render_digest(sample_digest(), TIMEZONE).html
    tags = parse(html)
    names = {tag for tag, _ in tags.tags}
    assert names <= {
        "html", "head", "meta", "title", "style", "body", "div", "table", "tbody", "tr", "td",
        "h1", "h2", "p", "a", "span", "mark",
    }  # fmt: skip
    # No remote anything: no images, style sheets, fonts or scripts.
    assert not re.search(r"<(img|link|script|iframe|object)\b|\bsrc=|url\(|@import", html, re.I)
    # The CSS is inlined: the only style sheet left is the @media block.
    (sheet,) = tags.styles
    assert re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", sheet).strip() == ""
    assert "prefers-color-scheme: dark" in sheet
    styled = {tag for tag, attrs in tags.tags if attrs.get("style")}
    assert {"body", "table", "td", "h1", "h2", "p", "a", "span", "mark"} <= styled
    # Dark-mode safe: declared, and every box paints its own background.
    metas = {attrs.get("name"): attrs.get("content") for tag, attrs in tags.tags if tag == "meta"}
    assert metas["color-scheme"] == "light dark"
    for tag, attrs in tags.tags:
        if tag in {"body", "table", "td"}:
            assert "background-color" in (attrs.get("style") or ""), (tag, attrs)
    # A 640 px column.
    assert any(
        "max-width:640px" in (attrs.get("style") or "") and attrs.get("width") == "640"
        for tag, attrs in tags.tags
        if tag == "table"
    )


def test_html_escapes_feed_text_and_highlights_hits() -> None:
    html = render_digest(sample_digest(), TIMEZONE).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;before&lt;/b&gt;" in html
    assert re.search(r"<mark [^>]*>USMCA</mark> review: &lt;script&gt;", html)
    assert re.search(r"<mark [^>]*>T-MEC</mark>", html)
    hrefs = [a.get("href") for tag, a in parse(html).tags if tag == "a"]
    assert hrefs == [
        "#watch-1",
        "#watch-2",
        "https://news.example/leaders",
        "https://news.example/usmca?utm_campaign=feed&id=7",
    ]  # the javascript: link of the third story is gone
    assert "https://news.example/usmca?utm_campaign=feed&amp;id=7" in html  # & escaped in href


def test_html_shows_why_and_also_and_more() -> None:
    html = render_digest(sample_digest(max_items=2), TIMEZONE).html
    assert "Also carried by Globe and Mail, Reuters" in html
    assert re.search(
        r'<span class="pill"[^>]*>canada-mexico</span> Sheinbaum, Canada, Mexico', html
    )
    assert "…and 1 more in usmca" in html
    assert "3 new items, 2 shown · 2026-11-21 04:00 EST" in html


def test_a_template_the_parser_would_rearrange_is_refused() -> None:
    with pytest.raises(ValueError, match="moved or dropped"):
        inline_template_css("<html><head><title>{% if x %}a{% endif %}</title></head></html>")


def test_template_inlining_keeps_jinja_tags_verbatim() -> None:
    source = (
        "<html><head><style>.x { color: #123456; }</style></head><body><table><tbody>"
        '{% for row in rows if row > 1 %}<tr><td class="x" title="{{ row ~ "&" }}">'
        "{{ row < 3 }}</td></tr>{% endfor %}</tbody></table></body></html>"
    )
    inlined = inline_template_css(source)
    assert '{% for row in rows if row > 1 %}<tr><td class="x" title="{{ row ~ "&" }}"' in inlined
    assert "{{ row < 3 }}</td></tr>{% endfor %}" in inlined
    assert 'style="color:#123456"' in inlined
