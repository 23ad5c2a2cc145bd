"""What `monitor` prints for a person: poll lines and exit codes, polite skips, config
paths, log formats, explain by guid, and the idle daemon saying what comes next."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from monitor.store.db import create_engine, current_revision
from testbed.daemon import DaemonProcess
from testbed.servers import HttpServer, Route
from tests.support.cli import monitor, monitor_on_terminal
from tests.support.feeds import Item, rss


def items(prefix: str = "n") -> list[Item]:
    now = datetime.now(UTC)
    return [
        Item(
            "USMCA joint review begins",
            f"https://news.example/{prefix}1",
            "Ottawa.",
            now,
            f"{prefix}-1",
        ),
        Item("Gardening tips", f"https://news.example/{prefix}2", "Tomatoes.", now, f"{prefix}-2"),
    ]


def test_poll_on_a_terminal_prints_each_result_once_and_no_log_glues_to_the_bar(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    good = http_server.add("/rss.xml", Route(body=rss(items())))
    broken = http_server.add("/broken.xml", Route(status=500, body=b"oops"))
    moved = http_server.add("/old.xml", Route(responder=lambda _: (301, {"Location": good}, b"")))
    config = write_config(db_url, [good, broken, moved])
    code, lines = monitor_on_terminal(config, "poll")
    screen = "\n".join(lines)
    assert code == 1, screen  # one feed of three failed
    assert screen.count("HTTP 500") == 1, screen
    assert f"  FAILED     Feed 1 ({broken}): HTTP 500 Internal Server Error" in lines, screen
    assert screen.count("poll: 3 feeds") == 1, screen
    # Feeds 0 and 2 serve the same items (2 by a redirect): one of them stores them first,
    # whichever finished first (they are polled side by side); the other finds them copies.
    results = sorted(
        line.split(": ", 1)[1]
        for line in lines
        if line.startswith(("  ok         Feed 0: ", "  ok         Feed 2: "))
    )
    assert results == [
        "2 items, 2 new, 1 matched, 0 duplicates",
        "2 items, 2 new, 1 matched, 1 duplicate",
    ], screen
    # The one log line left (the move) is printed above the bar, not glued to it.
    assert "moved permanently" in screen, screen
    # (the bar is "polling ━━…"; the message itself says "polling the new address")
    assert not [line for line in lines if "polling ━" in line and "moved" in line], screen
    assert next(line for line in lines if "moved" in line).startswith("20"), screen  # time first
    assert not [line for line in lines if line.lstrip().startswith("{")]  # text, not JSON


def test_logs_above_the_progress_bar_keep_the_format_of_every_log_line(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    good = http_server.add("/rss.xml", Route(body=rss(items())))
    moved = http_server.add("/old.xml", Route(responder=lambda _: (301, {"Location": good}, b"")))
    config = write_config(db_url, [moved])
    code, lines = monitor_on_terminal(config, "poll")
    assert code == 0, lines
    logged = [line for line in lines if "moved permanently" in line]
    assert len(logged) == 1, lines
    # The text format of every command (time, level, logger), not a second style of its own.
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} INFO +monitor\.", logged[0]), lines

    again = http_server.add("/old2.xml", Route(responder=lambda _: (301, {"Location": good}, b"")))
    config = write_config(db_url, [again])
    code, lines = monitor_on_terminal(config, "poll", env={"MONITOR_LOG_FORMAT": "json"})
    assert code == 0, lines
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert [entry["level"] for entry in logged] == ["info"], lines
    assert "moved permanently" in logged[0]["message"]


def test_poll_exit_codes_and_names_in_lines_and_logs(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    good = http_server.add("/rss.xml", Route(body=rss(items())))
    broken = http_server.add("/broken.xml", Route(status=500, body=b"oops"))
    assert monitor(write_config(db_url, [good]), "poll").returncode == 0
    some = monitor(write_config(db_url, [good, broken]), "poll")
    assert some.returncode == 1
    assert f"  FAILED     Feed 1 ({broken}): HTTP 500 Internal Server Error\n" in some.stdout
    assert "  unchanged  Feed 0\n" in some.stdout
    logged = [json.loads(line) for line in some.stderr.splitlines()]  # JSON off a terminal
    failure = next(line for line in logged if line["level"] == "warning")
    assert failure["message"] == f"feed Feed 1 ({broken}): HTTP 500 Internal Server Error"
    assert failure["feed"] == broken
    everything = monitor(write_config(db_url, [broken]), "poll")
    assert everything.returncode == 3
    assert "1 failed" in everything.stdout


def test_poll_skips_a_feed_that_asked_to_wait_or_is_gone_unless_forced(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    busy = http_server.add(
        "/busy.xml", Route(responder=lambda _: (429, {"Retry-After": "3600"}, b"slow down"))
    )
    gone = http_server.add("/gone.xml", Route(status=410, body=b"gone"))
    config = write_config(db_url, [busy, gone])
    first = monitor(config, "poll")
    assert first.returncode == 3
    assert "HTTP 429 Too Many Requests (the server asked to wait 3600s)" in first.stdout

    second = monitor(config, "poll")
    assert second.returncode == 0, second.stdout  # nothing polled, nothing failed
    assert f"  skipped    Feed 0 ({busy}): server asked to wait until " in second.stdout
    assert f"  skipped    Feed 1 ({gone}): gone (410)\n" in second.stdout
    assert "poll: 0 feeds" in second.stdout
    assert "2 skipped (--force polls them)" in second.stdout
    assert len(http_server.requests_to("/busy.xml")) == 1
    assert len(http_server.requests_to("/gone.xml")) == 1

    forced = monitor(config, "poll", "--force")
    assert forced.returncode == 3
    assert "skipped" not in forced.stdout
    assert len(http_server.requests_to("/busy.xml")) == 2
    assert len(http_server.requests_to("/gone.xml")) == 2


def test_a_relative_sqlite_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "monitor"
    folder.mkdir(parents=True)
    config = folder / "monitor.yaml"
    config.write_text("database: sqlite:///data/monitor.db\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    upgraded = monitor(config, "db", "upgrade", cwd=elsewhere, drop_env=("MONITOR_DATABASE_URL",))
    assert upgraded.returncode == 0, upgraded.stderr
    database = folder / "data" / "monitor.db"
    assert upgraded.stdout.startswith(f"sqlite:///{database}: at revision ")
    assert database.is_file()
    assert not (elsewhere / "data").exists()
    engine = create_engine(f"sqlite:///{database}")
    revision = current_revision(engine)
    engine.dispose()
    current = monitor(config, "db", "current", cwd=tmp_path, drop_env=("MONITOR_DATABASE_URL",))
    assert current.stdout.strip() == revision
    # The default, when the config names no database, follows the same rule.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "monitor.yaml").write_text("{}\n", encoding="utf-8")
    assert monitor(bare / "monitor.yaml", "db", "upgrade", cwd=elsewhere).returncode == 0
    assert (bare / "data" / "monitor.db").is_file()
    # A path in the environment is the shell's: relative to the current folder.
    env = monitor(
        config, "db", "upgrade", cwd=elsewhere, env={"MONITOR_DATABASE_URL": "sqlite:///env.db"}
    )
    assert env.returncode == 0, env.stderr
    assert (elsewhere / "env.db").is_file()


def test_logs_are_json_off_a_terminal_and_text_when_asked(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    config = write_config(db_url, [http_server.add("/rss.xml", Route(body=rss(items())))])
    for command in (("poll",), ("digest", "--send")):
        result = monitor(config, *command)
        lines = result.stderr.splitlines()
        assert lines, command
        assert all(json.loads(line)["message"] for line in lines), result.stderr
    text = monitor(config, "poll", env={"MONITOR_LOG_FORMAT": "text"})
    assert " INFO    monitor.pipeline: poll: 1 feed in" in text.stderr
    assert not text.stderr.startswith("{")
    configured = yaml.safe_load(config.read_text(encoding="utf-8"))
    configured["ops"] = {"log_format": "text"}
    config.write_text(yaml.safe_dump(configured), encoding="utf-8")
    assert " INFO    monitor.pipeline: poll: 1 feed in" in monitor(config, "poll").stderr
    forced = monitor(config, "poll", env={"MONITOR_LOG_FORMAT": "json"})
    assert json.loads(forced.stderr.splitlines()[-1])["logger"] == "monitor.pipeline"


def test_explain_takes_the_guid_as_the_feed_wrote_it(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    # An RSS guid is a permalink unless it says otherwise, so feed readers (and monitor)
    # resolve "12345" against the feed's address; the user copies "12345" from the feed.
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>USMCA review: numbered guid</title><guid>12345</guid>"
        b"<description>Ottawa.</description></item>"
        b'<item><title>Tagged guid</title><guid isPermaLink="false"> tag:news.example,2026:7 </guid>'
        b"<description>x</description></item>"
        b"</channel></rss>"
    )
    feed = http_server.add("/feeds/rss.xml", Route(body=body))
    config = write_config(db_url, [feed])
    assert monitor(config, "poll").returncode == 0
    numbered = monitor(config, "explain", "12345")
    assert numbered.returncode == 0, numbered.stderr
    assert ": USMCA review: numbered guid" in numbered.stdout
    tagged = monitor(config, "explain", " tag:news.example,2026:7 ")
    assert tagged.returncode == 0, tagged.stderr
    assert ": Tagged guid" in tagged.stdout
    by_id = monitor(config, "explain", "1")
    assert by_id.returncode == 0
    assert by_id.stdout.startswith("entry 1: ")
    missing = monitor(config, "explain", "99999")
    assert missing.returncode == 1
    assert "no stored entry with id, link or guid '99999'" in missing.stderr


def test_the_idle_daemon_says_when_the_next_poll_and_digest_are_due(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        db_url,
        [http_server.add("/rss.xml", Route(body=rss(items())))],
        replica={"tick": "1s"},
        ops={"port": 0},
    )
    daemon = DaemonProcess(config)
    try:
        daemon.wait_for_log(
            r"next poll now \(Feed 0\); next digest desk at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T \(in "
        )
        # After the poll the feed is due in about its interval (15 minutes).
        daemon.wait_for_log(
            r"next poll at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 1[4-7]m( \d+s)?\) \(Feed 0\); next digest desk at "
        )
    finally:
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.log
