"""The ``monitor`` command: argument parsing and wiring, no logic.

Exit codes: 0 success; 1 a problem was reported (bad config, failed sends,
unreachable database); 2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

# Heavy modules are imported by the commands that need them: the parser worker processes
# import this module (it is the program's main module) and should stay small, the config's
# models (pydantic) included.
from monitor.collector import collect_less
from monitor.errors import ConfigError, MonitorError, UsageError
from monitor.ops.logs import LOG_FORMATS, LOG_LEVELS, setup_logging
from monitor.ops.terminal import plain
from monitor.redact import redact_urls, shown_target

if TYPE_CHECKING:  # the heavy imports wait until a command needs them
    from rich.console import Console

    from monitor.config import Config, FeedConfig
    from monitor.pipeline import FeedOutcome, Pipeline, PollSummary
    from monitor.rules import RuleSet, WatchSpec
    from monitor.rules.backtest import Hit
    from monitor.store.express import ExpressFeeds
    from monitor.store.feedstate import FeedState
    from monitor.store.store import Store

Handler = Callable[[argparse.Namespace], int]
CommandMaker = Callable[[str, Handler, str], argparse.ArgumentParser]


PYDANTIC_PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"


def main(argv: Sequence[str] | None = None) -> int:
    """The program; ``argv`` None means the process's own command line: then a command that
    has released everything it held ends the process at once (:func:`_leave`)."""
    # pydantic looks through every installed package's metadata for plugins at the first
    # model it builds: about 20 ms of every command's start (#14), for plugins monitor
    # has no use for. A value the environment sets (an empty one enables them) is kept.
    os.environ.setdefault(PYDANTIC_PLUGINS_VARIABLE, "__all__")
    with collector_paused():  # the parser imports the config's models
        parser = build_parser()
    args = parser.parse_args(argv)
    code = _main(parser, args)
    if argv is None and getattr(args, "quick_exit", False):
        _leave(code)
    return code


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if getattr(args, "html", None) and not getattr(args, "preview", False):
        parser.error("--html goes with --preview")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        _setup_logs(args)
        result: int = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handling below
        return result
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader left (`monitor explain 10 | head -1`): stop quietly. Python's documented
        # way: point stdout at devnull so the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a command starts up.

    Start-up makes some 200,000 objects that live as long as the process (the imported
    modules, the config's models, the compiled rules) and almost no cyclic garbage; the
    collector would walk them over and over as they are made, some 150 ms of a
    ``monitor poll`` process. Nested uses leave it to the outermost one.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _leave(code: int) -> NoReturn:
    """End the process now, with ``code``, output flushed and logs closed.

    What Python would do after this is tear down every module and object one by one
    (100-200 ms of a ``monitor poll`` process) only to hand the memory back to the system
    anyway. Only for a command that has already closed what it opened (the database,
    the parser processes, its threads) and says so by setting ``args.quick_exit``.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader left; nothing more can be said
        pass
    logging.shutdown()
    os._exit(code)


def build_parser() -> argparse.ArgumentParser:
    from monitor.config import DEFAULT_CONFIG

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help=f"config file (default: $MONITOR_CONFIG or {DEFAULT_CONFIG})",
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        type=_level_argument,
        help=f"{', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]} (default: $MONITOR_LOG_LEVEL "
        "or INFO)",
    )
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Self-hosted news monitoring: poll feeds, match watch rules, send digests.",
        parents=[common],
    )
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="print monitor's version and how it runs the rule engine (compiled or pure Python)",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command("check", cmd_check, "validate the config and exit 0, or print every problem and exit 1")
    poll = command(
        "poll",
        cmd_poll,
        "run one poll cycle now and print a line per feed and a summary; exit 0 when every "
        f"feed was fine, 1 when some failed, {POLL_ALL_FAILED} when all failed",
    )
    poll.add_argument(
        "--feed", action="append", metavar="URL_OR_NAME", help="poll only this feed (repeatable)"
    )
    poll.add_argument(
        "--force",
        action="store_true",
        help="also poll feeds whose server asked to wait (Retry-After) or said gone (410)",
    )
    digest = command("digest", cmd_digest, "preview or send each alert's pending digest now")
    mode = digest.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--preview", action="store_true", help="print the pending digests; send and mark nothing"
    )
    mode.add_argument("--send", action="store_true", help="build and send the pending digests now")
    digest.add_argument(
        "--alert", action="append", metavar="NAME", help="only this alert (repeatable)"
    )
    digest.add_argument(
        "--html",
        metavar="PATH",
        help="with --preview: also write the HTML digest to PATH for a browser "
        "(with several alerts, one file each: PATH-ALERT.html)",
    )
    command("run", cmd_run, "run the daemon: poll and send on schedule until SIGTERM/SIGINT")
    status = command("status", cmd_status, "show feeds, alerts and deliveries needing attention")
    status.add_argument("--broken", action="store_true", help="only feeds whose last poll failed")
    deliveries = command("deliveries", cmd_deliveries, "list the delivery ledger (newest last)")
    deliveries.add_argument(
        "--status", choices=["pending", "sent", "failed", "split"], help="only this status"
    )
    deliveries.add_argument("--alert", metavar="NAME", help="only this alert")
    deliveries.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    delivery_commands = deliveries.add_subparsers(title="deliveries commands", metavar="ACTION")
    retry = delivery_commands.add_parser(
        "retry",
        parents=[common],
        help="requeue a failed or waiting delivery to go out at the next relay",
        description="requeue a failed or waiting delivery to go out at the next relay",
    )
    retry.add_argument("id", type=int, help="delivery id (see `monitor deliveries`)")
    retry.set_defaults(handler=cmd_deliveries_retry)
    _feed_commands(command, common)
    _rules_commands(command, common)
    _seed_commands(command, common)
    _db_commands(command, common)
    return parser


