"""The email channel: one multipart/alternative message per digest, over SMTP.

The Message-ID is derived from the digest id, so a digest resent after a crash
or a retry carries the same Message-ID and a receiving system can drop the
repeat. SMTP replies map onto the error tree: 4xx and connection failures are
transient, 5xx are permanent, except a refusal for size (552, or a 5xx saying
so; or a message over the SIZE the server announces), which is
:class:`~monitor.errors.TooLargeError`: the relay sends the digest in parts. A
password never crosses a clear connection unless ``smtp.allow_insecure_auth``
says so (the config check refuses it first).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from monitor.channels.email import EmailChannel, SmtpConfig
from monitor.digest.render import RenderedDigest
from monitor.errors import PermanentDeliveryError, TooLargeError, TransientDeliveryError
from monitor.types import Digest

# 552 is "exceeded storage allocation", what servers answer to a message over their limit;
# others say so in words with a 554 or 5.3.4 ("message too big for system").
_SIZE_REFUSAL = re.compile(r"too (?:large|big)|size|too much (?:mail )?data|5\.3\.4", re.I)


def message_bytes(message: EmailMessage) -> int:
    """The size of ``message`` as it goes over SMTP (CRLF line ends), as SIZE counts it."""
    return len(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))


def message_id(digest: Digest, sender: str) -> str:
    """``<digest-id@sender-domain>``: the same for every send of one digest."""
    domain = sender.rpartition("@")[2].strip("<> ") or "monitor.localhost"
    return f"<{digest.id}@{domain}>"


def build_message(
    digest: Digest, rendered: RenderedDigest, channel: EmailChannel, smtp: SmtpConfig
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = smtp.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = formatdate(digest.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = message_id(digest, smtp.sender)
    message["X-Monitor-Digest"] = digest.id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def send_email(
    message: EmailMessage, smtp: SmtpConfig, recipients: list[str] | None = None
) -> list[str]:
    """Send ``message`` to ``recipients`` (default: its To header).

    Returns the recipients the server refused while accepting the others;
    raises TransientDeliveryError or PermanentDeliveryError when nobody got it.
    """
    timeout = smtp.timeout.total_seconds()
    channel = f"email via {smtp.host}:{smtp.port}"
    if smtp.username and smtp.security == "none" and not smtp.allow_insecure_auth:
        raise PermanentDeliveryError(
            channel,
            "refused to send the SMTP password in clear text (security: none); use starttls "
            "or ssl, or set smtp.allow_insecure_auth: true for a relay on loopback",
        )
    size = message_bytes(message)
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                password = smtp.password.get_secret_value() if smtp.password else ""
                client.login(smtp.username, password)
            client.ehlo_or_helo_if_needed()
            limit = _announced_size(client)
            if limit and size > limit:
                raise TooLargeError(
                    channel,
                    f"the message is {size:,} bytes; the server takes at most {limit:,} (SIZE)",
                    size,
                    limit,
                )
            refused = client.send_message(message, to_addrs=recipients)
        return sorted(refused)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
        )
        if all(400 <= code < 500 for code in codes):
            raise TransientDeliveryError(channel, f"all recipients deferred: {detail}") from exc
        raise PermanentDeliveryError(channel, f"all recipients refused: {detail}") from exc
    except smtplib.SMTPResponseException as exc:
        reason = f"server answered {exc.smtp_code} {_text(exc.smtp_error)}"
        if exc.smtp_code == 552 or (
            exc.smtp_code >= 500 and _SIZE_REFUSAL.search(_text(exc.smtp_error))
        ):
            raise TooLargeError(
                channel, f"{reason} (the message was {size:,} bytes)", size
            ) from exc
        if 400 <= exc.smtp_code < 500:
            raise TransientDeliveryError(channel, reason) from exc
        raise PermanentDeliveryError(channel, reason) from exc
    except (
        TimeoutError,
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        ConnectionError,
        OSError,
    ) as exc:
        raise TransientDeliveryError(channel, f"cannot talk to the SMTP server: {exc}") from exc
    except smtplib.SMTPException as exc:
        raise PermanentDeliveryError(channel, f"SMTP error: {exc}") from exc


def _announced_size(client: smtplib.SMTP) -> int | None:
    """The SIZE the server announced in its EHLO answer (RFC 1870), if any."""
    words = client.esmtp_features.get("size", "").split()
    return int(words[0]) if words and words[0].isdigit() and int(words[0]) > 0 else None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
