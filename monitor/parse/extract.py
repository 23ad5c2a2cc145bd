"""Article page HTML -> the article's plain text, with trafilatura.

trafilatura finds the main text of a news page (dropping navigation, related
links, comments and footers) and is imported on first use: start-up, and
processes that never read an article, do not pay for it. Extraction is CPU
work; callers run it off the event loop (:mod:`monitor.enrich` uses a thread).
"""

from __future__ import annotations

import logging
import re

from monitor.parse.limits import clip

_BLANK_LINES = re.compile(r"\n{3,}")


def extract_text(html: bytes, url: str, max_chars: int) -> str:
    """The article text of the page ``html`` fetched from ``url``, at most ``max_chars``
    characters (clipped with an ellipsis); empty when no article text was found."""
    if not html.strip():
        return ""
    import trafilatura

    # trafilatura logs each page it finds nothing in at ERROR; an empty result says it here.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    text = trafilatura.extract(
        html,
        url=url,
        output_format="txt",
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        with_metadata=False,
        deduplicate=True,
    )
    if not text:
        return ""
    return clip(_BLANK_LINES.sub("\n\n", text.strip()), max_chars)
