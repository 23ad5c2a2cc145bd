"""The configuration, composed: each stage's section, loaded, resolved and cross-checked.

A YAML file becomes a frozen :class:`Config`. Each stage declares its own section,
every field with its type, default and a one-line reason, next to the code that
reads it (:mod:`monitor.fetch.settings`, :mod:`monitor.deliver.settings`,
:mod:`monitor.deliver.alerts`, :mod:`monitor.store.settings`,
:mod:`monitor.ops.settings`, :mod:`monitor.rules.models`, :mod:`monitor.channels`),
on the shared field types of :mod:`monitor.fields`; this module places them under
their keys and declares the rest (database, feeds, top-level lists). No stage
imports this module: each is handed its section (``tests/test_layers.py``).
Nothing else in the project reads YAML or environment variables for settings.
Loading happens in three passes, and every problem found is reported at once,
each naming its key path and line:

1. :mod:`monitor.yamlsource` parses the YAML, keeps line numbers and expands
   ``${VAR}`` / ``${VAR:-default}``;
2. ``*_file`` keys (``password_file``, ``secret_file``) are read into their
   sibling secret; a secret written inline in the YAML is refused;
3. pydantic validates types and values, then cross-field checks run (an alert
   naming a missing watch, duplicate names, queries that do not compile).

``MONITOR_DATABASE_URL`` overrides ``database``. Relative paths in the file (``seeds``,
``feeds_opml``, ``*_file``, a SQLite ``database``, whose default too) are taken from the
config file's folder; a relative SQLite path in ``MONITOR_DATABASE_URL`` from the current
folder, as any path given in the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from monitor.channels.email import EmailChannel, SmtpConfig
from monitor.channels.registry import settings_model
from monitor.channels.webhook import WebhookChannel
from monitor.deliver.alerts import AlertConfig
from monitor.deliver.settings import DeliverySettings
from monitor.errors import ConfigError, RuleError
from monitor.fetch.settings import FetchSettings
from monitor.fields import (
    MAX_URL_CHARS,
    Duration,
    HttpUrl,
    Name,
    in_quiet_hours,
    parse_duration,
)
from monitor.fulltext import FullText, FullTextSettings
from monitor.ops.settings import OpsSettings
from monitor.rules.models import AliasInContext, AliasMember, GuardConfig, RulesConfig, WatchConfig
from monitor.store.settings import ReplicaSettings, RetentionSettings
from monitor.yamlsource import Path as KeyPath
from monitor.yamlsource import YamlDocument, format_path, load_yaml

DEFAULT_CONFIG = Path("config/monitor.yaml")
DEFAULT_DATABASE = "sqlite:///data/monitor.db"

_SQLITE_URL = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(.*)$", re.S)


def sqlite_relative_to(url: str, base_dir: Path) -> str:
    """A SQLite URL whose relative path is taken from ``base_dir`` (the config file's
    folder, like every other path in the config); other URLs unchanged."""
    found = _SQLITE_URL.match(url)
    if not found:
        return url
    scheme, path, rest = found.groups()
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"{scheme}{(base_dir / path).resolve()}{rest}"


MAX_FEED_NAME_CHARS = 300
"""Longest feed name: what the database's name column holds."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class FeedConfig(_Model):
    """One feed to poll."""

    url: HttpUrl
    name: str = Field(default="", max_length=MAX_FEED_NAME_CHARS)
    """Display name and the ``source:`` of queries; defaults to the URL's host."""
    interval: Duration = timedelta(minutes=15)
    """How often to poll this feed."""
    tags: tuple[str, ...] = ()
    full_text: FullText = "off"
    """Read the article page of teaser entries: ``off`` (``false``), ``matching`` (``true``:
    those a watch may match once it is read) or ``always`` (see :mod:`monitor.fulltext`)."""
    type: Literal["rss", "atom", "jsonfeed", "sitemap"] | None = None
    """The source type (:mod:`monitor.sources`); unset: sniffed from each response."""

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        return urlsplit(self.url).hostname or self.url


