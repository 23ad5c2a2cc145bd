"""Typed channel entries in the config: each kind validated by its own model, secrets
handled as everywhere else, and every mistake named by key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.channels.apprise import AppriseChannel
from monitor.channels.ntfy import NtfyChannel
from monitor.channels.registry import CHANNELS
from monitor.channels.telegram import TelegramChannel
from monitor.channels.webhook import WebhookChannel
from monitor.config import Config, parse_config
from monitor.errors import ConfigError
from tests.conftest import REPO, WEBHOOK_SECRET

HEAD = """\
database: sqlite:///x.db
watches:
  - name: usmca
    query: USMCA
alerts:
  - name: desk
    watches: [usmca]
"""
ENV = {"TG": "123456:AAHk-secret", "NTFY": "tk_secret", "HOOK": WEBHOOK_SECRET}


def config_with(
    channels: str, env: dict[str, str] | None = None, base: Path | None = None
) -> Config:
    return parse_config(HEAD + channels, "test.yaml", ENV if env is None else env, base)


def problems(channels: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_with(channels, env)
    return caught.value.problems


def test_every_kind_is_an_entry_of_its_own_model() -> None:
    config = config_with(
        """\
    channels:
      - type: ntfy
        topic: desk-7f3a
        token: ${NTFY}
        priority: 5
      - type: telegram
        bot_token: ${TG}
        chat_id: -1001234567890
      - type: apprise
        urls: ["json://hooks.example.org/a", "pover://user@token"]
      - type: webhook
        url: https://hooks.example.org/b
        secret: ${HOOK}
        format: slack
"""
    )
    alert = config.alerts[0]
    ntfy, telegram, apprise, webhook = alert.listed
    assert isinstance(ntfy, NtfyChannel)
    assert ntfy.server == "https://ntfy.sh"
    assert isinstance(telegram, TelegramChannel)
    assert telegram.chat_id == "-1001234567890"
    assert telegram.api_base == "https://api.telegram.org"
    assert isinstance(apprise, AppriseChannel)
    assert len(apprise.urls) == 2
    assert isinstance(webhook, WebhookChannel)
    assert alert.channels == ("ntfy", "telegram", "apprise", "webhook")
    assert "tk_secret" not in repr(config)
    assert WEBHOOK_SECRET not in repr(config)
    assert "AAHk" not in repr(config)
    assert "pover://" not in repr(config)
    # One target per ledger row, none of them a credential.
    targets = [t for e in alert.entries for t in CHANNELS[e.type].targets(e)]
    assert len(targets) == 5
    assert not any("token" in t or "desk-7f3a" in t or "AAHk" in t for t in targets)
    assert "json://hooks.example.org/...#" in targets[2]  # a server of your own: its host


def test_old_keys_and_channels_add_up() -> None:
    config = config_with(
        """\
    webhook:
      url: https://hooks.example.org/x
      secret: ${HOOK}
    channels:
      - {type: ntfy, topic: desk}
"""
    )
    assert config.alerts[0].channels == ("webhook", "ntfy")


def test_an_entry_without_a_known_type_is_named() -> None:
    assert problems("    channels:\n      - {topic: desk}\n      - {type: pigeon, topic: x}\n") == [
        "alerts[0].channels[0] (line 9): each channel needs a type: one of email, webhook, "
        "ntfy, telegram, apprise",
        "alerts[0].channels[1] (line 10): unknown channel type 'pigeon': one of email, webhook, "
        "ntfy, telegram, apprise",
    ]


def test_a_type_that_is_not_a_name_is_named_too() -> None:
    assert problems("    channels:\n      - {type: [slack], topic: x}\n") == [
        "alerts[0].channels[0] (line 9): unknown channel type ['slack']: one of email, "
        "webhook, ntfy, telegram, apprise",
    ]


def test_a_mistake_inside_an_entry_names_its_key_and_line() -> None:
    found = problems(
        """\
    channels:
      - type: ntfy
        server: ftp://ntfy.example
        topc: desk
      - type: telegram
        bot_token: ${TG}
        chat_id: "not a chat"
