"""Render a digest as email parts and a subject line.

Both parts are Jinja2 templates over :func:`monitor.digest.view.digest_view`,
which has already cleaned every feed string (one line, no controls, no bidi
overrides) and kept only web links.

**HTML** (``templates/digest.html``) is written the way mail clients need it:
table layout, a 640 px column, no remote anything (no images, fonts or style
sheets), explicit background and text colours on every box so a client that
inverts colours for dark mode still gets readable contrast, and a
``prefers-color-scheme: dark`` block for the clients that honour it. The
template keeps its styles in one ``<style>`` block; css-inline copies them
into ``style`` attributes because Gmail and Outlook drop or ignore style
sheets in many configurations. Only the ``@media`` rules stay in the block.

The inlining is done **once, on the template source**, not on each rendered
message: Jinja tags are swapped for placeholders the HTML parser leaves alone
(comments for statements, private-use characters for expressions), the
inliner runs, the tags are put back, and Jinja compiles the result. So feed
text never passes through the inliner's parser and serializer: it is escaped
by Jinja's autoescaping, exactly once, where it is written, and the inliner
costs nothing per digest.

**Plain text** (``templates/digest.txt``, no autoescaping: it is not HTML)
is wrapped at 76 columns, every link on a line of its own (never wrapped, so
it stays clickable), and matched words in the snippet shown ``**like this**``,
the convention most readers know from Markdown. Titles are written as they
are, unmarked, so a title can be searched for and copied whole.

The subject is built from the alert's name and the counts only, never from a
feed string, and cleaned again: it can never carry CR/LF into a header.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import css_inline
import jinja2

from monitor.digest.view import Part, Reason, clean, digest_view, plural
from monitor.types import Digest

TEXT_WIDTH = 76  # RFC 5322 recommends lines of at most 78 characters; 76 leaves quoting room
TEXT_MARK = "**"  # how a highlighted word is shown in the plain-text part: **USMCA**

_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
# Private-use code points: never in a template, kept verbatim by the HTML parser in text
# and attribute values alike.
_OPEN, _CLOSE = "\ue000", "\ue001"
_STATEMENT_MARK = re.compile(r"<!--jinja-statement-(\d+)-->")
_EXPRESSION_MARK = re.compile(_OPEN + r"(\d+)" + _CLOSE)


def inline_template_css(source: str) -> str:
    """``source`` (an HTML Jinja template) with its ``<style>`` rules moved into ``style``.

    Jinja statements become HTML comments, which the parser keeps in place
    even between table rows, and expressions become private-use markers,
    which it keeps inside text and attribute values; both are restored after
    inlining. The template must be well-formed HTML apart from its tags:
    explicit ``<tbody>``, no tag opened in one branch of an ``if`` and closed
    in another. A template the parser had to rearrange is refused.
    """
    source = _COMMENT.sub("", source)
    statements: list[str] = []
    expressions: list[str] = []

    def hide(store: list[str], fmt: str, found: re.Match[str]) -> str:
        store.append(found.group())
        return fmt.format(len(store) - 1)

    hidden = _STATEMENT.sub(partial(hide, statements, "<!--jinja-statement-{}-->"), source)
    hidden = _EXPRESSION.sub(partial(hide, expressions, _OPEN + "{}" + _CLOSE), hidden)
    inliner = css_inline.CSSInliner(
        keep_at_rules=True,  # the dark-mode @media block cannot be inlined; it stays in <style>
        load_remote_stylesheets=False,  # nothing remote, ever
        minify_css=True,  # "a:b;c:d": every byte counts, Gmail clips messages over 102 KB
    )
    inlined = _style_last(inliner.inline(hidden))
    restored_statements = [int(n) for n in _STATEMENT_MARK.findall(inlined)]
    restored_expressions = [int(n) for n in _EXPRESSION_MARK.findall(inlined)]
    if restored_statements != list(range(len(statements))) or restored_expressions != list(
        range(len(expressions))
    ):
        raise ValueError("the HTML parser moved or dropped template tags; fix the template")
    inlined = _STATEMENT_MARK.sub(lambda found: statements[int(found.group(1))], inlined)
    return _EXPRESSION_MARK.sub(lambda found: expressions[int(found.group(1))], inlined)


_LEADING_STYLE = re.compile(r"<head>(<style>.*?</style>)(.*?)</head>", re.DOTALL)


def _style_last(document: str) -> str:
    # The inliner writes the kept @media block first in <head>; moved to the end of it,
    # <meta charset> stays within the first 1024 bytes, where browsers look for it.
    return _LEADING_STYLE.sub(r"<head>\2\1\n</head>", document, count=1)


class _InliningLoader(jinja2.BaseLoader):
    """The package's templates, ``.html`` ones with their CSS inlined at load time."""

    def __init__(self) -> None:
        self._package = jinja2.PackageLoader("monitor.digest", "templates")

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self._package.get_source(environment, template)
        if template.endswith(".html"):
            source = inline_template_css(source)
        return source, filename, uptodate


def wrap(text: str, indent: int = 0, first: str | None = None) -> str:
    """``text`` wrapped at :data:`TEXT_WIDTH`, indented; ``first`` starts the first line."""
    lead = " " * indent
    return textwrap.fill(
        text,
        width=TEXT_WIDTH,
        initial_indent=lead if first is None else first,
        subsequent_indent=lead,
        break_long_words=True,  # a 300-character "word" must not run off the screen
        break_on_hyphens=False,  # "T-MEC" and "Canada-Mexico" stay whole
    )


def marked_text(parts: tuple[Part, ...]) -> str:
    """Parts as plain text, highlighted ones between :data:`TEXT_MARK`."""
    return "".join(f"{TEXT_MARK}{text}{TEXT_MARK}" if hit else text for text, hit in parts)


def reason_text(reason: Reason) -> str:
    """``usmca (USMCA, CUSMA)``: a watch and the terms that matched."""
    return f"{reason.watch} ({', '.join(reason.terms)})" if reason.terms else reason.watch


_env = jinja2.Environment(
    loader=_InliningLoader(),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["wrap"] = wrap
_env.filters["marked_text"] = marked_text
_env.filters["reason_text"] = reason_text
_env.globals["mark"] = TEXT_MARK


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """A digest ready for a channel."""

    subject: str
    """One line, no CR/LF: safe as an email header."""
    text: str
    """The plain-text part."""
    html: str
    """The HTML part: a whole standalone document (also what a browser preview shows)."""


def subject_line(digest: Digest, prefix: str = "") -> str:
    """``[prefix] alert: N new items``, one line whatever the alert name or prefix hold."""
    count = plural(digest.total_count, "new item")
    shown = f" ({digest.item_count} shown)" if digest.omitted else ""
    part = f" (part {digest.part})" if digest.part else ""
    return clean(f"{prefix} {digest.alert}: {count}{shown}{part}")


def render_digest(
    digest: Digest, timezone: str = "UTC", subject_prefix: str = ""
) -> RenderedDigest:
    """Subject, plain text and HTML of ``digest``, times shown in ``timezone``."""
    context = {"view": digest_view(digest, timezone)}
    return RenderedDigest(
        subject=subject_line(digest, subject_prefix),
        text=_env.get_template("digest.txt").render(context),
        html=_env.get_template("digest.html").render(context),
    )


def render_html(digest: Digest, timezone: str = "UTC") -> str:
    """The HTML digest as a standalone document, e.g. for ``monitor digest --preview --html``."""
    return _env.get_template("digest.html").render(view=digest_view(digest, timezone))