class _Version(argparse.Action):
    """``--version``, worked out only when asked: which build runs the rule engine."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        from importlib.metadata import version

        from monitor.rules import native

        print(f"monitor {version('monitor')}; rule engine: {native.choose()}")
        parser.exit()


def _feed_commands(command: CommandMaker, common: argparse.ArgumentParser) -> None:
    """monitor feeds import | export (OPML) | add (discovery)."""
    feeds = command("feeds", _group_help, "subscription lists: add a feed, import and export OPML")
    feed_commands = feeds.add_subparsers(title="feeds commands", metavar="FEEDS_COMMAND")
    opml_in = feed_commands.add_parser(
        "import",
        parents=[common],
        help="merge the feeds of an OPML file into the config's feeds_opml file",
        description="Merge the feeds of FILE (OPML, from any feed reader) into the first file "
        "named by the config's feeds_opml (created if missing). Feeds already configured are "
        "skipped. Running daemons pick them up on SIGHUP.",
    )
    opml_in.add_argument("file", help="an OPML file")
    opml_in.set_defaults(handler=cmd_feeds_import)
    opml_out = feed_commands.add_parser(
        "export",
        parents=[common],
        help="print every configured feed as OPML 2.0",
        description="print every configured feed as OPML 2.0",
    )
    opml_out.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    opml_out.set_defaults(handler=cmd_feeds_export)
    add = feed_commands.add_parser(
        "add",
        parents=[common],
        help="find the feeds of a URL (a feed or a page) and add one to the config's feeds:",
        description="Fetch URL. A feed (RSS, Atom, JSON Feed, news sitemap) is added as it is; "
        "an HTML page's linked feeds (or, if it links none, feeds at common paths such as /feed) "
        "are listed, and the chosen one is added to the config file's feeds: list, the rest of "
        "the file kept as it was. Several found and no --pick: a terminal asks which; "
        "otherwise they are listed and the exit status is 2.",
    )
    add.add_argument("url", help="a feed's address, or a page of the site")
    add.add_argument("--pick", type=int, metavar="N", help="add the N-th feed found (from 1)")
    add.add_argument("--name", help="display name of the feed (default: the feed's title)")
    add.set_defaults(handler=cmd_feeds_add)


def _rules_commands(command: CommandMaker, common: argparse.ArgumentParser) -> None:
    """monitor rules test | backtest"""
    rules = command("rules", _group_help, "try watch queries before they go live: test, backtest")
    rule_commands = rules.add_subparsers(title="rules commands", metavar="RULES_COMMAND")
    test = rule_commands.add_parser(
        "test",
        parents=[common],
        help="match one query (or a configured watch) against a text and explain the result",
        description="Match QUERY, or the configured --watch, against --text or --file (and "
        "--title); print match or no match and why, naming the rule or guard that stopped a "
        "query that matched. Exit 0 on a match, 1 on none, 2 if the query is invalid. Alias "
        "groups, guards and rules settings come from the config when it can be read.",
    )
    tested = test.add_mutually_exclusive_group(required=True)
    tested.add_argument("query", nargs="?", help="the query, e.g. '@usmca NEAR/10 review'")
    tested.add_argument("--watch", help="a watch name from the config, with its rules")
    _watch_rule_options(test)
    source = test.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to match (as an entry's summary)")
    source.add_argument("--file", help="read the text from this file ('-' for stdin)")
    test.add_argument("--title", default="", help="an entry title to match as well")
    test.add_argument("--source", default="", help="a feed name, for source: queries")
    test.set_defaults(handler=cmd_rules_test)
    backtest = rule_commands.add_parser(
        "backtest",
        parents=[common],
        help="run a watch (or an unsaved query) over stored entries; sends nothing",
        description="Run a configured watch, or --query, over entries stored by earlier polls: "
        "total hits, hits per day, and the newest hits with their explanations. "
        "Sends and writes nothing.",
    )
    target = backtest.add_mutually_exclusive_group(required=True)
    target.add_argument("watch", nargs="?", help="a watch name from the config")
    target.add_argument("--query", help="an unsaved query to try instead of a watch")
    _watch_rule_options(backtest)
    backtest.add_argument("--since", default="30d", help="how far back (first seen), e.g. 7d, 12h")
    backtest.set_defaults(handler=cmd_rules_backtest)


def _watch_rule_options(parser: argparse.ArgumentParser) -> None:
    """The rules a query can be given on the command line, as a watch has them in the config."""
    parser.add_argument("--exclude", help="with a query: an exclude query")
    parser.add_argument("--min-score", type=float, default=0.0, help="with a query: min_score")
    parser.add_argument("--min-focus", type=float, default=0.0, help="with a query: min_focus")
    parser.add_argument(
        "--guard", action="append", default=[], help="with a query: a topic guard (repeatable)"
    )


def _seed_commands(command: CommandMaker, common: argparse.ArgumentParser) -> None:
    """monitor seeds import | list, and monitor explain"""
    seeds = command("seeds", _group_help, "articles the user already knows: import, list")
    seed_commands = seeds.add_subparsers(title="seeds commands", metavar="SEEDS_COMMAND")
    seed_import = seed_commands.add_parser(
        "import",
        parents=[common],
        help="import known articles (text, HTML or JSON Lines) so copies of them never alert",
        description="Import articles the user already knows. Copies of them (syndicated, "
        "trimmed, retitled) are then recognised and suppressed. Metadata options apply to "
        "every article imported by this call. --fingerprints also writes their "
        "fingerprints (no text) to a file the config's seeds: list can load.",
    )
    seed_import.add_argument("paths", nargs="+", metavar="PATH", help="files to import")
    seed_import.add_argument("--format", choices=["auto", "text", "html", "jsonl"], default="auto")
    seed_import.add_argument("--title", help="the headline (else the file's title line)")
    seed_import.add_argument("--url", help="the article's address")
    seed_import.add_argument("--published", help="ISO date or time, e.g. 2025-09-18")
    seed_import.add_argument("--source", help="the publisher, e.g. 'The Globe and Mail'")
    seed_import.add_argument("--fingerprints", metavar="FILE", help="merge fingerprints into FILE")
    seed_import.add_argument(
        "--no-store",
        action="store_true",
        help="only write --fingerprints; leave the database alone",
    )
    seed_import.set_defaults(handler=cmd_seeds_import)
    seed_list = seed_commands.add_parser(
        "list",
        parents=[common],
        help="list the known articles",
        description="list the known articles",
    )
    seed_list.set_defaults(handler=cmd_seeds_list)
    explain = command(
        "explain",
        cmd_explain,
        "show why an entry matched, and whether (and of what) it is a duplicate",
    )
    explain.add_argument(
        "entry", help="an entry id (see `monitor rules backtest`), or its link or guid"
    )


def _db_commands(command: CommandMaker, common: argparse.ArgumentParser) -> None:
    """monitor db upgrade | current | prune"""
    db = command("db", _group_help, "database schema: upgrade, current; retention: prune")
    db_commands = db.add_subparsers(title="db commands", metavar="DB_COMMAND")
    for name, handler, text in (
        ("upgrade", cmd_db_upgrade, "apply schema migrations (safe to run from several replicas)"),
        ("current", cmd_db_current, "print the schema revision"),
        ("prune", cmd_db_prune, "delete what the retention settings say is old"),
    ):
        sub = db_commands.add_parser(name, parents=[common], help=text, description=text)
        sub.set_defaults(handler=handler)
        if name == "prune":
            sub.add_argument(
                "--dry-run", action="store_true", help="count what would go; delete nothing"
            )


def _config_path(args: argparse.Namespace) -> str:
    # --config may come before the command or after it; argparse leaves it unset otherwise.
    from monitor.config import DEFAULT_CONFIG

    given: str | None = getattr(args, "config", None)
    return given or os.environ.get("MONITOR_CONFIG") or str(DEFAULT_CONFIG)


def _level_argument(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}"
        )
    return value.upper()


def _log_level(args: argparse.Namespace) -> str:
    level: str | None = getattr(args, "log_level", None)
    if level:
        return level
    from_env = os.environ.get("MONITOR_LOG_LEVEL", "")
    if from_env and from_env.upper() not in LOG_LEVELS:
        raise UsageError(
            f"MONITOR_LOG_LEVEL={from_env!r} is not a log level; use one of {', '.join(LOG_LEVELS)}"
        )
    return from_env.upper() or "INFO"


def _log_format(config_format: str = "auto") -> str:
    """MONITOR_LOG_FORMAT, else the config's ops.log_format, else auto."""
    from_env = os.environ.get("MONITOR_LOG_FORMAT", "")
    if from_env and from_env.lower() not in LOG_FORMATS:
        raise UsageError(
            f"MONITOR_LOG_FORMAT={from_env!r} is not a log format; use one of "
            f"{', '.join(LOG_FORMATS)}"
        )
    return from_env.lower() or config_format


