"""html_to_text's regex fast lane gives exactly what HTMLParser gives."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse.html import _TextCollector, _tidy_parts, html_to_text, normalize_space

TOKENS = [
    "<p>", "</p>", "<P>", "</P>", "<br>", "<br/>", "<br />", "<b>", "</b>", "<div class=x>",
    "</div>", '<a href="x?a=1&b=2">', "<a href='y>'>", "</a>", '<img src="i.png" alt="">',
    "<script>", "</script>", "<script>var a = 1;</script>", "<style>p {}</style>", "<style>",
    "<iframe>", "</iframe>", "<iframe/>", "<svg>", "</svg>", "<head>", "</head>", "<li>",
    "<!-- c -->", "<!-->", "<!-- a -- b -->", "<![CDATA[x]]>", "<!DOCTYPE html>", "<?pi?>",
    "&amp;", "&amp", "&nbsp;", "&#8217;", "&#x27;", "&bogus;", "&notit;", "&", "<", ">",
    "a", "word", " ", "\n", "\t", "é", "</p class=x>", "<p/>", "<hr>", "</br>",
]  # fmt: skip


def reference(fragment: str) -> str:
    collector = _TextCollector()
    collector.feed(fragment)
    collector.close()
    return normalize_space("".join(collector.parts))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_fast_lane_equals_htmlparser(tokens: list[str]) -> None:
    fragment = "".join(tokens)
    assert html_to_text(fragment) == reference(fragment)


def test_fast_lane_takes_tidy_fragments_and_leaves_the_rest() -> None:
    assert _tidy_parts("<p>One &amp; <b>two</b></p><!-- x --><br/>") == [
        "\n", "One & ", "two", "\n", "\n", "\n",
    ]  # fmt: skip
    for untidy in ("a < b", "<![CDATA[x]]>", "<script>a<b</script>", "</p class=x>", "<p"):
        assert _tidy_parts(untidy) is None


def _spaces_by_definition(text: str) -> str:
    """What normalize_space promises, spelled out: every run of spaces made one space,
    every line stripped, blank lines and runs of line breaks made one break."""
    text = re.sub(r"[ \t\r\f\v\u00a0\u200b]+", " ", text)
    lines = (line.strip() for line in text.split("\n"))
    return re.sub(r"\n\s*\n+", "\n", "\n".join(line for line in lines if line)).strip()


# Every kind of space Python knows (``str.isspace``), the zero-width one, and some text.
SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=SPACES + "ab.", max_size=40))
def test_normalize_space_does_what_it_says(text: str) -> None:
    assert normalize_space(text) == _spaces_by_definition(text)
