"""Every channel, one line each: its ``type`` in the config and the ledger, and its module.

Adding a channel touches its module (settings model and the :class:`Channel`
interface, see :mod:`monitor.channels.base`), one line in ``_MODULES`` below, and its README
section; the config, the relay and the ledger take it from here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BeforeValidator, Discriminator, Tag

from monitor.channels.base import Channel, ChannelSettings

_MODULES = (  # each defines CHANNEL; the order is the order of delivery
    "monitor.channels.email",
    "monitor.channels.webhook",
    "monitor.channels.ntfy",
    "monitor.channels.telegram",
    "monitor.channels.apprise",
)

CHANNELS: dict[str, Channel[Any]] = {
    channel.kind: channel for channel in (import_module(name).CHANNEL for name in _MODULES)
}


def _type_of(value: object) -> str | None:
    found = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return found if isinstance(found, str) and found in CHANNELS else None


_KNOWN = ", ".join(CHANNELS)


def _named_type(value: object) -> object:
    """An entry whose ``type`` is there but unknown is named by it ("slack"), before the
    discriminator, which can only say that a known type is missing."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind is not None and (not isinstance(kind, str) or kind not in CHANNELS):
        raise ValueError(f"unknown channel type {kind!r}: one of {_KNOWN}")
    return value


if TYPE_CHECKING:
    ChannelEntry = ChannelSettings
else:
    # One entry of an alert's ``channels:``, validated by the model its ``type`` names.
    ChannelEntry = Annotated[
        Union[tuple(Annotated[c.settings, Tag(kind)] for kind, c in CHANNELS.items())],  # noqa: UP007
        Discriminator(
            _type_of,
            custom_error_type="channel_type",
            custom_error_message=f"each channel needs a type: one of {_KNOWN}",
        ),
        BeforeValidator(_named_type),
    ]


def settings_model(kind: object) -> type[ChannelSettings] | None:
    channel = CHANNELS.get(kind) if isinstance(kind, str) else None
    return channel.settings if channel else None
