"""Credentials and hostile text kept where they belong: webhook URLs and feed tokens
redacted everywhere they are shown, no password over a clear SMTP connection, a private
database, and feed text that cannot drive the terminal. Real servers, real CLI, both
databases where storage is involved."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config import SmtpConfig
from monitor.deliver.email import send_email
from monitor.errors import PermanentDeliveryError
from monitor.pipeline import Pipeline
from monitor.store.store import Store
from testbed.servers import HttpServer, Request, Route, SmtpHandler, free_port, recorder
from tests.support.cli import monitor
from tests.support.feeds import Item, rss

HOOK_TOKEN = "T0001/B0002/hUnTeR2sEcReTtOkEn"
FEED_TOKEN = "fEeDtOkEn-9f8e7d"


def fresh_item(title: str, guid: str) -> Item:
    return Item(
        title, f"https://news.example/{guid}", "Canada and Mexico.", datetime.now(UTC), guid
    )


def all_text(db_url: str, *tables: str) -> str:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = [
                row
                for table in tables
                for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
            ]
    finally:
        engine.dispose()
    return "\n".join(str(tuple(row)) for row in rows)


def test_a_chat_webhook_url_is_redacted_everywhere(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    received: list[Request] = []
    hook = http_server.add(f"/services/{HOOK_TOKEN}", recorder(received, status=410))
    (tmp_path / "slack.url").write_text(hook + "\n", encoding="utf-8")
    feed = http_server.add("/f.xml", Route(body=rss([fresh_item("USMCA talks resume", "s1")])))
    config = write_config(db_url, [feed], webhook_url=hook)
    data = yaml.safe_load(config.read_text())
    webhook = data["alerts"][0]["webhook"]
    del webhook["url"]
    webhook.update(url_file="slack.url", format="slack")
    config.write_text(yaml.safe_dump(data))

    outputs = [monitor(config, "poll"), monitor(config, "--log-level", "INFO", "digest", "--send")]
    assert outputs[1].returncode == 1  # the 410 failed the send
    assert len(received) == 1  # the URL from url_file was used
    outputs += [monitor(config, "deliveries"), monitor(config, "status")]
    shown = "\n".join(out.stdout + out.stderr for out in outputs)
    assert HOOK_TOKEN not in shown
    assert "hUnTeR2" not in shown
    assert f"http://127.0.0.1:{hook.split(':')[2].split('/')[0]}/...#" in shown
    assert "HTTP 410 Gone" in shown  # the failure is still explained
    stored = all_text(db_url, "deliveries", "channel_states")
    assert "HTTP 410 Gone" in stored
    assert "hUnTeR2" not in stored


def test_a_feed_token_is_redacted_in_the_digest_and_the_logs(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    received: list[Request] = []
    hook = http_server.add("/hook", recorder(received))
    good = http_server.add("/good.xml", Route(body=rss([fresh_item("USMCA review", "g1")])))
    broken = http_server.add("/private.xml", Route(status=500)) + f"?token={FEED_TOKEN}&page=1"
    config = write_config(
        db_url, [good, broken], webhook_url=hook, fetch={"broken_after_failures": 1}
    )
    poll = monitor(config, "--log-level", "INFO", "poll")
    assert "1 failed" in poll.stdout, poll.stderr
    assert FEED_TOKEN not in poll.stdout + poll.stderr
    assert "token=***&page=1" in poll.stdout
    pipeline = open_pipeline(config, lambda: datetime.now(UTC))
    (outcome,) = pipeline.send_digest(pipeline.config.alerts[0], force=True).deliveries
    assert outcome.status == "sent"
    body = json.loads(received[0].body)
    (notice,) = body["attention"]
    assert notice["url"].endswith("/private.xml?token=***&page=1")
    assert FEED_TOKEN not in received[0].body.decode()


def test_the_sqlite_database_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "monitor"
    store = Store.open(f"sqlite:///{folder / 'monitor.db'}")
    try:
        store.ping()
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode) for path in (folder, *folder.iterdir())
        }
    finally:
        store.close()
    assert modes["monitor"] == 0o700
    assert modes["monitor.db"] == 0o600
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("monitor.db"))


def test_a_malformed_database_url_keeps_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://monitor:pA55w0rd-sEcReT@db.internal:not-a-port/monitor"
    result = monitor(None, "status", env={"MONITOR_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode != 0
    assert "pA55w0rd" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


class AuthRecorder(SmtpHandler):
    """An SMTP handler that also records every AUTH attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[tuple[bytes, bytes]] = []

    def authenticate(
        self, server: object, session: object, envelope: object, mechanism: str, auth_data: object
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)


