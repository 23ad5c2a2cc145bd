"""Channels: where a digest goes (email, signed webhooks, ntfy, Telegram, Apprise).

Each channel is one module with its own settings model and the one interface
of :mod:`monitor.channels.base`; :mod:`monitor.channels.registry` lists them,
one line each. An alert lists its channels as typed entries::

    channels:
      - {type: ntfy, topic: trade-desk-7f3a}
      - {type: telegram, bot_token: "${TG_TOKEN}", chat_id: -1001234567890}

and the older ``email:`` and ``webhook:`` keys are entries of the same kinds.
The relay (:mod:`monitor.deliver.relay`) sends through them and records the
outcome; the ledger names a row's channel by its ``type`` and its target as
the channel's ``targets`` gave it (never a credential).
"""
