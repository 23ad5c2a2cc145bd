"""Errors a user meets, as the real `monitor` command reports them: one or two lines on
stderr naming what is wrong and where, no traceback; exit 1 for a problem, 2 for bad usage."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.store.db import create_engine, upgrade
from testbed.servers import HttpServer, Route
from tests.support.cli import monitor
from tests.support.feeds import Item, rss


def assert_short_error(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert len(errors[0]) < 400, errors[0]
    for part in parts:
        assert part in errors[0], (part, errors[0])


def config_file(tmp_path: Path, **data: object) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["proc", "under-a-file"])
def test_a_sqlite_folder_that_cannot_be_created_is_named(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    folder = "/proc/monitor-test" if where == "proc" else str(tmp_path / "a-file" / "data")
    config = config_file(tmp_path, database=f"sqlite:///{folder}/monitor.db")
    for command in (("db", "current"), ("poll",), ("status",)):
        result = monitor(config, *command)
        assert_short_error(
            result, 1, f"cannot create the folder {folder} for the SQLite database {folder}/"
        )
    checked = monitor(config, "check")
    assert_short_error(checked, 1, f"cannot create the SQLite database {folder}/monitor.db")


def test_a_read_only_database_is_named_without_the_sql(tmp_path: Path) -> None:
    database = tmp_path / "monitor.db"
    engine = create_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    # Opened read-only by SQLite itself: file permissions do not stop root, who runs CI.
    config = config_file(
        tmp_path,
        database=f"sqlite:///file:{database}?mode=ro&uri=true",
        feeds=[{"url": "http://127.0.0.1:9/feed.xml", "name": "Closed"}],
    )
    result = monitor(config, "poll")
    assert_short_error(
        result, 1, f"cannot write to the SQLite database {database}", "it is read-only"
    )
    assert "[SQL" not in result.stderr
    assert "parameters" not in result.stderr
    assert "sqlalche.me" not in result.stderr


def test_a_bad_log_level_is_bad_usage(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    flag = monitor(config, "--log-level", "LOUD", "check")
    assert flag.returncode == 2
    assert "'LOUD' is not a log level; use one of DEBUG, INFO, WARNING, ERROR" in flag.stderr
    assert "Traceback" not in flag.stderr
    after = monitor(config, "check", "--log-level", "loud")
    assert after.returncode == 2
    assert "is not a log level" in after.stderr
    env = monitor(config, "check", env={"MONITOR_LOG_LEVEL": "verbose"})
    assert_short_error(
        env, 2, "MONITOR_LOG_LEVEL='verbose' is not a log level", "DEBUG, INFO, WARNING, ERROR"
    )
    form = monitor(config, "check", env={"MONITOR_LOG_FORMAT": "fancy"})
    assert_short_error(form, 2, "MONITOR_LOG_FORMAT='fancy'", "auto, json, text")
    assert monitor(config, "check", "--log-level", "debug").returncode == 0


def test_a_second_daemon_on_the_ops_port_is_told_which_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = config_file(
            tmp_path, database=f"sqlite:///{tmp_path / 'm.db'}", ops={"port": port}
        )
        result = monitor(config, "run", timeout=60)
    assert_short_error(
        result,
        1,
        f"cannot serve the ops endpoint on 127.0.0.1:{port}",
        "Address already in use",
        "another `monitor run`",
        "ops.port",
    )


@pytest.fixture
def polled(db_url: str, http_server: HttpServer, write_config: Callable[..., Path]) -> Path:
    """A config whose feed (40 matching items) has been polled once."""
    now = datetime.now(UTC)
    items = [
        Item(
            f"USMCA review, day {n}",
            f"https://news.example/{n}",
            "Ottawa and Mexico.",
            now,
            f"g{n}",
        )
        for n in range(40)
    ]
    config = write_config(db_url, [http_server.add("/rss.xml", Route(body=rss(items)))])
    assert monitor(config, "poll").returncode == 0
    return config


@pytest.mark.parametrize(
    "command",
    [("explain", "1"), ("rules", "backtest", "usmca"), ("feeds", "export")],
)
def test_output_into_a_closed_pipe_ends_quietly(polled: Path, command: tuple[str, ...]) -> None:
    # The reader is gone before monitor writes a line: what `| head -1` does, without the race.
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", *command, "--config", str(polled)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        err = process.stderr.read()
        code = process.wait(timeout=120)
    assert code == 1
    assert "Traceback" not in err
    assert "BrokenPipe" not in err
    assert "Exception ignored" not in err
    assert code != -signal.SIGPIPE


def test_output_piped_into_head_ends_quietly(polled: Path) -> None:
    shell = (
        f"{sys.executable} -m monitor rules backtest usmca --config {polled} | head -1; "
        f"{sys.executable} -m monitor explain 1 --config {polled} | head -1"
    )
    result = subprocess.run(
        ["sh", "-c", shell], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.splitlines()[0].startswith("usmca: 40 hits")
    assert result.stdout.splitlines()[1].startswith("entry 1: ")
    assert "Traceback" not in result.stderr
    assert "BrokenPipe" not in result.stderr


def test_an_unreachable_postgresql_says_cannot_connect(tmp_path: Path) -> None:
    url = "postgresql+psycopg://monitor:s3cret@127.0.0.1:9/monitor"  # discard port: refused
    config = config_file(tmp_path, database=url)
    masked = "postgresql+psycopg://monitor:***@127.0.0.1:9/monitor"
    for command in (("status",), ("check",), ("db", "current"), ("poll",)):
        result = monitor(config, *command)
        assert_short_error(result, 1, f"cannot connect to {masked}: ", "Connection refused")
        assert "s3cret" not in result.stderr
        assert "sqlalche.me" not in result.stderr
        assert "cannot migrate" not in result.stderr


def test_check_reports_where_the_database_stands(db_url: str, tmp_path: Path) -> None:
    config = config_file(
        tmp_path,
        database=db_url,
        feeds=[{"url": "http://127.0.0.1:9/feed.xml"}],
        watches=[{"name": "w", "query": "USMCA"}],
        alerts=[
            {
                "name": "a",
                "watches": ["w"],
                "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "${TEST_WEBHOOK_SECRET}"},
            }
        ],
    )
    fresh = monitor(config, "check")
    assert fresh.returncode == 0, fresh.stderr
    if db_url.startswith("sqlite"):
        assert "not created yet" in fresh.stdout
        assert not Path(db_url.removeprefix("sqlite:///")).exists()  # check creates nothing
    else:
        assert ": empty (" in fresh.stdout
    engine = create_engine(db_url)
    try:  # disposed now: a pooled PostgreSQL connection left to the garbage collector
        upgrade(engine, "0004")  # warns (ResourceWarning) in whichever test runs then
    finally:
        engine.dispose()
    behind = monitor(config, "check")
    assert behind.returncode == 0
    assert "behind (revision 0004" in behind.stdout
    assert "monitor db upgrade" in behind.stdout
    assert monitor(config, "db", "upgrade").returncode == 0
    current = monitor(config, "check")
    assert current.returncode == 0
    assert ": up to date (revision " in current.stdout
    assert current.stderr == ""  # nothing missing: no warnings


def test_an_unknown_alert_is_named_not_called_a_configuration_error(
    db_url: str, write_config: Callable[..., Path]
) -> None:
    config = write_config(db_url, ["http://127.0.0.1:9/feed.xml"])
    for mode in ("--preview", "--send"):
        result = monitor(config, "digest", mode, "--alert", "nosuch")
        assert_short_error(result, 1, "no alert named 'nosuch'", "known: desk")
        assert "configuration" not in result.stderr


def test_a_missing_text_file_is_bad_usage_not_a_configuration_error(tmp_path: Path) -> None:
    result = monitor(None, "rules", "test", "usmca", "--file", "/nonexistent")
    assert_short_error(result, 2, "cannot read /nonexistent: No such file or directory")
    assert "configuration" not in result.stderr


def test_no_config_says_where_it_looked_and_how_to_point_at_one(tmp_path: Path) -> None:
    result = monitor(None, "check", cwd=tmp_path, drop_env=("MONITOR_CONFIG",))
    assert_short_error(
        result,
        1,
        f"no config found at {tmp_path / 'config' / 'monitor.yaml'}",
        "--config PATH",
        "MONITOR_CONFIG",
    )
    assert "invalid configuration" not in result.stderr
    given = monitor(tmp_path / "nope.yaml", "check")
    assert_short_error(given, 1, f"no config file at {tmp_path / 'nope.yaml'} (given by --config)")
    from_env = monitor(
        None, "status", cwd=tmp_path, env={"MONITOR_CONFIG": str(tmp_path / "x.yaml")}
    )
    assert_short_error(from_env, 1, "(given by MONITOR_CONFIG)")


def test_an_empty_config_passes_check_with_a_warning_for_each_missing_part(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("", encoding="utf-8")
    result = monitor(config, "check")
    assert result.returncode == 0
    assert result.stdout.startswith("ok: 0 feeds, 0 watches, 0 alerts")
    assert "warning: the config has no feeds: nothing is polled" in result.stderr
    assert "warning: the config has no watches: nothing can match" in result.stderr
    assert "warning: the config has no alerts: nothing is sent" in result.stderr


def test_an_html_page_or_an_empty_body_is_said_in_those_words(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>News</title>"
        b'<link rel="alternate" type="application/rss+xml" title="RSS" href="/feeds/news.xml">'
        b"</head><body><p>Latest news</p></body></html>"
    )
    html = http_server.add("/news/", Route(body=page, content_type="text/html; charset=utf-8"))
    bare = http_server.add(
        "/bare.html", Route(body=b"<html><body>hi</body></html>", content_type="text/html")
    )
    empty = http_server.add("/empty.xml", Route(body=b""))
    config = write_config(db_url, [html, bare, empty])
    result = monitor(config, "poll")
    assert result.returncode == 3, result.stdout  # every feed failed
    out = result.stdout
    assert (
        f"FAILED     Feed 0 ({html}): not an RSS or Atom feed: the server sent an HTML page, "
        f"not a feed; the page links a feed at {http_server.url('/feeds/news.xml')}"
    ) in out
    assert (
        f"FAILED     Feed 1 ({bare}): not an RSS or Atom feed: the server sent an HTML page, not a feed\n"
        in out
    )
    assert f"FAILED     Feed 2 ({empty}): not an RSS or Atom feed: empty body" in out


def test_a_sqlite_path_that_cannot_be_reached_or_is_a_folder_is_one_line(tmp_path: Path) -> None:
    too_long = tmp_path / ("x" * 256 + ".db")  # stat fails (ENAMETOOLONG), as for root too
    config = config_file(tmp_path, database=f"sqlite:///{too_long}")
    for command, expected in (
        ("check", f"error: cannot reach the SQLite database {too_long}: File name too long"),
        ("status", f"error: cannot create the SQLite database {too_long}: File name too long"),
    ):
        result = monitor(config, command)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        # One line, however long the name (the folder is there: it is not named as the culprit)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith(expected), result.stderr
    folder = tmp_path / "a-folder"
    folder.mkdir()
    config = config_file(tmp_path, database=f"sqlite:///{folder}")
    for command in (("check",), ("status",)):
        result = monitor(config, *command)
        assert_short_error(result, 1, f"cannot use the SQLite database {folder}: it is a folder")


def test_a_config_that_cannot_be_read_as_text_is_named(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"feeds: []\n# caf\xe9\n")
    result = monitor(latin1, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "not UTF-8 text (byte 0xe9 at offset 15); save the config file as UTF-8" in result.stderr
    assert_short_error(monitor(tmp_path, "check"), 1, f"{tmp_path} is a folder, not a config file")
    too_long = "x" * 256 + ".yaml"  # stat fails (ENAMETOOLONG), as for root too
    assert_short_error(
        monitor(Path(too_long), "check", cwd=tmp_path),
        1,
        f"cannot read the config file {too_long}: File name too long",
    )


def test_a_bad_database_url_in_the_environment_is_named_as_such(tmp_path: Path) -> None:
    config = config_file(tmp_path, database=f"sqlite:///{tmp_path}/monitor.db")
    result = monitor(config, "check", env={"MONITOR_DATABASE_URL": "postgres://u:secret@h/x"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "MONITOR_DATABASE_URL (environment): expected sqlite:///PATH" in result.stderr
    assert "database (line" not in result.stderr  # the file's line is not the culprit
    assert "secret" not in result.stderr


def test_a_seed_file_that_cannot_be_read_is_bad_usage(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    result = monitor(config, "seeds", "import", str(tmp_path / "nope.txt"), "--no-store")
    assert_short_error(result, 2, f"cannot read {tmp_path / 'nope.txt'}: No such file or directory")
    assert "Errno" not in result.stderr


def test_check_warns_about_a_feeds_opml_file_that_does_not_exist(tmp_path: Path) -> None:
    config = config_file(tmp_path, feeds_opml=["subscriptions.opml"])
    result = monitor(config, "check")
    assert result.returncode == 0, result.stderr  # feeds import creates it: allowed
    assert (
        f"warning: feeds_opml file {tmp_path / 'subscriptions.opml'} does not exist: none of its "
        "feeds is polled"
    ) in result.stderr