@pytest.fixture
def auth_smtp() -> Iterator[tuple[AuthRecorder, int]]:
    handler = AuthRecorder()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=handler.authenticate,
        auth_require_tls=False,  # a loopback relay: the one case clear-text AUTH may be allowed
    )
    controller.start()
    yield handler, int(controller.port)
    controller.stop()


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "m@example.org", "a@example.org", "digest"
    mail.set_content("body")
    return mail


def test_no_smtp_password_over_a_clear_connection_unless_allowed(
    auth_smtp: tuple[AuthRecorder, int],
) -> None:
    handler, port = auth_smtp
    clear = SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": port, "username": "monitor", "password": "s3cr3t-pw"}
    )
    with pytest.raises(PermanentDeliveryError, match="allow_insecure_auth"):
        send_email(message(), clear)
    assert handler.logins == []
    assert handler.messages == []
    allowed = clear.model_copy(update={"allow_insecure_auth": True})
    assert send_email(message(), allowed) == []
    assert handler.logins == [(b"monitor", b"s3cr3t-pw")]
    assert len(handler.messages) == 1


def test_check_refuses_clear_text_smtp_auth_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "feeds: []\nsmtp:\n  host: mail.example.org\n  security: none\n"
        "  username: monitor\n  password: ${SMTP_PASSWORD}\n",
        encoding="utf-8",
    )
    result = monitor(config, "check", env={"SMTP_PASSWORD": "pw"})
    assert result.returncode == 1
    assert "smtp.username (line 5)" in result.stderr
    assert "allow_insecure_auth" in result.stderr
    allowed = config.read_text() + "  allow_insecure_auth: true\n"
    config.write_text(allowed, encoding="utf-8")
    assert "allow_insecure_auth" not in monitor(config, "check", env={"SMTP_PASSWORD": "pw"}).stderr


HOSTILE_NAME = "[link=https://evil.example/]Trusted wire[/link]"
# (A NUL byte does not get this far on PostgreSQL, which refuses it: issue #13's column
# limits. The sanitiser drops it like any control character.)
HOSTILE_TITLE = "USMCA \x1b]0;pwned\x07deal\x1b[2J signed\x08 today"


def test_feed_text_cannot_drive_the_terminal(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
) -> None:
    feed = http_server.add("/f.xml", Route(body=rss([fresh_item(HOSTILE_TITLE, "h1")])))
    config = write_config(db_url, [feed])
    data = yaml.safe_load(config.read_text())
    data["feeds"][0]["name"] = HOSTILE_NAME
    config.write_text(yaml.safe_dump(data))
    outputs = {
        command: monitor(config, *command.split())
        for command in ("poll", "status", "explain https://news.example/h1")
    }
    for command, result in outputs.items():
        assert result.returncode == 0, (command, result.stderr)
        assert "\x1b" not in result.stdout, command
        assert "\x07" not in result.stdout, command
        assert "\x08" not in result.stdout, command
    assert "[link=https://evil.example/]Trusted wire[/link]" in outputs["status"].stdout
    assert "USMCA deal signed today" in outputs["explain https://news.example/h1"].stdout


def test_deliveries_retry_names_a_webhook_by_its_label(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
) -> None:
    received: list[Request] = []
    hook = http_server.add(f"/services/{HOOK_TOKEN}", recorder(received, status=400))
    feed = http_server.add("/f.xml", Route(body=rss([fresh_item("USMCA talks resume", "r1")])))
    config = write_config(db_url, [feed], webhook_url=hook)
    assert monitor(config, "poll").returncode == 0
    assert monitor(config, "digest", "--send").returncode == 1  # the 400 failed it
    # A row queued before targets were labels holds the URL itself.
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE deliveries SET target = :url"), {"url": hook})
            (delivery_id,) = connection.execute(sa.text("SELECT id FROM deliveries")).one()
    finally:
        engine.dispose()

    result = monitor(config, "deliveries", "retry", str(delivery_id))
    assert result.returncode == 0, result.stderr
    assert f"delivery {delivery_id} (desk, webhook http://127.0.0.1:" in result.stdout
    assert "/...#" in result.stdout
    assert "hUnTeR2" not in result.stdout + result.stderr
    resent = monitor(config, "digest", "--send")
    assert len(received) == 2
    assert "hUnTeR2" not in resent.stdout + resent.stderr
