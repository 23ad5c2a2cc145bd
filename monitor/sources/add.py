"""``monitor feeds add URL``: discover, choose, and append to the config file.

The steps, each a function of its inputs, with the network and the terminal at
the edges: :func:`~monitor.sources.discover.discover` the candidates; choose
one (:func:`choose`: the only one, ``--pick N``, or a question asked on a
terminal only; several and no way to choose is a listing and exit status 2);
:func:`~monitor.sources.discover.confirm` it is a feed; refuse one already
configured; then :func:`~monitor.feedfile.with_feed` adds it to the text,
the whole config is validated, and the file is replaced atomically.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from monitor.errors import ConfigError, FeedError, UsageError
from monitor.feedfile import with_feed, write_config
from monitor.fetch.settings import FetchSettings
from monitor.fields import _check_http_url
from monitor.sources.discover import COMMON_PATHS, Candidate, confirm, discover
from monitor.words import counted

NO_CHOICE = 2
"""Exit status when several feeds were found and none was chosen (bad usage: add --pick)."""


@dataclass(frozen=True, slots=True)
class Request:
    """What the command line asked for."""

    url: str
    """The address given: a feed, or a page of the site."""
    pick: int | None
    """``--pick N``: the 1-based number of the candidate to add, if given."""
    name: str | None
    """``--name``: the display name; else the feed's own title."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The config the feed goes into, as the CLI (which composes the config) hands it over."""

    path: Path
    """The file to edit."""
    fetch: FetchSettings
    """How to fetch (the poller's own settings: SSRF guard, limits)."""
    feeds: tuple[tuple[str, str], ...]
    """``(url, display name)`` of every feed configured already."""
    validate: Callable[[str], object]
    """Checks a whole config text, raising ConfigError: what the daemon would load."""
    max_name_chars: int
    """Longest display name the config accepts (a longer title is cut)."""


def add_feed(
    request: Request,
    config: ConfigFile,
    say: Callable[[str], None],
    ask: Callable[[str], str] | None,
) -> int:
    """Run the command; ``ask`` (None when not on a terminal) asks the person a question.
    Returns the exit status; raises FeedError (naming the URL) or UsageError."""
    try:  # the check a feeds[].url gets, before any request is made
        _check_http_url(request.url)
    except ValueError as exc:
        raise FeedError(request.url, str(exc)) from None
    _refuse_configured(request.url, config.feeds)
    candidates = asyncio.run(discover(request.url, config.fetch))
    if not candidates:
        paths = ", ".join(COMMON_PATHS)
        raise FeedError(
            request.url, f"no feed found: the page links none, and none of {paths} is one"
        )
    chosen = choose(candidates, request.pick, say, ask)
    if chosen is None:
        return NO_CHOICE
    feed = asyncio.run(confirm(chosen, config.fetch))
    _refuse_configured(feed.url, config.feeds)
    name = (request.name or feed.title or "").strip()[: config.max_name_chars] or None
    path = config.path
    text = path.read_text(encoding="utf-8")
    updated = with_feed(text, feed.url, name, str(path))
    try:
        config.validate(updated)
    except ConfigError as exc:  # never write a config the daemon would refuse
        problems = [f"adding {feed.url} would make it invalid: {p}" for p in exc.problems]
        raise ConfigError(problems, str(path)) from exc
    write_config(path, updated)
    say(
        f"added {feed.url} ({feed.kind}{f', named {name!r}' if name else ''}) to {path}; "
        "a running daemon picks it up on SIGHUP"
    )
    return 0


def choose(
    candidates: tuple[Candidate, ...],
    pick: int | None,
    say: Callable[[str], None],
    ask: Callable[[str], str] | None,
) -> Candidate | None:
    """The candidate to add: the only one, the picked one, or the one the person names;
    None when several were found and nobody can choose (they are listed)."""
    if pick is not None:
        if not 1 <= pick <= len(candidates):
            raise UsageError(
                f"--pick {pick}: there {'is' if len(candidates) == 1 else 'are'} "
                f"{counted(len(candidates), 'candidate')} (1 to {len(candidates)})"
            )
        return candidates[pick - 1]
    if len(candidates) == 1:
        return candidates[0]
    say(f"{len(candidates)} feeds found:")
    for number, candidate in enumerate(candidates, 1):
        title = f"  {candidate.title}" if candidate.title else ""
        say(f"  {number}. {candidate.url}  [{candidate.kind}, {candidate.found}]{title}")
    if ask is None:
        say("choose one with --pick N")
        return None
    answer = ask(f"add which one? [1-{len(candidates)}] ").strip()
    if not answer.isdigit() or not 1 <= int(answer) <= len(candidates):
        raise UsageError(f"{answer!r} is not one of 1 to {len(candidates)}")
    return candidates[int(answer) - 1]


def _refuse_configured(url: str, feeds: tuple[tuple[str, str], ...]) -> None:
    wanted = _same(url)
    for configured, name in feeds:
        if _same(configured) == wanted:
            raise FeedError(url, f"already configured (as {name})")


def _same(url: str) -> str:
    """An address as compared for duplicates: scheme and host lower-cased, no fragment, no
    trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))