"""
    )
    assert found == [
        "alerts[0].channels[0].server (line 10): expected an http:// or https:// URL, got 'ftp://ntfy.example'",
        "alerts[0].channels[0].topic (line 9): required key is missing",
        "alerts[0].channels[0].topc (line 11): unknown key (check its spelling and indentation)",
        "alerts[0].channels[1].chat_id (line 14): expected a chat number or @channelname, got 'not a chat'",
    ]


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("{type: telegram, chat_id: 1, bot_token: '123456:AAHk-inline'}", "bot_token"),
        ("{type: ntfy, topic: desk, token: tk_inline}", "token"),
        ("{type: webhook, url: 'https://h.example/x', secret: " + WEBHOOK_SECRET + "}", "secret"),
    ],
)
def test_a_secret_written_inline_is_refused(entry: str, key: str) -> None:
    assert problems(f"    channels:\n      - {entry}\n") == [
        f"alerts[0].channels[0].{key} (line 9): secrets must not be written inline; "
        f"use ${{ENV_VAR}} or {key}_file"
    ]


def test_secrets_and_apprise_urls_from_files(tmp_path: Path) -> None:
    (tmp_path / "tg.token").write_text("123456:AAHk-from-file\n", encoding="utf-8")
    (tmp_path / "apprise.urls").write_text(
        "# services\njson://hooks.example.org/a\n\nform://hooks.example.org/b\n", encoding="utf-8"
    )
    config = config_with(
        """\
    channels:
      - {type: telegram, chat_id: "@desk", bot_token_file: tg.token}
      - {type: apprise, urls_file: apprise.urls}
""",
        base=tmp_path,
    )
    telegram, apprise = config.alerts[0].listed
    assert isinstance(telegram, TelegramChannel)
    assert telegram.bot_token.get_secret_value() == "123456:AAHk-from-file"
    assert isinstance(apprise, AppriseChannel)
    assert [u.get_secret_value() for u in apprise.urls] == [
        "json://hooks.example.org/a",
        "form://hooks.example.org/b",
    ]


def test_apprise_urls_apprise_cannot_read_are_named() -> None:
    assert problems(
        "    channels:\n      - type: apprise\n        urls: [json://h.example/a, nosuchservice://x]\n"
    ) == [
        "alerts[0].channels[0].urls[1] (line 10): Apprise does not know this URL "
        "(its scheme, or a part it needs, is wrong)"
    ]


def test_a_target_listed_twice_and_email_without_smtp() -> None:
    found = problems(
        """\
    channels:
      - {type: ntfy, topic: desk}
      - {type: ntfy, topic: desk, priority: high}
      - {type: email, to: [a@example.org]}
"""
    )
    assert found[0].startswith("alerts[0].channels[1] (line 10): ntfy https://ntfy.sh/...#")
    assert found[0].endswith(" is listed twice")
    assert found[1] == "alerts[0].channels[2] (line 11): an email channel needs an smtp section"
    assert len(found) == 2


def test_the_slowest_channel_bounds_the_delivery_lease() -> None:
    found = problems("    channels:\n      - {type: ntfy, topic: desk, timeout: 10m}\n")
    assert len(found) == 1
    assert found[0].startswith(
        "replica.delivery_lease (line 1): must be longer than the slowest channel timeout (0:10:00)"
    )


def test_the_shipped_configs_channel_example_is_valid(tmp_path: Path) -> None:
    """The commented channels: block of config/monitor.yaml, uncommented, loads."""
    shipped = (REPO / "config" / "monitor.yaml").read_text(encoding="utf-8")
    start = shipped.index("    # channels:\n")
    block = []
    for line in shipped[start:].splitlines():
        if not line.startswith("    #"):
            break
        block.append(line.replace("    # ", "    ", 1))
    (tmp_path / "apprise.urls").write_text("json://hooks.example.org/monitor\n", encoding="utf-8")
    config = config_with(
        "\n".join(block) + "\n", env={"TELEGRAM_BOT_TOKEN": "123456:AAHk-x"}, base=tmp_path
    )
    assert config.alerts[0].channels == ("ntfy", "telegram", "apprise")
