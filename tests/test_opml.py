"""OPML import and export: round trip, folders as tags, hostile documents refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.opml import Subscription, parse_opml, render_opml
from tests.conftest import WEBHOOK_SECRET
from tests.support.cli import monitor

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>My reader</title></head><body>
  <outline text="Trade" title="Trade">
    <outline type="rss" text="Wire &amp; Co" xmlUrl="https://wire.example/feed.xml" category="/agg"/>
    <outline text="Mexico">
      <outline type="rss" title="El Diario" xmlUrl="https://diario.example/rss"/>
    </outline>
  </outline>
  <outline type="rss" text="Top level" xmlUrl="https://top.example/atom"/>
  <outline type="rss" text="Repeat" xmlUrl="https://top.example/atom"/>
</body></opml>"""


def test_outlines_become_feeds_with_folders_as_tags() -> None:
    assert parse_opml(READER_EXPORT, "reader.opml") == [
        Subscription("https://wire.example/feed.xml", "Wire & Co", ("Trade", "agg")),
        Subscription("https://diario.example/rss", "El Diario", ("Trade", "Mexico")),
        Subscription("https://top.example/atom", "Top level", ()),
    ]


def test_render_then_parse_is_the_same_list() -> None:
    subs = parse_opml(READER_EXPORT, "reader.opml")
    assert parse_opml(render_opml(subs).encode(), "again.opml") == subs


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><opml><body/></opml>',
            "DTDs and entities",
        ),
        (b"<rss><channel/></rss>", "not an OPML document"),
        (b"<opml><body><outline", "not well-formed XML"),
    ],
)
def test_bad_opml_is_refused_with_a_reason(document: bytes, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_opml(document, "bad.opml")


def test_import_merges_into_the_configured_file_and_export_round_trips(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: sqlite:///" + str(tmp_path / "m.db") + "\n"
        "feeds:\n  - {url: 'https://top.example/atom', name: Mine, interval: 5m}\n"
        "feeds_opml: [subscriptions.opml]\n"
        "watches: [{name: w, query: usmca}]\n"
        "alerts: [{name: a, watches: [w], webhook: {url: 'https://h.example/x', secret: '${TEST_WEBHOOK_SECRET}'}}]\n"
    )
    (tmp_path / "reader.opml").write_bytes(READER_EXPORT)
    imported = monitor(config, "feeds", "import", str(tmp_path / "reader.opml"))
    assert imported.returncode == 0, imported.stderr
    assert "2 feeds added, 1 already configured; 2 feeds in the file" in imported.stdout
    loaded = load_config(config, env={"TEST_WEBHOOK_SECRET": WEBHOOK_SECRET})
    assert [f.url for f in loaded.feeds] == [
        "https://top.example/atom",
        "https://wire.example/feed.xml",
        "https://diario.example/rss",
    ]
    assert loaded.feeds[0].name == "Mine"  # the config's own entry wins
    again = monitor(config, "feeds", "import", str(tmp_path / "reader.opml"))
    assert "0 feeds added, 3 already configured" in again.stdout

    exported = monitor(config, "feeds", "export")
    assert exported.returncode == 0, exported.stderr
    assert [s.url for s in parse_opml(exported.stdout.encode(), "export")] == [
        f.url for f in loaded.feeds
    ]


def test_a_missing_file_is_named_not_a_traceback(tmp_path: Path) -> None:
    result = monitor(None, "rules", "test", "usmca", "--file", str(tmp_path / "nope.txt"))
    assert result.returncode == 2  # bad usage; 1 would read as "no match"
    assert f"cannot read {tmp_path / 'nope.txt'}: No such file or directory" in result.stderr
    assert "configuration" not in result.stderr
    assert "Traceback" not in result.stderr
