"""The channel registry keeps the recipe true: a channel is its module, one registry line and
its README section, and nothing else in the code names it."""

from __future__ import annotations

import re
import typing

from monitor.channels import registry
from monitor.channels.base import ChannelSettings
from tests.conftest import REPO

# Channels the rest of the code knew before the registry (the ledger's first two kinds).
FIRST = {"email", "webhook"}


def test_each_registered_module_is_one_channel_of_its_own_type() -> None:
    assert len(registry._MODULES) == len(registry.CHANNELS)
    for module, (kind, channel) in zip(registry._MODULES, registry.CHANNELS.items(), strict=True):
        assert module == f"monitor.channels.{kind}"
        assert channel.kind == kind
        assert issubclass(channel.settings, ChannelSettings)
        annotation = channel.settings.model_fields["type"].annotation
        assert typing.get_args(annotation) == (kind,)
        assert channel.settings.model_fields["type"].default == kind


def test_each_channel_has_its_readme_section() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    channels = readme[readme.index("\n## Channels\n") :]
    channels = channels[: channels.index("\n## ", 1)]
    headings = {h.lower() for h in re.findall(r"^### (\S+)$", channels, re.MULTILINE)}
    assert set(registry.CHANNELS) <= headings


def test_no_module_outside_the_channels_names_a_new_channel() -> None:
    newer = set(registry.CHANNELS) - FIRST
    allowed = {
        # Log lines are masked at the record: a Telegram bot token in a Bot API path too.
        ("monitor/redact.py", "telegram"),
    }
    found = set()
    for path in (REPO / "monitor").rglob("*.py"):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith("monitor/channels/"):
            continue
        text = path.read_text(encoding="utf-8").lower()
        found |= {(relative, kind) for kind in newer if kind in text}
    assert found <= allowed
