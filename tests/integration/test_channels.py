"""ntfy, Telegram and Apprise end to end: a digest through the real pipeline and relay to
local fakes of their HTTP APIs on loopback, on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.channels.text import WORD_JOINER
from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route
from tests.channels.test_text import parsed
from tests.conftest import FROZEN_NOW
from tests.support.feeds import Item, rss

HOUR = timedelta(hours=1)
BOT_TOKEN = "123456:AAHk-test_token_never_shown"
NTFY_TOKEN = "tk_testtokenneverinalog"
ITEMS = [
    Item(
        "USMCA review: <b>ministers</b> & @everyone meet",
        "https://news.example/usmca?a=1&b=2",
        "Canada & Mexico compare notes <i>before</i> the review.",
        FROZEN_NOW - 3 * HOUR,
        "c-1",
    ),
    Item(
        "Carney and Sheinbaum talk trade",
        "https://news.example/leaders",
        "The leaders of Canada and Mexico met in Mexico City.",
        FROZEN_NOW - HOUR,
        "c-2",
    ),
]


def many_items(count: int) -> list[Item]:
    return [
        Item(
            f"USMCA update {n}: tariffs on autos and steel " + "detail " * 20,
            f"https://news.example/usmca/{n}",
            f"USMCA story {n} with a summary long enough to fill a message. " * 6,
            FROZEN_NOW - HOUR - timedelta(minutes=n),
            f"many-{n}",
        )
        for n in range(count)
    ]


def with_channels(path: Path, channels: list[dict[str, Any]], **alert: Any) -> Path:
    """The written config, its alert sending to ``channels`` only."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["alerts"][0].pop("webhook", None)
    data["alerts"][0]["channels"] = channels
    data["alerts"][0].update(alert)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def polled(open_pipeline: Callable[..., Pipeline], path: Path, matched: int) -> Pipeline:
    pipeline = open_pipeline(path)
    assert asyncio.run(pipeline.poll()).matched == matched
    return pipeline


class Replies:
    """A fake API's answers in order (then 200 with ``ok``), and what it was sent."""

    def __init__(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.answers = list(answers)
        self.received: list[Request] = []

    def route(self, ok: bytes) -> Route:
        def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
            self.received.append(request)
            if self.answers:
                return self.answers.pop(0)
            return 200, {"Content-Type": "application/json"}, ok

        return Route(responder=respond)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.body) for request in self.received]


def ntfy_fake(server: HttpServer, *answers: tuple[int, dict[str, str], bytes]) -> Replies:
    """ntfy's JSON publish API: POST / with {topic, title, message, ...}."""
    replies = Replies(*answers)
    server.add("/", replies.route(b'{"id":"x1","event":"message"}'))
    return replies


def telegram_fake(server: HttpServer, *answers: tuple[int, dict[str, str], bytes]) -> Replies:
    """The Bot API's sendMessage for BOT_TOKEN."""
    replies = Replies(*answers)
    server.add(f"/bot{BOT_TOKEN}/sendMessage", replies.route(b'{"ok":true,"result":{}}'))
    return replies