def _setup_logs(args: argparse.Namespace, config_format: str = "auto") -> None:
    setup_logging(_log_level(args), _log_format(config_format))


def _config(args: argparse.Namespace) -> Config:
    from monitor.config import load_config

    path = _config_path(args)
    try:
        found = Path(path).is_file()
        if found:
            Path(path).open("rb").close()
    except OSError as exc:  # a folder on the way not searchable, no read permission
        raise MonitorError(f"cannot read the config file {path}: {exc.strerror or exc}") from exc
    if not found:
        raise MonitorError(_no_config(args, path))
    config = load_config(path)
    _setup_logs(args, config.ops.log_format)
    return config


def _no_config(args: argparse.Namespace, path: str) -> str:
    from monitor.config import DEFAULT_CONFIG

    where = str(Path(path).absolute())
    if Path(path).is_dir():
        return f"{where} is a folder, not a config file; name the YAML file in it"
    if getattr(args, "config", None):
        return f"no config file at {where} (given by --config)"
    if os.environ.get("MONITOR_CONFIG"):
        return f"no config file at {where} (given by MONITOR_CONFIG)"
    return (
        f"no config found at {where} (the default, {DEFAULT_CONFIG}, is looked for in the "
        "current folder); point at one with --config PATH or MONITOR_CONFIG=PATH"
    )


