"""`monitor rules test` and `monitor rules backtest`, as a user runs them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testbed.servers import HttpServer, Route
from tests.conftest import REPO
from tests.support.cli import monitor as run_monitor
from tests.support.feeds import Item, rss


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return run_monitor(None, *args)  # each call names its --config (or none)


def test_rules_test_uses_the_shipped_aliases_and_explains() -> None:
    shipped = str(REPO / "config" / "monitor.yaml")
    hit = monitor(
        "rules",
        "test",
        "@usmca",
        "--title",
        "Ottawa prepares for the CUSMA review",
        "--text",
        "",
        "--config",
        shipped,
    )
    assert hit.returncode == 0, hit.stderr
    assert hit.stdout.startswith("match\n")
    assert 'title [24:29] "CUSMA"' in hit.stdout
    near = monitor(
        "rules",
        "test",
        "@canada NEAR/5 @mexico",
        "--text",
        "Snow fell in Mexico City while Canada played.",
        "--config",
        shipped,
    )
    assert near.returncode == 0, near.stdout
    miss = monitor(
        "rules",
        "test",
        "@canada NEAR/2 @mexico",
        "--text",
        "Canada said one two three four Mexico.",
        "--config",
        shipped,
    )
    assert miss.returncode == 1
    assert miss.stdout == "no match\n"
    bad = monitor("rules", "test", "USMCA AND (", "--text", "x", "--config", shipped)
    assert bad.returncode == 2
    assert "at position 11" in bad.stderr
    assert "expected" in bad.stderr


def test_rules_test_reads_a_file(tmp_path: Path) -> None:
    text = tmp_path / "article.txt"
    text.write_text("Los gobiernos revisan el T-MEC esta semana.", encoding="utf-8")
    result = monitor(
        "rules", "test", '"TMEC"', "--file", str(text), "--config", str(tmp_path / "none.yaml")
    )
    assert result.returncode == 0, result.stderr
    assert '"T-MEC"' in result.stdout


def test_backtest_over_a_database_filled_by_poll(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    items = [
        Item(
            f"USMCA review update {n}",
            f"https://news.example/u{n}",
            "Officials met.",
            now - timedelta(days=n),
            f"b{n}",
        )
        for n in range(3)
    ] + [
        Item(
            "Tariffs on Canadian steel",
            "https://news.example/steel",
            "Steel tariff news.",
            now,
            "b9",
        )
    ]
    feed = http_server.add("/rss.xml", Route(body=rss(items)))
    config = write_config(db_url, [feed])
    assert monitor("poll", "--config", str(config)).returncode == 0

    watch = monitor("rules", "backtest", "usmca", "--since", "7d", "--config", str(config))
    assert watch.returncode == 0, watch.stderr
    assert watch.stdout.startswith("usmca: 3 hits in 4 entries since")
    assert "hits per day:" in watch.stdout
    assert watch.stdout.count("\n* USMCA review update") == 3
    assert watch.stdout.index("update 0") < watch.stdout.index("update 2")  # newest first

    unsaved = monitor("rules", "backtest", "--query", "tariff* AND steel", "--config", str(config))
    assert unsaved.returncode == 0, unsaved.stderr
    assert unsaved.stdout.startswith("query: 1 hit in 4 entries")
    assert "Tariffs on Canadian steel" in unsaved.stdout

    unknown = monitor("rules", "backtest", "nosuch", "--config", str(config))
    assert unknown.returncode == 1
    assert "no watch named 'nosuch'" in unknown.stderr


def test_explain_names_the_guard_or_backfill_that_stopped_an_entry(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    items = [
        Item(
            "Canada and Mexico face measles outbreaks",
            "https://news.example/measles",
            "Cases rise in both countries.",
            now,
            "m1",
        ),
        Item(
            "USMCA talks from long ago",
            "https://news.example/old",
            "Officials met.",
            now - timedelta(days=30),
            "o1",
        ),
    ]
    feed = http_server.add("/rss.xml", Route(body=rss(items)))
    watches = [
        {"name": "usmca", "query": "USMCA"},
        {"name": "canada-mexico", "query": "Canada NEAR/5 Mexico", "guards": ["health"]},
    ]
    config = write_config(db_url, [feed], watches=watches)
    assert monitor("poll", "--config", str(config)).returncode == 0

    guarded = monitor("explain", "https://news.example/measles", "--config", str(config))
    assert guarded.returncode == 0, guarded.stderr
    assert 'watch "canada-mexico" did not fire' in guarded.stdout
    assert "stopped by guard: 'health'" in guarded.stdout
    assert "measles (title)" in guarded.stdout
    assert "matched no watch" not in guarded.stdout

    old = monitor("explain", "https://news.example/old", "--config", str(config))
    assert old.returncode == 0, old.stderr
    assert "not alerted: backfill" in old.stdout


FILLER = " ".join(f"word{n}" for n in range(60))
GUARDED = """\
guards:
  cricket:
    terms: [cricket, wicket+]