def test_ntfy_gets_the_digest_with_title_tags_priority_and_token(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("NTFY_TOKEN", NTFY_TOKEN)
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    fake = ntfy_fake(http_server)
    entry = {
        "type": "ntfy",
        "server": http_server.base,
        "topic": "trade-desk",
        "token": "${NTFY_TOKEN}",
        "priority": "high",
        "tags": ["newspaper"],
    }
    path = with_channels(write_config(db_url, [feed]), [entry])
    pipeline = polled(open_pipeline, path, 2)
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    assert [(o.channel, o.status) for o in summary.deliveries] == [("ntfy", "sent")]
    assert NTFY_TOKEN not in summary.deliveries[0].target
    (request,) = fake.received
    assert request.path == "/"
    assert request.headers["authorization"] == f"Bearer {NTFY_TOKEN}"
    body = fake.bodies()[0]
    assert body["topic"] == "trade-desk"
    assert body["title"] == "desk: 2 new items"
    assert body["priority"] == 4
    assert body["tags"] == ["newspaper"]
    assert "click" not in body  # two stories: no single link to open
    message = body["message"]
    assert "Carney and Sheinbaum talk trade" in message
    assert "https://news.example/usmca?a=1&b=2" in message
    assert "@everyone" not in message
    assert f"@{WORD_JOINER}everyone" in message
    assert len(message.encode()) <= 4096
    assert NTFY_TOKEN not in caplog.text

    # Nothing pending: a second send sends nothing.
    assert pipeline.send_digest(pipeline.config.alert("desk"), force=True).deliveries == ()
    assert len(fake.received) == 1


def test_ntfy_refusals_map_onto_retry_and_failure(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    fake = ntfy_fake(
        http_server,
        (429, {"Retry-After": "120"}, b'{"code":42901,"error":"limit reached"}'),
        (403, {}, b'{"code":40301,"error":"forbidden"}'),
    )
    entry = {"type": "ntfy", "server": http_server.base, "topic": "desk"}
    path = with_channels(write_config(db_url, [feed]), [entry])
    pipeline = polled(open_pipeline, path, 2)
    first = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    (outcome,) = first.deliveries
    assert outcome.status == "retry"
    assert "HTTP 429" in (outcome.error or "")
    assert "limit reached" in (outcome.error or "")
    (row,) = pipeline.store.pending_deliveries("desk")
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= row.created_at + timedelta(seconds=120)  # its Retry-After

    later = pipeline.send_digest(pipeline.config.alert("desk"), force=True).deliveries
    assert [o.status for o in later] == ["failed"]
    assert "HTTP 403" in (later[0].error or "")
    assert len(fake.received) == 2


def test_telegram_gets_escaped_html_and_a_big_digest_in_parts(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TG_TOKEN", BOT_TOKEN)
    items = ITEMS + many_items(40)
    feed = http_server.add("/rss.xml", Route(body=rss(items)))
    fake = telegram_fake(http_server)
    entry = {
        "type": "telegram",
        "bot_token": "${TG_TOKEN}",
        "chat_id": -1001234567890,
        "api_base": http_server.base,
    }
    path = with_channels(write_config(db_url, [feed]), [entry])
    pipeline = polled(open_pipeline, path, len(items))
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    statuses = [o.status for o in summary.deliveries]
    assert statuses[0] == "split"
    assert statuses[1:] == ["sent"] * (len(statuses) - 1)
    assert len(statuses) - 1 == len(fake.received) >= 2
    assert {o.target for o in summary.deliveries} == {"-1001234567890"}
    shown = 0
    for body in fake.bodies():
        assert body["chat_id"] == "-1001234567890"
        assert body["parse_mode"] == "HTML"
        assert body["link_preview_options"] == {"is_disabled": True}
        assert len(body["text"]) <= 4096
        tags = parsed(body["text"])
        assert tags.balanced
        assert tags.seen <= {"b", "i", "a"}
        shown += body["text"].count('<b><a href="https://news.example/')
    assert shown == min(len(items), 50)  # max_items: 50, every one in exactly one part
    texts = "".join(body["text"] for body in fake.bodies())
    # The feed's markup is gone by parse time; what is left is escaped, and mentions nobody.
    assert "USMCA review: ministers &amp; @\u2060everyone meet</a></b>" in texts
    assert "<i><b>Canada</b> &amp; <b>Mexico</b>" in texts
    assert 'href="https://news.example/usmca?a=1&amp;b=2"' in texts
    assert [
        f"part {k} of {len(fake.received)}</b>" in body["text"]
        for k, body in enumerate(fake.bodies(), 1)
    ] == [True] * len(fake.received)
    assert BOT_TOKEN not in caplog.text
    assert all(BOT_TOKEN not in (o.error or "") + o.target for o in summary.deliveries)


@pytest.mark.parametrize(
    ("answer", "status", "said"),
    [
        (
            (429, {}, b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}'),
            "retry",
            "Too Many Requests",
        ),
        ((502, {}, b"<html>Bad Gateway</html>"), "retry", "HTTP 502"),
        ((400, {}, b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'), "failed", "chat not found"),
        ((401, {}, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'), "failed", "HTTP 401"),
        ((403, {}, b'{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}'), "failed", "blocked"),
    ],
)  # fmt: skip
def test_telegram_answers_are_transient_or_permanent(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
    answer: tuple[int, dict[str, str], bytes],
    status: str,
    said: str,
) -> None:
    monkeypatch.setenv("TG_TOKEN", BOT_TOKEN)
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    fake = telegram_fake(http_server, answer)
    entry = {
        "type": "telegram",
        "bot_token": "${TG_TOKEN}",
        "chat_id": "@tradedesk",
        "api_base": http_server.base,
    }
    path = with_channels(write_config(db_url, [feed]), [entry])
    pipeline = polled(open_pipeline, path, 2)
    (outcome,) = pipeline.send_digest(pipeline.config.alert("desk"), force=True).deliveries
    assert outcome.status == status
    assert said in (outcome.error or "")
    assert outcome.error is not None
    assert BOT_TOKEN not in outcome.error
    assert outcome.error.startswith("telegram chat @tradedesk: ")
    if status == "retry" and answer[0] == 429:
        (row,) = pipeline.store.pending_deliveries("desk")
        assert row.next_attempt_at is not None
        assert row.next_attempt_at >= row.created_at + timedelta(seconds=7)
    assert len(fake.received) == 1


def test_telegram_behind_the_ssrf_guard_is_refused(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TG_TOKEN", BOT_TOKEN)
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    fake = telegram_fake(http_server)
    entry = {
        "type": "telegram",
        "bot_token": "${TG_TOKEN}",
        "chat_id": "42",
        "api_base": http_server.base,
    }
    path = write_config(
        db_url, [feed], delivery={"allow_private": []}, fetch={"allow_private": ["127.0.0.1"]}
    )
    pipeline = polled(open_pipeline, with_channels(path, [entry]), 2)
    (outcome,) = pipeline.send_digest(pipeline.config.alert("desk"), force=True).deliveries
    assert outcome.status == "failed"
    assert "delivery.allow_private" in (outcome.error or "")
    assert fake.received == []


def test_apprise_posts_to_a_json_target_and_each_url_is_a_row(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    tmp_path: Path,
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    one, two = Replies(), Replies((500, {}, b"down"))
    http_server.add("/apprise/one", one.route(b"{}"))
    http_server.add("/apprise/two", two.route(b"{}"))
    host = http_server.base.removeprefix("http://")
    (tmp_path / "apprise.urls").write_text(
        f"# one URL a line\njson://{host}/apprise/one\n\nform://{host}/apprise/two\n",
        encoding="utf-8",
    )
    entry = {"type": "apprise", "urls_file": "apprise.urls", "timeout": "10s"}
    path = with_channels(write_config(db_url, [feed]), [entry])
    pipeline = polled(open_pipeline, path, 2)
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)

    by_target = {o.target: o for o in summary.deliveries}
    assert len(by_target) == 2
    assert all(o.channel == "apprise" for o in summary.deliveries)
    assert all("/apprise/" not in target for target in by_target)  # labels, not the URLs
    assert sorted(o.status for o in summary.deliveries) == ["retry", "sent"]
    (request,) = one.received
    body = json.loads(request.body)
    assert body["title"] == "desk: 2 new items"
    assert "Carney and Sheinbaum talk trade" in body["message"]
    assert "@everyone" not in body["message"]
    assert len(two.received) == 1  # the form:// target answered 500: retried later
    assert b"Carney" in two.received[0].body


def test_apprise_to_an_internal_host_needs_allow_private(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    target = Replies()
    http_server.add("/apprise", target.route(b"{}"))
    host = http_server.base.removeprefix("http://")
    entry = {"type": "apprise", "urls": [f"json://{host}/apprise"]}
    path = write_config(
        db_url, [feed], delivery={"allow_private": []}, fetch={"allow_private": ["127.0.0.1"]}
    )
    pipeline = polled(open_pipeline, with_channels(path, [entry]), 2)
    (outcome,) = pipeline.send_digest(pipeline.config.alert("desk"), force=True).deliveries
    assert outcome.status == "failed"
    assert "delivery.allow_private" in (outcome.error or "")
    assert target.received == []


def test_old_keys_and_channels_together_each_get_the_digest(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TG_TOKEN", BOT_TOKEN)
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    hook = Replies()
    hook_url = http_server.add("/hook", hook.route(b""))
    ntfy = ntfy_fake(http_server)
    telegram = telegram_fake(http_server)
    path = write_config(db_url, [feed], webhook_url=hook_url)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["alerts"][0]["channels"] = [
        {"type": "ntfy", "server": http_server.base, "topic": "desk"},
        {
            "type": "telegram",
            "bot_token": "${TG_TOKEN}",
            "chat_id": 7,
            "api_base": http_server.base,
        },
    ]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    pipeline = polled(open_pipeline, path, 2)
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    assert [(o.channel, o.status) for o in summary.deliveries] == [
        ("webhook", "sent"),
        ("ntfy", "sent"),
        ("telegram", "sent"),
    ]
    assert len(hook.received) == len(ntfy.received) == len(telegram.received) == 1
    assert "webhook-signature" in hook.received[0].headers


@pytest.mark.parametrize("kind", ["ntfy", "telegram"])
def test_a_refusal_for_size_sends_the_digest_in_parts(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("TG_TOKEN", BOT_TOKEN)
    feed = http_server.add("/rss.xml", Route(body=rss(ITEMS)))
    if kind == "ntfy":
        fake = ntfy_fake(http_server, (413, {}, b'{"code":41301,"error":"too large"}'))
        entry: dict[str, Any] = {"type": "ntfy", "server": http_server.base, "topic": "desk"}
    else:
        refusal = b'{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}'
        fake = telegram_fake(http_server, (400, {}, refusal))
        entry = {
            "type": "telegram",
            "bot_token": "${TG_TOKEN}",
            "chat_id": 5,
            "api_base": http_server.base,
        }
    pipeline = polled(open_pipeline, with_channels(write_config(db_url, [feed]), [entry]), 2)
    summary = pipeline.send_digest(pipeline.config.alert("desk"), force=True)
    assert [o.status for o in summary.deliveries] == ["split", "sent", "sent"]
    assert len(fake.received) == 3
    texts = [b.get("message") or b.get("text") for b in fake.bodies()[1:]]
    assert sum("Carney and Sheinbaum talk trade" in t for t in texts) == 1
    assert sum("ministers" in t for t in texts) == 1
    assert all(
        "part " in t or "part " in b.get("title", "")
        for t, b in zip(texts, fake.bodies()[1:], strict=True)
    )