def _pipeline(config: Config, polling: bool = False, counted: bool = False) -> Pipeline:
    """The config's pipeline, started; ``counted``: it records metrics (the daemon's)."""
    from monitor.pipeline import Pipeline

    return Pipeline(config, _store(config), counted=counted).start(polling)


def cmd_check(args: argparse.Namespace) -> int:
    from monitor.store.db import probe, safe_url
    from monitor.words import counted

    config = _config(args)
    # An empty section is allowed (a config is built up step by step) but said out loud.
    for count, what, consequence in (
        (len(config.feeds), "feeds", "nothing is polled; add feeds: or feeds_opml:"),
        (len(config.watches), "watches", "nothing can match; add watches:"),
        (len(config.alerts), "alerts", "nothing is sent; add alerts:"),
    ):
        if not count:
            print(f"warning: the config has no {what}: {consequence}", file=sys.stderr)
    for opml in config.feeds_opml:
        if not Path(opml).is_file():  # allowed (feeds import creates it), but a typo polls nothing
            print(
                f"warning: feeds_opml file {opml} does not exist: none of its feeds is polled "
                "(`monitor feeds import FILE.opml` creates it)",
                file=sys.stderr,
            )
    database = probe(config.database)
    print(
        f"ok: {counted(len(config.feeds), 'feed')}, {counted(len(config.watches), 'watch', 'watches')}, "
        f"{counted(len(config.alerts), 'alert')}; "
        f"database {safe_url(config.database)}: {database}"
    )
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    from monitor.allocator import tune_allocator
    from monitor.pipeline import poll_unchanged_first

    tune_allocator()  # first: before any thread takes an arena of its own
    with collector_paused():
        config = _config(args)
    feeds = config.feeds
    if args.feed:
        wanted = set(args.feed)
        feeds = tuple(f for f in config.feeds if f.url in wanted or f.display_name in wanted)
        missing = wanted - {f.url for f in feeds} - {f.display_name for f in feeds}
        if missing:
            print(
                f"error: no feed named {', '.join(sorted(missing))} in the config", file=sys.stderr
            )
            return 1
    if not args.feed:
        _start_parsers_ahead(config)
    pipeline: Pipeline | None = None

    def full() -> Pipeline:
        nonlocal pipeline
        if pipeline is not None:
            return pipeline
        with collector_paused():  # the pipeline's modules, its rules and known articles
            pipeline = _pipeline(config, polling=not args.feed)  # every feed: Pipeline.start
        # What start-up made lives until the process ends: the collections during the poll
        # need not walk it again and again.
        gc.freeze()
        return pipeline

    # A database whose feeds are all known and parsed before: unchanged feeds are recorded
    # without opening the store (monitor.store.express); the pipeline opens if need be.
    express = _express(config)
    try:
        if express is None:
            states = full().store.feed_states_for([feed.url for feed in feeds])
        else:
            store, states = express
            gc.freeze()
        collect_less()  # from here on, fewer collections
        # The feeds' states, read to honour the publishers, are those the poll starts from.
        skipped = {} if args.force else _politely_skipped(states)
        chosen = [feed for feed in feeds if feed.url not in skipped]

        async def poll(progress: Callable[[FeedOutcome], None] | None) -> PollSummary:
            if express is None:
                return await full().poll(chosen, progress=progress, states=states)
            return await poll_unchanged_first(config, chosen, states, store, full, progress)

        summary = asyncio.run(_poll_with_progress(poll, len(chosen)))
    finally:
        if express is not None:
            express[0].close()
        if pipeline is not None:
            pipeline.close()
        gc.unfreeze()
    # The database and the parser processes are closed: _leave. (Not after an error: a
    # pipeline that failed to start leaves its store to be closed as the process ends.)
    args.quick_exit = True
    _print_poll(summary, feeds, skipped)
    failed = len(summary.errors)
    if failed and failed == len(summary.feeds):
        return POLL_ALL_FAILED
    return 1 if failed else 0


def _print_poll(
    summary: PollSummary, feeds: Sequence[FeedConfig], skipped: Mapping[str, str]
) -> None:
    from monitor.words import counted

    for outcome in summary.feeds:
        where = f"{outcome.name} ({redact_urls(outcome.url)})"
        if outcome.status == "error":
            print(plain(f"  FAILED     {where}: {outcome.error}"))
        elif outcome.status == "not_modified":
            print(plain(f"  unchanged  {outcome.name}"))
        else:
            print(
                plain(
                    f"  ok         {outcome.name}: {counted(outcome.seen, 'item')}, {outcome.new} new, "
                    f"{outcome.matched} matched, {counted(outcome.duplicates, 'duplicate')}"
                )
            )
    for feed in feeds:
        if feed.url in skipped:
            shown = f"{feed.display_name} ({redact_urls(feed.url)})"
            print(plain(f"  skipped    {shown}: {skipped[feed.url]}"))
    print(
        plain(
            summary.line() + (f", {len(skipped)} skipped (--force polls them)" if skipped else "")
        )
    )


