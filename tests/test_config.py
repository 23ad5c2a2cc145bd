"""Config: the shipped file validates; every kind of mistake names its key and line."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_config, parse_config, parse_duration
from monitor.errors import ConfigError
from tests.conftest import REPO, WEBHOOK_SECRET

BASE = """\
database: sqlite:///x.db
feeds:
  - url: https://example.org/feed.xml
    name: Example
watches:
  - name: usmca
    query: USMCA OR CUSMA
alerts:
  - name: desk
    watches: [usmca]
    schedule: "0 8 * * 1-5"
    timezone: America/Toronto
    webhook:
      url: https://hooks.example.org/x
      secret: ${HOOK_SECRET}
"""
ENV = {"HOOK_SECRET": WEBHOOK_SECRET}


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "test.yaml", env if env is not None else ENV)
    return caught.value.problems


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config" / "monitor.yaml", env={})
    assert len(config.feeds) >= 15
    assert {w.name for w in config.watches} >= {"usmca", "canada-mexico"}
    assert "usmca" in config.aliases
    assert config.alerts[0].email is not None


def test_valid_config_values() -> None:
    config = parse_config(BASE, "test.yaml", ENV)
    assert config.feeds[0].interval == timedelta(minutes=15)
    assert config.feeds[0].display_name == "Example"
    assert config.alerts[0].channels == ("webhook",)
    assert config.alerts[0].webhook is not None
    assert config.alerts[0].webhook.secret.get_secret_value() == WEBHOOK_SECRET
    assert "whsec" not in repr(config)  # secrets never appear in reprs or logs


def test_unknown_key_names_path_and_line() -> None:
    text = BASE.replace("    name: Example\n", "    name: Example\n    intervall: 5m\n")
    assert problems(text) == [
        "feeds[0].intervall (line 5): unknown key (check its spelling and indentation)"
    ]


def test_bad_type_names_path_and_line() -> None:
    text = BASE.replace("    name: Example\n", "    name: Example\n    interval: often\n")
    (problem,) = problems(text)
    assert problem.startswith("feeds[0].interval (line 5): expected a duration")


def test_bad_cron_names_path_and_line() -> None:
    (problem,) = problems(BASE.replace('"0 8 * * 1-5"', '"0 25 * * *"'))
    assert problem.startswith("alerts[0].schedule (line 11): bad cron expression '0 25 * * *'")


def test_bad_timezone() -> None:
    (problem,) = problems(BASE.replace("America/Toronto", "Mars/Olympus"))
    assert problem.startswith("alerts[0].timezone (line 12): unknown timezone 'Mars/Olympus'")


def test_alert_naming_missing_watch() -> None:
    (problem,) = problems(BASE.replace("watches: [usmca]", "watches: [usmca, tariffs]"))
    assert problem == "alerts[0].watches[1] (line 10): no watch named 'tariffs' (known: usmca)"


def test_all_problems_reported_at_once() -> None:
    text = BASE.replace("watches: [usmca]", "watches: [nope]").replace(
        "name: Example", "name: Example\n    colour: red"
    )
    found = problems(text)
    assert len(found) == 2
    assert any("colour" in p for p in found)


def test_inline_secret_refused() -> None:
    (problem,) = problems(BASE.replace("${HOOK_SECRET}", WEBHOOK_SECRET))
    assert problem == (
        "alerts[0].webhook.secret (line 15): secrets must not be written inline; use ${ENV_VAR} or secret_file"
    )


def test_missing_environment_variable() -> None:
    (problem,) = problems(BASE, env={})
    assert problem.startswith(
        "alerts[0].webhook.secret (line 15): environment variable HOOK_SECRET is not set"
    )


def test_secret_file(tmp_path: Path) -> None:
    (tmp_path / "hook.key").write_text(WEBHOOK_SECRET + "\n")
    text = BASE.replace("secret: ${HOOK_SECRET}", "secret_file: hook.key")
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    config = load_config(path, env={})
    assert config.alerts[0].webhook is not None
    assert config.alerts[0].webhook.secret.get_secret_value() == WEBHOOK_SECRET


def test_missing_secret_file(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(BASE.replace("secret: ${HOOK_SECRET}", "secret_file: nowhere.key"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.problems[0].startswith(
        "alerts[0].webhook.secret_file (line 15): cannot read"
    )


def test_secret_that_is_not_a_key() -> None:
    (problem,) = problems(BASE, env={"HOOK_SECRET": "not a key!"})
    assert problem.startswith("alerts[0].webhook.secret (line 15): webhook secret must be base64")


def test_env_default_and_database_override() -> None:
    text = BASE.replace("database: sqlite:///x.db", "database: ${DB:-sqlite:///y.db}")
    assert parse_config(text, "t", ENV).database == "sqlite:///y.db"
    env = {**ENV, "MONITOR_DATABASE_URL": "postgresql+psycopg://u@h/db"}
    assert parse_config(text, "t", env).database == "postgresql+psycopg://u@h/db"


def test_yaml_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE.replace("    name: Example", "    name: [Example"), "t", ENV)
    assert caught.value.problems == [
        "YAML syntax error at line 5, column 8: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence started at line 4)"
    ]


def test_duplicate_key() -> None:
    (problem,) = problems(
        BASE.replace("    name: Example\n", "    name: Example\n    name: Other\n")
    )
    assert problem == "feeds[0].name (line 5): key given twice"


def test_duplicate_watch_names() -> None:
    text = BASE.replace(
        "watches:\n  - name: usmca\n    query: USMCA OR CUSMA\n",
        "watches:\n  - name: usmca\n    query: USMCA\n  - name: usmca\n    query: CUSMA\n",
    )
    (problem,) = problems(text)
    assert problem == "watches[1].name (line 8): 'usmca' is used twice"


def test_email_needs_smtp() -> None:
    text = BASE.replace("    webhook:", "    email: {to: [a@example.org]}\n    webhook:")
    (problem,) = problems(text)
    assert problem == "alerts[0].email (line 13): email needs an smtp section"


def test_bad_query_names_watch_and_line() -> None:
    (problem,) = problems(BASE.replace("query: USMCA OR CUSMA", "query: USMCA AND (CUSMA"))
    assert problem.startswith("watches[0].query (line 7): watch 'usmca':")
    assert "position" in problem


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        ("1.5h", 5400),
        ("250ms", 0.25),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value).total_seconds() == seconds


@pytest.mark.parametrize("value", ["soon", "-5m", 0, True, "5 parsecs"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_monitor_check_cli(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BASE.replace('"0 8 * * 1-5"', '"every morning"'))
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(broken)],
        capture_output=True,
        text=True,
        env={"HOOK_SECRET": WEBHOOK_SECRET, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 1
    assert "alerts[0].schedule (line 11): bad cron expression" in result.stderr
    assert str(broken) in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text(BASE)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(good)],
        capture_output=True,
        text=True,
        env={"HOOK_SECRET": WEBHOOK_SECRET, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 1 feed, 1 watch, 1 alert")


@pytest.mark.parametrize("before_the_command", [True, False])
def test_config_option_counts_before_or_after_the_command(
    tmp_path: Path, before_the_command: bool
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE)
    option = ["--config", str(good)]
    command = ["check"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            *(option + command if before_the_command else command + option),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no config/monitor.yaml here to fall back on
        env={"HOOK_SECRET": WEBHOOK_SECRET, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 1 feed, 1 watch, 1 alert")


def test_a_webhook_url_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "hook.url").write_text("https://hooks.slack.com/services/T0/B0/sEcReT\n")
    text = BASE.replace("      url: https://hooks.example.org/x\n", "      url_file: hook.url\n")
    config = parse_config(text, "test.yaml", ENV, base_dir=tmp_path)
    hook = config.alerts[0].webhook
    assert hook is not None
    assert hook.url == "https://hooks.slack.com/services/T0/B0/sEcReT"
    assert hook.label.startswith("https://hooks.slack.com/...#")
    assert "sEcReT" not in hook.label


def test_a_secret_given_through_a_default_is_refused() -> None:
    text = BASE.replace("${HOOK_SECRET}", '"${UNSET_SECRET:-whsec_c2VjcmV0LWluLXRoZS1maWxl}"')
    (problem,) = problems(text, {})
    assert problem.startswith(
        "alerts[0].webhook.secret (line 15): a secret must not have a default"
    )
    smtp = BASE + "smtp:\n  username: u\n  password: ${SMTP_PW:-hunter2}\n  security: ssl\n"
    (problem,) = problems(smtp)
    assert problem.startswith("smtp.password (line 18): a secret must not have a default")


def test_clear_text_smtp_auth_is_refused_unless_allowed() -> None:
    smtp = BASE + "smtp:\n  username: u\n  password: ${SMTP_PW}\n  security: none\n"
    (problem,) = problems(smtp, {**ENV, "SMTP_PW": "pw"})
    assert problem.startswith("smtp.username (line 17): with security: none the password")
    allowed = smtp + "  allow_insecure_auth: true\n"
    assert parse_config(allowed, "t", {**ENV, "SMTP_PW": "pw"}).smtp is not None


def test_allow_lists_name_a_bad_entry_and_its_line() -> None:
    text = BASE + "fetch:\n  allow_private: [10.0.0.0/8, 'http://x/']\n"
    (problem,) = problems(text)
    assert problem.startswith("fetch.allow_private (line 17)")
    assert "'http://x/'" in problem
    config = parse_config(
        BASE + "delivery:\n  allow_private: [feeds.internal, '*.corp.example', 10.1.2.3]\n",
        "t",
        ENV,
    )
    assert config.delivery.allow_private == ("feeds.internal", "*.corp.example", "10.1.2.3")
    assert config.fetch.ssrf_guard is True
