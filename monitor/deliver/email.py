"""The email channel: one multipart/alternative message per digest, over SMTP.

The Message-ID is derived from the digest id, so a digest resent after a crash
or a retry carries the same Message-ID and a receiving system can drop the
repeat. SMTP replies map onto the error tree: 4xx and connection failures are
transient, 5xx are permanent. A password never crosses a clear connection
unless ``smtp.allow_insecure_auth`` says so (the config check refuses it first).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from monitor.config import EmailChannel, SmtpConfig
from monitor.digest.render import RenderedDigest
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.types import Digest


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


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