def _start_parsers_ahead(config: Config) -> None:
    """When the database says this poll will parse (a feed never parsed), start the
    process the parser workers are forked from now: it imports the parser and the rules
    on the core the rest of start-up leaves idle, instead of after it (bench/peers.py,
    cold cycle: see #14's notes). A poll of feeds all parsed before starts nothing."""
    from monitor.store.peek import unparsed_feeds

    if unparsed_feeds(config.database, [feed.url for feed in config.feeds]):
        from monitor.parse.pool import start_forkserver

        start_forkserver()


POLL_ALL_FAILED = 3
"""`monitor poll` when every feed it polled failed: most likely the network or the
machine, not the feeds, so cron and CI can tell an outage from a broken feed (1)."""


def _express(config: Config) -> tuple[ExpressFeeds, dict[str, FeedState]] | None:
    """The store's feeds opened without SQLAlchemy, and their states, when the database is
    a SQLite file whose schema is current and whose feeds are the config's, each parsed
    before (:mod:`monitor.store.express`); None otherwise."""
    from monitor.fetch.policy import max_jitter
    from monitor.store.express import open_express

    express = open_express(config.database)
    if express is None:
        return None
    fetch = config.fetch
    states = express.states_if_settled(
        {feed.url: (feed.display_name, feed.interval) for feed in config.feeds},
        jitter=lambda wait: max_jitter(wait, fetch),
    )
    if states is None:
        express.close()
        return None
    return express, states


def _politely_skipped(states: Mapping[str, FeedState]) -> dict[str, str]:
    """Feeds whose publisher said it is gone (410), or asked to wait (Retry-After) until a
    time still ahead: a manual poll honours what the server asked, as the daemon does."""
    from monitor.fetch.policy import manual_skip

    now = _now()
    skipped = {}
    for url, state in states.items():
        reason = manual_skip(state.disabled_at, state.last_error, state.next_poll_at, now)
        if reason:
            skipped[url] = reason
    return skipped


