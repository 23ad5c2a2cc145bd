"""Known articles and near-duplicates end to end: feed server, poll, SMTP digest, explain.

A local feed serves near-copies of both baseline articles (new headlines, tracking
links, another site), trimmed copies of them, and one genuinely new story on the same
topic. Only the new story may reach the mail; `monitor explain` names the baseline
article behind each suppressed copy. The baseline is recognised from the shipped
fingerprints (config/seeds.json) and, in the second test, from the full texts imported
with `monitor seeds import`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from testbed.servers import HttpServer, Route, SmtpServer
from tests.conftest import REPO, SHARED
from tests.support.cli import monitor
from tests.support.feeds import Item, rss

SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason="../shared/seeds is absent (CI always has it)"
)

NEW_STORY = (
    "Canadian and Mexican negotiators agreed on Tuesday to set up a joint working group on "
    "critical minerals supply chains, officials in Ottawa said, with a first meeting planned in "
    "Monterrey before the end of the year. The group will compare permitting rules and look at "
    "shared processing capacity for lithium and copper, according to a statement from both "
    "governments. Business groups on both sides welcomed the plan but asked for a timetable."
)


def paragraphs(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", text) if b.strip()]
    if blocks and blocks[0].lower().startswith("open this photo"):
        blocks = blocks[2:]  # the photo marker and its caption are not the article
    return [b for b in blocks if len(b.split()) > 12]  # body paragraphs, not datelines


def serve_copies(http_server: HttpServer) -> str:
    now = datetime.now(UTC)
    globe, times = (paragraphs(p) for p in sorted(SEEDS.glob("*.txt")))
    items = [
        # A wire-style rewrite: new headline, tracking link, the first paragraphs only.
        Item(
            "Canada's top ministers fly to Mexico after tariff deadline passes",
            "https://wire.example/2025/08/ministers-mexico?utm_source=rss&utm_medium=feed",
            "\n\n".join(globe[:4]),
            now - timedelta(hours=2),
            "wire-1",
        ),
        # A trimmed copy of the other: most paragraphs, one cut, another headline.
        Item(
            "Carney, Sheinbaum to talk trade as Washington looms",
            "https://regional.example/news/carney-sheinbaum?fbclid=xyz",
            "\n\n".join(times[:3] + times[4:10]),
            now - timedelta(hours=1),
            "regional-7",
        ),
        # A summary-only item of the first: headline and two sentences.
        Item(
            "Champagne, Anand head south",
            "https://m.aggregator.example/a/123?ocid=feed",
            " ".join(re.split(r"(?<=[.!?])\s+", globe[0])[:2]),
            now - timedelta(minutes=30),
            "agg-123",
        ),
        Item(
            "Canada and Mexico form critical minerals working group",
            "https://wire.example/2025/11/minerals",
            NEW_STORY,
            now - timedelta(minutes=10),
            "wire-2",
        ),
    ]
    return http_server.add("/copies.xml", Route(body=rss(items)))


# The summary-only copy of the Globe article names neither country's pairing nor the
# agreement, so it matches no watch: under ``dedup.index_unmatched: false`` (the default)
# it is compared with nothing, since it could reach no digest whatever it copies.
UNMATCHED_COPY = "agg-123"
COPIES = {
    "wire-1": "https://wire.example/2025/08/ministers-mexico?utm_source=rss&utm_medium=feed",
    "regional-7": "https://regional.example/news/carney-sheinbaum?fbclid=xyz",
    "agg-123": "https://m.aggregator.example/a/123?ocid=feed",
}


def run_and_check(config: Path, smtp_server: SmtpServer, index_unmatched: bool) -> None:
    polled = monitor(config, "poll")
    assert polled.returncode == 0, polled.stderr
    assert "4 items, 4 new" in polled.stdout
    assert f"{3 if index_unmatched else 2} duplicates" in polled.stderr
    sent = monitor(config, "digest", "--send")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (message,) = smtp_server.wait_for(1)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Canada and Mexico form critical minerals working group" in text
    for copy in ("fly to Mexico", "Carney, Sheinbaum to talk trade", "Champagne, Anand head south"):
        assert copy not in text
    assert message["Subject"].endswith("desk: 1 new item")

    explained = {guid: monitor(config, "explain", link).stdout for guid, link in COPIES.items()}
    assert "suppressed as a copy of" in explained["wire-1"]
    assert "The Globe and Mail" in explained["wire-1"]
    assert "The New York Times" in explained["regional-7"]
    unmatched = explained.pop(UNMATCHED_COPY)
    assert "matched no watch" in unmatched
    if index_unmatched:
        assert "The Globe and Mail" in unmatched
        explained[UNMATCHED_COPY] = unmatched
    else:
        assert "not compared with known articles" in unmatched, unmatched
        assert "original" not in unmatched
    for output in explained.values():
        assert re.search(r"signal (near_duplicate|text_hash), score \d\.\d\d: ", output), output
    new = monitor(config, "explain", "https://wire.example/2025/11/minerals").stdout
    assert "original (no duplicate of anything known)" in new


@pytest.mark.parametrize("index_unmatched", [False, True], ids=["default", "index_unmatched"])
def test_shipped_fingerprints_suppress_copies_of_the_baseline(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    index_unmatched: bool,
) -> None:
    feed = serve_copies(http_server)
    config = write_config(
        db_url,
        [feed],
        smtp_port=smtp_server.port,
        seeds=[str(REPO / "config" / "seeds.json")],
        dedup={"index_unmatched": index_unmatched},
    )
    listed = monitor(config, "seeds", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("[fingerprint only]") == 2
    run_and_check(config, smtp_server, index_unmatched)


@pytest.mark.parametrize("index_unmatched", [False, True], ids=["default", "index_unmatched"])
def test_imported_full_texts_give_the_same_result(
    db_url: str,
    http_server: HttpServer,
    smtp_server: SmtpServer,
    write_config: Callable[..., Path],
    index_unmatched: bool,
) -> None:
    feed = serve_copies(http_server)
    config = write_config(
        db_url, [feed], smtp_port=smtp_server.port, dedup={"index_unmatched": index_unmatched}
    )
    globe, times = sorted(SEEDS.glob("*.txt"))
    imported = monitor(config, "seeds", "import", str(globe), "--source", "The Globe and Mail")
    assert imported.returncode == 0, imported.stderr
    imported = monitor(
        config,
        "seeds",
        "import",
        str(times),
        "--source",
        "The New York Times",
        "--published",
        "2025-09-18",
    )
    assert imported.returncode == 0, imported.stderr
    assert monitor(config, "seeds", "import", str(times)).stdout.endswith("already known\n")
    assert monitor(config, "seeds", "list").stdout.count("[text]") == 2
    run_and_check(config, smtp_server, index_unmatched)
