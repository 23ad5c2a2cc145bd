"""Deeply nested OPML: a clear error naming the file, never a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.opml import MAX_OPML_DEPTH, parse_opml
from tests.support.cli import monitor


def nested(levels: int) -> bytes:
    return (
        b"<opml><body>"
        + b'<outline text="f">' * levels
        + b'<outline text="deep" xmlUrl="https://deep.example/feed"/>'
        + b"</outline>" * levels
        + b"</body></opml>"
    )


def test_folders_nested_up_to_the_limit_are_tags() -> None:
    (found,) = parse_opml(nested(MAX_OPML_DEPTH - 1), "ok.opml")
    assert found.url == "https://deep.example/feed"
    assert found.tags == ("f",)


def test_deeper_nesting_is_refused_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=r"deep\.opml: outlines nested more than 50 levels"):
        parse_opml(nested(1200), "deep.opml")


@pytest.mark.parametrize("command", [("check",), ("status",)])
def test_commands_on_a_config_listing_it_report_it_without_a_traceback(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "deep.opml").write_bytes(nested(1200))
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: sqlite:///" + str(tmp_path / "m.db") + "\n"
        "feeds_opml: [deep.opml]\n"
        "watches: [{name: w, query: usmca}]\n"
        "alerts: [{name: a, watches: [w], webhook: {url: 'https://h.example/x', secret: '${TEST_WEBHOOK_SECRET}'}}]\n"
    )
    result = monitor(config, *command)
    assert result.returncode == 1
    assert "feeds_opml[0] (line 2)" in result.stderr
    assert f"{tmp_path / 'deep.opml'}: outlines nested more than 50 levels deep" in result.stderr
    assert "Traceback" not in result.stderr
    assert "RecursionError" not in result.stderr
