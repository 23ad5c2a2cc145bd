"""Property tests: whatever a feed or a config puts in a digest, the output stays safe.

Hostile titles, summaries, sources and links (HTML and JS injection, CR/LF,
bidi controls, very long words) go through the real build and render steps
and the real email message builder.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import EmailChannel, SmtpConfig
from monitor.deliver.email import build_message
from monitor.digest.build import build_digest
from monitor.digest.render import TEXT_WIDTH, render_digest
from monitor.types import Digest
from tests.conftest import FROZEN_NOW
from tests.digest.samples import WATCHES, stored

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    "</td></tr></table><iframe src=//evil.example>",
    "<!-- comment --><style>body{display:none}</style>",
    "{{ 7*7 }} {% raw %}",
    "&lt;script&gt; &amp; &#60;script&#62;",
    "\r\nBcc: victim@example.org\r\n",
    "line\nbreak\rreturn\x0bvt\x0cff\x85nel\u2028ls\u2029ps",
    "\u202eevil\u202c \u2066iso\u2069 \u200fRLM",
    "x" * 500,
    "USMCA",
    "مرحبا USMCA שלום",
    "\x00\x1b[31mred\x1b[0m",
]
hostile_text = st.one_of(
    st.sampled_from(ATTACKS),
    st.lists(st.sampled_from(ATTACKS), min_size=1, max_size=4).map(" ".join),
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from("<>&\"'/=:;\r\n\t \u202e\u2066USMCAx"), max_size=120),
)
hostile_link = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox(1)",
            'https://news.example/"><script>alert(1)</script>',
            "https://news.example/a b\r\nX-Injected: 1",
            "https://news.example/ok?a=1&b=<2>",
        ]
    ),
    st.text(max_size=60),
)


@st.composite
def hostile_digests(draw: st.DrawFn) -> Digest:
    entries = [
        stored(
            n,
            draw(hostile_text),
            draw(hostile_text),
            content=draw(st.sampled_from(["", "USMCA in the content"])),
            link=draw(hostile_link),
            source=draw(hostile_text),
            hours_ago=draw(st.one_of(st.none(), st.floats(0, 1000))),
            matches=((draw(st.sampled_from(WATCHES)), ("USMCA", "<", "\r\n", "x")),),
        )
        for n in range(1, draw(st.integers(1, 4)) + 1)
    ]
    digest = build_digest(
        "20261121T090000-feedface", "desk", WATCHES, entries, FROZEN_NOW, max_items=3
    )
    also = tuple(draw(st.lists(hostile_text, max_size=2)))
    first = digest.sections[0]
    item = first.items[0].model_copy(update={"also": also})
    first = first.model_copy(update={"items": (item, *first.items[1:])})
    return digest.model_copy(update={"sections": (first, *digest.sections[1:])})


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "div", "table", "tbody", "tr", "td",
    "h1", "h2", "p", "a", "span", "mark",
}  # fmt: skip
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


class Audit(HTMLParser):
    """Collects what a browser would treat as markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.handlers: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name == "href":
                self.hrefs.append(value or "")

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


settings.register_profile(
    "digest",
    max_examples=int(os.environ.get("DIGEST_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(settings.get_profile("digest"))
@given(hostile_digests())
def test_html_part_has_no_markup_from_feeds(digest: Digest) -> None:
    html = render_digest(digest, "America/Toronto").html
    assert not re.search(r"<script", html, re.IGNORECASE)
    audit = Audit()
    audit.feed(html)
    audit.close()
    assert set(audit.tags) <= ALLOWED_TAGS
    assert audit.tags.count("style") == 1
    assert audit.handlers == []
    assert audit.comments == []
    for href in audit.hrefs:
        assert re.match(r"(https?://|#watch-\d+$)", href, re.IGNORECASE), href
        assert not re.search(r"\s", href)
    assert not BIDI.search(html)


@settings(settings.get_profile("digest"))
@given(hostile_digests())
def test_text_part_stays_plain_and_wrapped(digest: Digest) -> None:
    text = render_digest(digest, "America/Mexico_City").text
    assert "\r" not in text
    assert not BIDI.search(text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    for line in text.splitlines():
        if re.fullmatch(r" +https?://\S+", line):
            continue  # a link, alone on its line, never wrapped
        assert len(line) <= TEXT_WIDTH, line


header_text = st.one_of(st.sampled_from(ATTACKS), st.text(max_size=80))


@settings(settings.get_profile("digest"))
@given(hostile_digests(), header_text, header_text)
def test_subject_is_one_header_that_parses_back(digest: Digest, alert: str, prefix: str) -> None:
    digest = digest.model_copy(update={"alert": alert or "desk"})
    rendered = render_digest(digest, "UTC", prefix)
    assert "\r" not in rendered.subject
    assert "\n" not in rendered.subject
    channel = EmailChannel(to=("analyst@example.org",), subject_prefix=prefix)
    smtp = SmtpConfig(sender="monitor@example.org")
    message = build_message(digest, rendered, channel, smtp)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    # One Subject header carrying the same text. Compared without whitespace: Python's
    # folder may put the whole value on a continuation line (unfolding then leaves a space
    # in front), and RFC 2047 drops the space between two adjacent encoded words.
    (subject,) = parsed.get_all("Subject", [])
    assert re.sub(r"\s", "", subject) == re.sub(r"\s", "", rendered.subject)
    assert sorted(parsed.keys()) == sorted(message.keys())  # nothing injected
    assert parsed.get_all("Bcc") is None
    assert parsed.get_content_type() == "multipart/alternative"