watches:
  - name: canada-mexico
    query: 'Canada NEAR/5 Mexico'
    guards: [health, cricket]
"""


def test_rules_test_says_what_stopped_a_query_that_matched(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(GUARDED, encoding="utf-8")
    measles = "US, Canada and Mexico face measles outbreaks"
    watch = monitor(
        "rules", "test", "--watch", "canada-mexico", "--title", measles, "--text", "",
        "--config", str(config),
    )  # fmt: skip
    assert watch.returncode == 1, watch.stderr
    assert watch.stdout.startswith(
        "no match: stopped by guard health (its focus 1.00 ≥ the watch's 1.00)\n"
    )
    assert "measles (title)" in watch.stdout
    assert 'title [4:10] "Canada"' in watch.stdout  # what the query matched, explained
    fired = monitor(
        "rules", "test", "--watch", "canada-mexico", "--title", "Canada and Mexico sign a deal",
        "--text", "", "--config", str(config),
    )  # fmt: skip
    assert fired.returncode == 0, fired.stderr
    assert fired.stdout.startswith("match\n")

    cricket = ("--title", "Cricket: Mexico beats Canada", "--text", "")
    deep = ("--text", FILLER + " Canada")  # Canada only deep in the body
    cases = [
        (("--guard", "cricket", *cricket), "guard cricket (its focus 1.00 ≥ the watch's 1.00)"),
        (("--min-focus", "0.5", *deep), "min_focus (focus 0.10 < 0.5)"),
        (("--exclude", "cricket OR rain", *cricket), "exclude (cricket)"),
        (("--min-score", "3", *cricket), "min_score (score 2 < 3)"),
    ]
    for options, expected in cases:
        result = monitor("rules", "test", "Canada", *options, "--config", str(config))
        assert result.returncode == 1, (options, result.stderr)
        assert result.stdout.startswith(f"no match: stopped by {expected}\n"), result.stdout

    unknown = monitor("rules", "test", "--watch", "nosuch", "--text", "x", "--config", str(config))
    assert unknown.returncode == 2
    assert "no watch named 'nosuch' (known: canada-mexico)" in unknown.stderr
    bad_guard = monitor(
        "rules", "test", "Canada", "--guard", "sprot", "--text", "x", "--config", str(config)
    )
    assert bad_guard.returncode == 2
    assert "unknown guard 'sprot'" in bad_guard.stderr
    assert "cricket" in bad_guard.stderr  # the config's own guards are known


def test_backtest_counts_and_lists_what_was_stopped(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    titles = [
        ("Canada signs a steel deal", "Officials met."),
        ("Canada and Mexico talk trade", "Officials met."),
        ("Canada wins the soccer final", "A late goal."),
        ("Canada names a hockey coach", "A new coach."),
        ("Weather report", FILLER + " Canada"),
        ("Storms in Europe", "Rain."),
    ]
    items = [
        Item(title, f"https://news.example/{n}", text, now - timedelta(hours=n), f"s{n}")
        for n, (title, text) in enumerate(titles)
    ]
    feed = http_server.add("/rss.xml", Route(body=rss(items)))
    watches = [
        {"name": "usmca", "query": "USMCA"},
        {
            "name": "canada-mexico",
            "query": "Canada",
            "exclude": "hockey",
            "min_focus": 0.5,
            "guards": ["sport"],
        },
    ]
    config = write_config(db_url, [feed], watches=watches)
    assert monitor("poll", "--config", str(config)).returncode == 0

    result = monitor("rules", "backtest", "canada-mexico", "--since", "7d", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("canada-mexico: 2 hits in 6 entries since")
    assert lines[1] == "stopped: 3 (exclude 1, guard sport 1, min_focus 1)"
    assert result.stdout.count("\n* Canada signs a steel deal") == 1
    stopped = result.stdout[result.stdout.index("\nnewest 3 stopped:\n") :]
    assert "\n* Canada wins the soccer final" in stopped
    assert "  stopped by guard sport (its focus 1.00 ≥ the watch's 1.00): 'sport'" in stopped
    assert "  stopped by exclude (hockey): the exclude query matched (hockey)" in stopped
    assert "  stopped by min_focus (focus 0.10 < 0.5)" in stopped
    assert "Canada and Mexico talk trade" not in stopped

    unsaved = monitor(
        "rules", "backtest", "--query", "Canada", "--guard", "sport", "--config", str(config)
    )
    assert unsaved.returncode == 0, unsaved.stderr
    assert unsaved.stdout.splitlines()[1] == "stopped: 2 (guard sport 2)"
    assert unsaved.stdout.startswith("query: 3 hits in 6 entries")