class Config(_Model):
    """The whole configuration file."""

    database: str = DEFAULT_DATABASE
    """SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user@host/db``."""
    database_connect_timeout: Duration = timedelta(seconds=10)
    """PostgreSQL: longest wait to open a connection; an unreachable server fails a call
    (and /readyz) instead of hanging it."""
    database_statement_timeout: Duration = timedelta(seconds=60)
    """PostgreSQL: longest one statement may run (migrations excepted); a lock held
    elsewhere fails the call with a reason instead of stalling the daemon for good."""
    fetch: FetchSettings = FetchSettings()
    delivery: DeliverySettings = DeliverySettings()
    replica: ReplicaSettings = ReplicaSettings()
    retention: RetentionSettings = RetentionSettings()
    ops: OpsSettings = OpsSettings()
    full_text: FullTextSettings = FullTextSettings()
    feeds: tuple[FeedConfig, ...] = ()
    aliases: dict[str, tuple[AliasMember, ...]] = Field(default_factory=dict)
    """Named alias groups, used in queries as ``@name``; a member is a term or a term in context."""
    watches: tuple[WatchConfig, ...] = ()
    rules: RulesConfig = RulesConfig()
    guards: dict[Name, GuardConfig] = Field(default_factory=dict)
    """Topic guards of this config, by name, usable in watches besides the shipped ones."""
    alerts: tuple[AlertConfig, ...] = ()
    smtp: SmtpConfig | None = None
    dedup: dict[str, float | int] = Field(default_factory=dict)
    """Near-duplicate thresholds overriding the defaults of ``monitor.dedup.settings``."""
    feeds_opml: tuple[str, ...] = ()
    """OPML files whose feeds are polled too (interval from ``feeds_opml_interval``);
    relative to this file. ``monitor feeds import`` merges into the first one."""
    feeds_opml_interval: Duration = timedelta(minutes=15)
    """Poll interval of the feeds that come from ``feeds_opml``."""
    seeds: tuple[str, ...] = ()
    """Fingerprint files of known (baseline) articles, loaded at start; relative to this file."""
    digest_max_items: int = Field(default=200, gt=0)
    """Most stories one digest carries; the rest wait for the next one."""

    @field_validator("database")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not _DATABASE_URL.match(value):
            raise ValueError(_DATABASE_URL_EXPECTED)
        return value

    def watch(self, name: str) -> WatchConfig:
        return next(w for w in self.watches if w.name == name)

    def guard_queries(self) -> dict[str, str]:
        """Every guard a watch may name, as a query: the shipped ones and this config's."""
        from monitor.rules.guards import GUARDS, terms_query

        return {**GUARDS, **{name: terms_query(g.terms) for name, g in self.guards.items()}}

    def alert(self, name: str) -> AlertConfig:
        for alert in self.alerts:
            if alert.name == name:
                return alert
        raise ConfigError(
            f"no alert named {name!r} (known: {', '.join(a.name for a in self.alerts)})"
        )


_DATABASE_URL = re.compile(r"^(sqlite|postgresql)(\+\w+)?://")
_DATABASE_URL_EXPECTED = "expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"

# Keys holding credentials, by the path pattern of their parent mapping: each may be read
# from ``KEY_file``. True: an inline value (or a ${VAR:-default} one) is refused. A chat
# webhook's URL is its credential but a plain receiver's is not, so a URL may stay inline.
_SECRET_KEYS: dict[tuple[str, ...], dict[str, bool]] = {
    ("smtp",): {"password": True},
    ("alerts", "*", "webhook"): {"secret": True, "url": False},
}


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, expand, validate and cross-check the config at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the config file as UTF-8",
            source,
        ) from exc
    return parse_config(text, source, env, base_dir=Path(path).parent)


