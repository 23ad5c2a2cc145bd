"""YAML in, plain data plus a map of where every key stands.

PyYAML's ``safe_load`` forgets line numbers, and a config error that cannot say
"line 42" sends the user hunting. This loader composes the node tree itself and
returns, next to the data, a map from key path (``("alerts", 0, "email")``) to
its 1-based line, so any later check can point at the line it complains about.

It also expands ``${VAR}`` and ``${VAR:-default}`` in string scalars, and
records which paths were written that way: secrets must come from the
environment or a file, never sit inline in the YAML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml

from monitor.errors import ConfigError

Path = tuple[str | int, ...]

# A string: yaml has no CSafeLoader where libyaml is missing.
_Loader: TypeAlias = "yaml.SafeLoader | yaml.CSafeLoader"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class YamlDocument:
    """Loaded YAML: the data, where each path stands, and which paths used ``${...}``."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    from_env: set[Path] = field(default_factory=set)
    defaulted: set[Path] = field(default_factory=set)
    """Paths whose ``${VAR:-default}`` carries a non-empty default (a secret must not)."""
    source: str = "<config>"

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get(())

    def where(self, path: Path) -> str:
        """``alerts[0].email.to (line 12)``: how errors name a place."""
        line = self.line_of(path)
        name = format_path(path) or "(top level)"
        return f"{name} (line {line})" if line else name


def format_path(path: Path) -> str:
    """Render a key path as ``feeds[2].url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# libyaml composes a thousand-feed config some ten times faster than the pure-Python
# parser (a sizeable share of a `monitor poll` start-up), with the same marks and so the
# same lines. Its wording of syntax errors differs, and it takes a tab after a key that
# the pure-Python parser refuses: a text with a tab, or one libyaml finds fault with, is
# read again the pure-Python way, so what is refused and every message stay as they were.
_FAST_LOADER: type[_Loader] | None = getattr(yaml, "CSafeLoader", None)


def load_yaml(text: str, source: str, env: Mapping[str, str] | None = None) -> YamlDocument:
    """Parse ``text`` (named ``source`` in errors), expanding ``${VAR}`` from ``env``."""
    environ = os.environ if env is None else env
    doc = YamlDocument(data=None, source=source)
    problems: list[str] = []
    composed = _fast_compose(text)
    loader, node = composed if composed else (yaml.SafeLoader(text), None)
    try:
        if composed is None:
            node = loader.get_single_node()
        if node is None:
            return doc
        doc.lines[()] = node.start_mark.line + 1
        doc.data = _build(node, (), loader, doc, environ, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        context = ""
        if exc.context and exc.context_mark:
            context = f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise ConfigError(
            f"YAML syntax error at {line}: {exc.problem or exc}{context}", source
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", source) from exc
    finally:
        loader.dispose()
    if problems:
        raise ConfigError(problems, source)
    return doc


def _fast_compose(text: str) -> tuple[_Loader, yaml.Node | None] | None:
    """libyaml's loader and node tree for ``text``; None: read it the pure-Python way."""
    if _FAST_LOADER is None or "\t" in text:
        return None
    loader = _FAST_LOADER(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        return None


def _build(
    node: yaml.Node,
    path: Path,
    loader: _Loader,
    doc: YamlDocument,
    env: Mapping[str, str],
    problems: list[str],
) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*path, str(key))
            line = key_node.start_mark.line + 1
            if str(key) in result:
                problems.append(f"{format_path(child)} (line {line}): key given twice")
            doc.lines[child] = line
            result[str(key)] = _build(value_node, child, loader, doc, env, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.lines[child] = item.start_mark.line + 1
            items.append(_build(item, child, loader, doc, env, problems))
        return items
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "${" in value:
        doc.from_env.add(path)
        if any(default for _name, default in _ENV_REF.findall(value)):
            doc.defaulted.add(path)
        return _expand(value, path, node.start_mark.line + 1, env, problems)
    return value


def _expand(value: str, path: Path, line: int, env: Mapping[str, str], problems: list[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(
            f"{format_path(path)} (line {line}): environment variable {name} is not set "
            f"(set it, or write ${{{name}:-default}})"
        )
        return ""

    return _ENV_REF.sub(substitute, value)