async def _poll_with_progress(
    poll: Callable[[Callable[[FeedOutcome], None] | None], Awaitable[PollSummary]], feeds: int
) -> PollSummary:
    """A progress bar on a terminal; plain log lines (one per cycle and per failure) otherwise."""
    if not sys.stdout.isatty():
        return await poll(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("poll", total=feeds)
        with _logs_above(bar.console):
            return await poll(lambda _: bar.advance(task))


@contextmanager
def _logs_above(console: Console) -> Iterator[None]:
    """While the progress bar is live on a terminal that also shows the logs: log lines go
    through the bar's console, printed above it instead of glued onto it, and the records
    of feed results and the summary are dropped, since the poll prints those itself."""
    if not sys.stderr.isatty():
        yield  # the logs go elsewhere (a file, a pipe): leave them as they are
        return
    from monitor.pipeline import POLL_RESULT

    root = logging.getLogger()
    saved = root.handlers[:]
    handler = _AboveTheBar(console)
    # The lines keep the format chosen for every command (text, or JSON when asked).
    handler.setFormatter(saved[0].formatter if saved else None)
    handler.addFilter(lambda record: not getattr(record, POLL_RESULT, False))
    root.handlers[:] = [handler]
    try:
        yield
    finally:
        root.handlers[:] = saved


class _AboveTheBar(logging.Handler):
    """Writes each formatted log line through the progress bar's console, which prints it
    above the bar; the text is printed as written (no markup, no highlighting)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        except Exception:  # logging's rule: a failing handler reports, never raises
            self.handleError(record)


def cmd_digest(args: argparse.Namespace) -> int:
    from monitor.digest.render import render_digest, render_html
    from monitor.words import counted

    config = _config(args)
    known = {alert.name: alert for alert in config.alerts}
    for name in args.alert or ():
        if name not in known:
            print(
                f"error: no alert named {name!r} (known: {', '.join(known) or 'none'})",
                file=sys.stderr,
            )
            return 1
    alerts = [known[name] for name in args.alert] if args.alert else list(config.alerts)
    pipeline = _pipeline(config)
    failed = False
    for alert in alerts:
        if args.preview:
            digest = pipeline.preview(alert)
            if digest is None:
                print(f"{alert.name}: nothing pending")
            else:
                print(plain(render_digest(digest, alert.timezone).text))
                if args.html:
                    path = _html_path(args.html, alert.name, len(alerts))
                    path.write_text(render_html(digest, alert.timezone), encoding="utf-8")
                    print(f"{alert.name}: HTML preview written to {path}")
            continue
        summary = pipeline.send_digest(alert, force=True)
        if summary.built is None and not summary.deliveries:
            print(f"{alert.name}: nothing pending")
        for outcome in summary.deliveries:
            print(
                plain(
                    f"{alert.name}: {outcome.channel} {outcome.status}: "
                    f"{shown_target(outcome.channel, outcome.target)}, "
                    f"digest {outcome.digest_id}, {counted(outcome.items, 'item')}"
                    + (f" ({outcome.error})" if outcome.error else "")
                )
            )
            # lost: another relay has it; split: its parts follow, each with its own outcome
            failed = failed or outcome.status not in ("sent", "lost", "split")
    return 1 if failed else 0


def cmd_feeds_import(args: argparse.Namespace) -> int:
    from monitor.opml import Subscription, parse_opml, render_opml
    from monitor.words import counted

    config = _config(args)
    if not config.feeds_opml:
        print(
            "error: the config has no feeds_opml file to import into; add for example\n"
            "  feeds_opml: [feeds.opml]\nand run this again",
            file=sys.stderr,
        )
        return 1
    incoming = parse_opml(_read_bytes(args.file), args.file)
    target = Path(config.feeds_opml[0])
    current = parse_opml(target.read_bytes(), str(target)) if target.exists() else []
    configured = {feed.url for feed in config.feeds}
    added = [sub for sub in incoming if sub.url not in configured]
    merged: list[Subscription] = current + added
    target.write_text(render_opml(merged), encoding="utf-8")
    print(
        f"{target}: {counted(len(added), 'feed')} added, "
        f"{len(incoming) - len(added)} already configured; {counted(len(merged), 'feed')} in the file"
    )
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    from monitor.opml import Subscription, render_opml
    from monitor.words import counted

    config = _config(args)
    subs = [Subscription(f.url, f.display_name, f.tags) for f in config.feeds]
    document = render_opml(subs)
    if args.output:
        Path(args.output).write_text(document, encoding="utf-8")
        print(f"{args.output}: {counted(len(subs), 'feed')}")
    else:
        print(document, end="")
    return 0


def cmd_feeds_add(args: argparse.Namespace) -> int:
    from monitor.config import MAX_FEED_NAME_CHARS, parse_config
    from monitor.sources.add import ConfigFile, Request, add_feed

    config = _config(args)
    path = Path(_config_path(args))
    target = ConfigFile(
        path,
        config.fetch,
        tuple((feed.url, feed.display_name) for feed in config.feeds),
        lambda text: parse_config(text, str(path), base_dir=path.parent),
        MAX_FEED_NAME_CHARS,
    )
    on_terminal = sys.stdin.isatty() and sys.stdout.isatty()
    ask = input if on_terminal else None
    return add_feed(Request(args.url, args.pick, args.name), target, print, ask)


def cmd_seeds_import(args: argparse.Namespace) -> int:
    from monitor.dedup.seeds import (
        fingerprint_seed,
        parse_published,
        read_seeds,
        write_fingerprints,
    )
    from monitor.words import counted

    published = parse_published(args.published, "--published")
    for path in args.paths:
        _read_bytes(path)  # one that cannot be read is bad usage, as any file named here
    seeds = []
    for path in args.paths:
        seeds += read_seeds(Path(path), args.format, args.title, args.url, published, args.source)
    if not args.no_store:
        from monitor.seed_import import import_seeds

        store = _store(_config(args))
        try:
            for seed, stored in import_seeds(store, seeds, datetime.now(UTC)):
                state = f"stored as entry {stored}" if stored else "already known"
                print(plain(f"{seed.title or '(untitled)'}: {state}"))
        finally:
            store.close()
    elif not args.fingerprints:
        print("error: --no-store needs --fingerprints", file=sys.stderr)
        return 2
    if args.fingerprints:
        total = write_fingerprints(Path(args.fingerprints), [fingerprint_seed(s) for s in seeds])
        print(
            f"{args.fingerprints}: {counted(total, 'known article')} (fingerprints only, no text)"
        )
    return 0


def cmd_seeds_list(args: argparse.Namespace) -> int:
    seeds = _pipeline(_config(args)).store.seeds()
    if not seeds:
        print("no known articles (import some with `monitor seeds import`)")
    for seed in seeds:
        entry = seed.entry
        when = f"{entry.published:%Y-%m-%d}" if entry.published else "date unknown"
        body = "text" if entry.summary else "fingerprint only"
        print(
            plain(
                f"{seed.id:6d}  {when}  {entry.feed_name}: {entry.title or '(untitled)'} [{body}]"
            )
        )
        if entry.link:
            print(plain(f"        {entry.link}"))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from monitor.dedup.seedfeed import SEED_FEED_URL
    from monitor.rules.explain import explain, stop_line

    pipeline = _pipeline(_config(args))
    store = pipeline.store
    ids = _entry_ids(store, args.entry)
    if not ids:
        print(f"error: no stored entry with id, link or guid {args.entry!r}", file=sys.stderr)
        return 1
    for entry_id in ids:
        record = store.entry_record(entry_id)
        entry = record.stored.entry
        print(plain(f"entry {entry_id}: {entry.title or '(untitled)'}"))
        print(
            plain(
                f"  source {entry.feed_name}; first seen {record.stored.first_seen:%Y-%m-%d %H:%M} UTC"
            )
        )
        if entry.link:
            print(plain(f"  {entry.link}"))
        duplicate = record.duplicate
        if duplicate is not None:
            verb = (
                "joined the story of"
                if duplicate.outcome == "joined"
                else "suppressed as a copy of"
            )
            print(
                plain(
                    f"  duplicate: {verb} entry {duplicate.of_id} "
                    f"({record.duplicate_source}: {record.duplicate_title or '(untitled)'})"
                )
            )
            print(
                plain(
                    f"    signal {duplicate.signal}, score {duplicate.score:.2f}: {duplicate.reason}"
                )
            )
        elif not record.alertable and entry.feed_url == SEED_FEED_URL:
            print("  not alerted: a known article (seed), part of the baseline")
        elif not record.alertable:
            print(
                "  not alerted: backfill (older than fetch.backfill_window on its feed's first poll)"
            )
        elif not record.indexed and not record.stored.matches:
            print(
                "  not compared with known articles: no watch took it, so it could reach no"
                " digest (dedup.index_unmatched: false)"
            )
        else:
            print("  original (no duplicate of anything known)")
        if len(record.story) > 1:
            print("  story:")
            for member_id, source, title in record.story:
                print(plain(f"    {member_id:6d}  {source}: {title}"))
        for alert, digest in record.alerts:
            print(plain(f"  alert {alert}: " + (f"in digest {digest}" if digest else "pending")))
        if record.stored.matches:
            print(plain("  " + explain(entry, record.stored.matches).replace("\n", "\n  ")))
        # Watches whose query matched but a rule stopped, judged with the current config.
        stopped = [v for v in pipeline.rules.judge(entry) if v.stopped is not None]
        for verdict in stopped:
            print(plain("  " + stop_line(verdict).strip()))
        if not record.stored.matches and not stopped:
            print("  matched no watch")
    return 0


def _entry_ids(store: Store, given: str) -> list[int]:
    """The entries ``given`` names: an id, a link, or a guid as the feed wrote it. A guid
    that is a permalink (RSS's default) is stored resolved against its feed's address, as
    feed readers do: ``12345`` in https://a.example/rss.xml is https://a.example/12345."""
    from urllib.parse import urljoin, urlsplit

    text = given.strip()
    ids = [int(text)] if text.isdigit() and store.has_entry(int(text)) else []
    forms = [text]
    if not urlsplit(text).scheme:
        bases = {s.fetch_url or s.url for s in store.feed_states()}
        forms += sorted({urljoin(base, text) for base in bases})
    ids += [i for i in store.find_entry_ids(*forms) if i not in ids]
    return ids


def _read_bytes(path: str) -> bytes:
    """A file named on the command line; a clear error (not a traceback) when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _html_path(requested: str, alert: str, alerts: int) -> Path:
    path = Path(requested)
    if alerts == 1:
        return path
    suffix = path.suffix or ".html"
    return path.with_name(f"{path.stem}-{alert}{suffix}")


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.allocator import tune_allocator

    tune_allocator()  # first: before any thread takes an arena of its own
    config = _config(args)  # sets up logging before the daemon's modules load: some log then
    from monitor.schedule import Daemon

    pipeline = _pipeline(config, counted=True)  # its ops endpoint serves them
    collect_less()

    def reload() -> Pipeline:
        from monitor.pipeline import Pipeline

        fresh = _config(args)
        if fresh.database != pipeline.config.database:
            raise ConfigError("database cannot change on reload; restart the daemon instead")
        return Pipeline(fresh, pipeline.store).start()

    asyncio.run(Daemon(pipeline, reload).run())
    return 0


def _store(config: Config) -> Store:
    from monitor.store.store import Store

    return Store.open(
        config.database,
        connect_timeout=config.database_connect_timeout.total_seconds(),
        statement_timeout=config.database_statement_timeout.total_seconds(),
    )


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.ops.status import render_status

    config = _config(args)
    store = _store(config)
    print(render_status(config, store, now=_now(), broken_only=args.broken), end="")
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    from monitor.ops.status import render_deliveries

    config = _config(args)
    rows = _store(config).deliveries(args.status, args.alert)
    print(render_deliveries(rows[-args.limit :] if args.limit > 0 else rows), end="")
    return 0


def cmd_deliveries_retry(args: argparse.Namespace) -> int:
    config = _config(args)
    delivery = _store(config).requeue(args.id, _now())
    target = shown_target(delivery.channel, delivery.target)
    print(
        plain(
            f"delivery {delivery.id} ({delivery.alert}, {delivery.channel} {target}) "
            "is pending again; it goes out at the next relay (the daemon's, or `monitor digest --send`)"
        )
    )
    return 0


def _now() -> datetime:
    return datetime.now(UTC)


def _group_help(args: argparse.Namespace) -> int:
    print(
        "usage: monitor db {upgrade,current,prune} | monitor rules {test,backtest} | "
        "monitor seeds {import,list} | monitor feeds {add,import,export}",
        file=sys.stderr,
    )
    return 2


def _rules_config(args: argparse.Namespace) -> Config | None:
    """The config for alias groups, guards and rules settings; none when there is no file."""
    from monitor.config import load_config

    path = _config_path(args)
    return load_config(path) if os.path.exists(path) else None


def _watch_spec(args: argparse.Namespace, config: Config | None) -> WatchSpec:
    """The watch to try: ``--watch`` from the config, or the query with its options."""
    from monitor.rules import WatchSpec

    if args.watch:
        known = {w.name: w for w in config.watches} if config else {}
        if args.watch not in known:
            raise UsageError(f"no watch named {args.watch!r} (known: {', '.join(known)})")
        w = known[args.watch]
        return WatchSpec(w.name, w.query, w.exclude, w.min_score, w.min_focus, w.guards)
    if not 0 <= args.min_focus <= 1:
        raise UsageError("--min-focus must be a number from 0 to 1")
    return WatchSpec(
        "query", args.query, args.exclude, args.min_score, args.min_focus, tuple(args.guard)
    )


def _compile_one(spec: WatchSpec, config: Config | None) -> RuleSet:
    from monitor.rules import compile_watches

    if config is None:
        return compile_watches([spec])
    return compile_watches([spec], config.aliases, config.rules.settings, config.guard_queries())


def cmd_rules_test(args: argparse.Namespace) -> int:
    from monitor.errors import RuleError
    from monitor.rules.explain import explain, explain_verdicts
    from monitor.types import Entry

    if args.file is not None:
        text = (
            sys.stdin.read()
            if args.file == "-"
            else _read_bytes(args.file).decode("utf-8", "replace")
        )
    else:
        text = args.text
    config = _rules_config(args)
    spec = _watch_spec(args, config)
    try:
        rules = _compile_one(spec, config)
    except RuleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    entry = Entry(
        feed_url="cli:",
        feed_name=args.source or "command line",
        title=args.title,
        link=None,
        canonical_link=None,
        guid=None,
        summary=text,
    )
    verdicts = rules.judge(entry)
    matches = [v.match for v in verdicts if v.stopped is None]
    if matches:
        print("match")
        print(explain(entry, matches))
        return 0
    stopped = next((v.stopped for v in verdicts if v.stopped is not None), None)
    if stopped is None:
        print("no match")
        return 1
    print(plain(f"no match: stopped by {stopped.summary}"))
    print(plain(explain_verdicts(entry, verdicts)))
    return 1


def cmd_rules_backtest(args: argparse.Namespace) -> int:
    from monitor.config import parse_duration
    from monitor.rules.backtest import backtest
    from monitor.rules.explain import explain
    from monitor.words import counted

    config = _config(args)
    try:
        spec = _watch_spec(args, config)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    since = _now() - parse_duration(args.since)
    rules = _compile_one(spec, config)
    report = backtest(rules, spec.name, _store(config).iter_entries(since))
    print(
        plain(
            f"{spec.name}: {counted(report.total, 'hit')} in "
            f"{counted(report.scanned, 'entry', 'entries')} since {since:%Y-%m-%d %H:%M} UTC"
        )
    )
    reasons = ", ".join(f"{label} {count}" for label, count in report.stopped.items())
    print(f"stopped: {sum(report.stopped.values())}" + (f" ({reasons})" if reasons else ""))
    if report.per_day:
        print("\nhits per day:")
        for day, count in report.per_day.items():
            print(f"  {day}  {count:5d}  {'#' * min(count, 60)}")
    if report.newest:
        print(f"\nnewest {len(report.newest)}:")
        for hit in report.newest:
            print(plain(_hit_heading(hit)))
            print(plain("  " + explain(hit.stored.entry, [hit.match]).replace("\n", "\n  ")))
    if report.newest_stopped:
        print(f"\nnewest {len(report.newest_stopped)} stopped:")
        for hit in report.newest_stopped:
            print(plain(_hit_heading(hit)))
            assert hit.stop is not None
            print(plain(f"  stopped by {hit.stop.summary}: {hit.stop.detail}"))
    return 0


def _hit_heading(hit: Hit) -> str:
    entry = hit.stored.entry
    heading = (
        f"\n* {entry.title or '(untitled)'}  [{entry.feed_name}, {hit.when:%Y-%m-%d %H:%M} UTC]"
    )
    return heading + (f"\n  {entry.link}" if entry.link else "")


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from monitor.store.db import create_engine, current_revision, safe_url, upgrade

    config = _config(args)
    engine = create_engine(config.database)
    upgrade(engine)
    print(f"{safe_url(config.database)}: at revision {current_revision(engine)}")
    return 0


def cmd_db_prune(args: argparse.Namespace) -> int:
    from monitor.schedule import prune_now, replica_id, retention_cutoffs
    from monitor.store.retention import count_prunable

    config = _config(args)
    store = _store(config)
    retention = config.retention
    ages = f"entries after {_days(retention.entries)}, digests after {_days(retention.deliveries)}"
    if args.dry_run:
        counts = count_prunable(store, retention_cutoffs(config, _now()))
        print(f"would delete ({ages}):")
    else:
        pruned = prune_now(store, config, replica_id(config), _now)
        if pruned is None:
            print("another replica is pruning now; nothing done")
            return 0
        counts = pruned
        print(f"deleted ({ages}):")
    for table, count in counts.items():
        print(f"  {table}: {count}")
    return 0


def _days(age: timedelta) -> str:
    from monitor.words import noun

    days = age.total_seconds() / 86400
    return f"{days:g} {noun(days, 'day')}"


def cmd_db_current(args: argparse.Namespace) -> int:
    from monitor.store.db import create_engine, current_revision

    config = _config(args)
    print(current_revision(create_engine(config.database)) or "(empty database)")
    return 0