def parse_config(
    text: str,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Config:
    """Validate YAML ``text``; all problems are raised together as one ConfigError."""
    environ = os.environ if env is None else env
    doc = load_yaml(text, source, environ)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError("the top level must be a mapping of keys (database, feeds, ...)", source)
    problems = _resolve_secrets(doc, base_dir or Path("."))
    problems += _check_references(doc)
    if override := environ.get("MONITOR_DATABASE_URL"):
        if _DATABASE_URL.match(override):
            doc.data["database"] = override
        else:  # named as what it is: the file's line would point at the wrong place
            problems.append(f"MONITOR_DATABASE_URL (environment): {_DATABASE_URL_EXPECTED}")
    elif base_dir is not None:
        database = doc.data.get("database", DEFAULT_DATABASE)
        if isinstance(database, str):
            doc.data["database"] = sqlite_relative_to(database, base_dir)
    try:
        config = Config.model_validate(doc.data)
    except ValidationError as exc:
        problems += [_describe(doc, err) for err in exc.errors()]
        raise ConfigError(problems, source) from None
    problems += _cross_check(config, doc)
    root = base_dir or Path(".")
    opml_files = tuple(str((root / path).resolve()) for path in config.feeds_opml)
    feeds = list(config.feeds)
    for index, path in enumerate(opml_files):
        feeds += _opml_feeds(path, doc, index, config, problems)
    config = config.model_copy(update={"feeds_opml": opml_files, "feeds": tuple(_unique(feeds))})
    seeds = tuple(str((root / seed).resolve()) for seed in config.seeds)
    for index, seed in enumerate(seeds):
        if not Path(seed).is_file():
            problems.append(f"{doc.where(('seeds', index))}: no such file: {seed}")
    if problems:
        raise ConfigError(problems, source)
    return config.model_copy(update={"seeds": seeds})


def _describe(doc: YamlDocument, error: Any) -> str:
    loc: KeyPath = tuple(error["loc"])
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling and indentation)"
    elif error["type"] == "missing":
        message = "required key is missing"
    if len(loc) > 4 and loc[2] == "channels" and settings_model(loc[4]) is not None:
        loc = loc[:4] + loc[5:]  # the entry's type, which pydantic names, is no key
    message = message.removeprefix("Value error, ")
    return f"{doc.where(loc)}: {message}"


def _resolve_secrets(doc: YamlDocument, base_dir: Path) -> list[str]:
    problems: list[str] = []
    for parent_path, mapping in _secret_parents(doc.data):
        keys = _SECRET_KEYS.get(_pattern(parent_path))
        if keys is None:  # an entry of channels: its type's model says which keys
            model = settings_model(mapping.get("type"))
            keys = model.SECRETS if model else {}
        for key, strict in keys.items():
            problems += _resolve_secret(doc, base_dir, parent_path, mapping, key, strict)
    return problems


def _resolve_secret(
    doc: YamlDocument,
    base_dir: Path,
    parent_path: KeyPath,
    mapping: dict[str, Any],
    key: str,
    strict: bool,
) -> list[str]:
    """Read ``KEY_file`` into ``key``; refuse a strict key written inline or by a default."""
    file_key, path = f"{key}_file", (*parent_path, key)
    if file_key in mapping:
        file_path = (*parent_path, file_key)
        if key in mapping:
            return [f"{doc.where(file_path)}: give {key} or {file_key}, not both"]
        target = base_dir / str(mapping.pop(file_key))
        try:
            mapping[key] = target.read_text(encoding="utf-8").strip()
        except OSError as exc:
            return [f"{doc.where(file_path)}: cannot read {target}: {exc.strerror or exc}"]
        return []
    if not strict or mapping.get(key) is None:
        return []
    if path not in doc.from_env:
        return [
            f"{doc.where(path)}: secrets must not be written inline; use ${{ENV_VAR}} or {file_key}"
        ]
    if path in doc.defaulted:
        return [
            f"{doc.where(path)}: a secret must not have a default (${{VAR:-...}} writes it "
            f"inline); use ${{ENV_VAR}} or {file_key}"
        ]
    return []


def _secret_parents(data: Any) -> list[tuple[KeyPath, dict[str, Any]]]:
    found: list[tuple[KeyPath, dict[str, Any]]] = []
    if not isinstance(data, dict):
        return found
    if isinstance(data.get("smtp"), dict):
        found.append((("smtp",), data["smtp"]))
    alerts = data.get("alerts")
    if isinstance(alerts, list):
        for index, alert in enumerate(alerts):
            if isinstance(alert, dict) and isinstance(alert.get("webhook"), dict):
                found.append((("alerts", index, "webhook"), alert["webhook"]))
            listed = alert.get("channels") if isinstance(alert, dict) else None
            for c_index, entry in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(entry, dict):
                    found.append((("alerts", index, "channels", c_index), entry))
    return found


def _pattern(path: KeyPath) -> tuple[str, ...]:
    return tuple("*" if isinstance(part, int) else part for part in path)


def _entries(data: Any, key: str) -> list[dict[str, Any]]:
    """The mappings under a top-level list key, tolerating any shape (checked elsewhere)."""
    value = data.get(key) if isinstance(data, dict) else None
    return (
        [item if isinstance(item, dict) else {} for item in value]
        if isinstance(value, list)
        else []
    )


def _check_references(doc: YamlDocument) -> list[str]:
    """Name clashes and dangling watch names, on the raw data: they run even when types fail."""
    problems: list[str] = []
    for kind, field in (("watches", "name"), ("alerts", "name"), ("feeds", "url")):
        seen: set[str] = set()
        for index, item in enumerate(_entries(doc.data, kind)):
            value = item.get(field)
            if isinstance(value, str) and value in seen:
                problems.append(f"{doc.where((kind, index, field))}: {value!r} is used twice")
            seen.add(str(value))
    known = {str(w.get("name")) for w in _entries(doc.data, "watches")}
    for a_index, alert in enumerate(_entries(doc.data, "alerts")):
        watches = alert.get("watches")
        for w_index, watch in enumerate(watches if isinstance(watches, list) else []):
            if isinstance(watch, str) and watch not in known:
                problems.append(
                    f"{doc.where(('alerts', a_index, 'watches', w_index))}: no watch named "
                    f"{watch!r} (known: {', '.join(sorted(known)) or 'none'})"
                )
    return problems


def _cross_check(config: Config, doc: YamlDocument) -> list[str]:
    problems: list[str] = []
    for index, alert in enumerate(config.alerts):
        if not alert.channels:
            problems.append(
                f"{doc.where(('alerts', index))}: alert {alert.name!r} has no email or webhook"
                " (or channels)"
            )
        problems += _check_channels(alert, index, doc)
        for w_index, watch in enumerate(alert.immediate):
            if watch not in alert.watches:
                problems.append(
                    f"{doc.where(('alerts', index, 'immediate', w_index))}: {watch!r} is not one of "
                    f"this alert's watches ({', '.join(alert.watches)})"
                )
        if alert.email and config.smtp is None:
            problems.append(f"{doc.where(('alerts', index, 'email'))}: email needs an smtp section")
        for c_index, entry in enumerate(alert.listed):
            if entry.type == "email" and config.smtp is None:
                where = doc.where(("alerts", index, "channels", c_index))
                problems.append(f"{where}: an email channel needs an smtp section")
    smtp = config.smtp
    if smtp and smtp.security == "none" and smtp.username and not smtp.allow_insecure_auth:
        problems.append(
            f"{doc.where(('smtp', 'username'))}: with security: none the password would cross "
            "the network in clear text; use security: starttls or ssl, or set "
            "smtp.allow_insecure_auth: true (a relay on loopback)"
        )
    if config.replica.feed_lease <= config.fetch.timeout:
        problems.append(
            f"{doc.where(('replica', 'feed_lease'))}: must be longer than fetch.timeout "
            f"({config.fetch.timeout}), or a slow poll would be taken over while still running"
        )
    timeouts = [
        timeout
        for alert in config.alerts
        for entry in alert.entries
        if isinstance(timeout := getattr(entry, "timeout", None), timedelta)
    ]
    if config.smtp is not None and any("email" in a.channels for a in config.alerts):
        timeouts.append(config.smtp.timeout)
    slowest = max(timeouts, default=timedelta(0))
    if config.replica.delivery_lease <= slowest:
        problems.append(
            f"{doc.where(('replica', 'delivery_lease'))}: must be longer than the slowest "
            f"channel timeout ({slowest}), or a slow send would be taken over while still running"
        )
    problems += _check_queries(config, doc)
    problems += _check_dedup(config, doc)
    return problems


def _check_channels(alert: AlertConfig, index: int, doc: YamlDocument) -> list[str]:
    """Each target once per alert, and what each entry finds wrong with itself."""
    from monitor.channels.registry import CHANNELS

    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    listed = len(alert.entries) - len(alert.listed)
    for e_index, entry in enumerate(alert.entries):
        path: KeyPath = (
            ("alerts", index, "channels", e_index - listed)
            if e_index >= listed
            else ("alerts", index, entry.type)
        )
        for target in CHANNELS[entry.type].targets(entry):
            if (entry.type, target) in seen:
                problems.append(f"{doc.where(path)}: {entry.type} {target} is listed twice")
            seen.add((entry.type, target))
        problems += [f"{doc.where((*path, *key))}: {why}" for key, why in entry.problems()]
    return problems


def _opml_feeds(
    path: str, doc: YamlDocument, index: int, config: Config, problems: list[str]
) -> list[FeedConfig]:
    from monitor.opml import parse_opml

    where = doc.where(("feeds_opml", index))
    if not Path(path).is_file():  # `monitor feeds import` creates it
        return []
    try:
        subscriptions = parse_opml(Path(path).read_bytes(), path)
    except ConfigError as exc:
        problems += [f"{where}: {p}" for p in exc.problems]
        return []
    feeds = []
    for sub in subscriptions:
        try:
            feeds.append(
                FeedConfig(
                    url=sub.url, name=sub.name, interval=config.feeds_opml_interval, tags=sub.tags
                )
            )
        except ValidationError as exc:
            problems.append(f"{where}: {path}: feed {sub.url!r}: {exc.errors()[0]['msg']}")
    return feeds


def _unique(feeds: list[FeedConfig]) -> list[FeedConfig]:
    """Feeds by URL, the config's own entry winning over an OPML one."""
    seen: dict[str, FeedConfig] = {}
    for feed in feeds:
        seen.setdefault(feed.url, feed)
    return list(seen.values())


def _check_dedup(config: Config, doc: YamlDocument) -> list[str]:
    from monitor.dedup.settings import with_overrides

    try:
        with_overrides(config.dedup)
    except ConfigError as exc:
        # Each problem reads "dedup.NAME: message"; point it at NAME's line.
        described = []
        for problem in exc.problems:
            key, _, message = problem.partition(": ")
            described.append(f"{doc.where(tuple(key.split('.')))}: {message}")
        return described
    return []


def _check_guards(config: Config, doc: YamlDocument) -> list[str]:
    """The config's own guards: new names, and terms that are terms."""
    from monitor.rules import compile_query
    from monitor.rules.guards import GUARDS, terms_query

    problems: list[str] = []
    for name, guard in config.guards.items():
        if name in GUARDS:
            problems.append(
                f"{doc.where(('guards', name))}: {name!r} is a shipped guard; give yours "
                "another name (a watch may list both)"
            )
        for index, term in enumerate(guard.terms):
            where = doc.where(("guards", name, "terms", index))
            if '"' in term:
                problems.append(f"{where}: guard {name!r}: write a term without quotes")
                continue
            try:
                compile_query(terms_query([term]))
            except RuleError as exc:
                problems.append(f"{where}: guard {name!r}: {term!r} is not a term: {exc}")
    return problems


def _check_queries(config: Config, doc: YamlDocument) -> list[str]:
    from monitor.rules import compile_query

    problems = _check_guards(config, doc)
    known = config.guard_queries()
    for index, watch in enumerate(config.watches):
        for g_index, guard in enumerate(watch.guards):
            if guard not in known:
                problems.append(
                    f"{doc.where(('watches', index, 'guards', g_index))}: watch {watch.name!r}: "
                    f"unknown guard {guard!r} (known: {', '.join(known)})"
                )
        for key in ("query", "exclude"):
            query = getattr(watch, key)
            if query is None:
                continue
            try:
                compile_query(query, config.aliases)
            except RuleError as exc:
                problems.append(
                    f"{doc.where(('watches', index, key))}: watch {watch.name!r}: {exc}"
                )
    return problems


__all__ = [
    "DEFAULT_CONFIG",
    "MAX_URL_CHARS",
    "AlertConfig",
    "AliasInContext",
    "Config",
    "DeliverySettings",
    "EmailChannel",
    "FeedConfig",
    "FetchSettings",
    "GuardConfig",
    "OpsSettings",
    "ReplicaSettings",
    "RetentionSettings",
    "RulesConfig",
    "SmtpConfig",
    "WatchConfig",
    "WebhookChannel",
    "format_path",
    "in_quiet_hours",
    "load_config",
    "parse_config",
    "parse_duration",
]
