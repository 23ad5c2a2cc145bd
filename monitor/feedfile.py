"""One more feed in the config file's ``feeds:`` list, the rest of the file as it was.

``monitor feeds add`` edits the file a person wrote, so it edits *text*: the
YAML is composed only to find where the ``feeds:`` list ends and how it is
indented, and the new item is inserted there; comments, blank lines, key order
and quoting elsewhere are untouched. The result is validated as a whole config
(:func:`monitor.config.parse_config`) before it replaces the file, atomically
(a temporary file beside it, then a rename), keeping the file's permissions:
a config that holds secrets stays as private as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError


def with_feed(text: str, url: str, name: str | None, source: str = "<config>") -> str:
    """``text`` with a feed ``url`` (named ``name``) added at the end of its ``feeds:``."""
    fields = [("url", url)] + ([("name", name)] if name else [])
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read the YAML to add a feed: {exc}", source) from exc
    value = _feeds_node(root)
    if value is None:  # no feeds: key at all: a new one at the end
        block = "feeds:\n" + _block_item(fields, 2, 4)
        return text + ("" if text.endswith("\n") or not text else "\n") + block
    if isinstance(value, yaml.SequenceNode) and value.flow_style:
        end = value.end_mark.index - 1  # the closing bracket
        item = "{" + ", ".join(f"{key}: {_quoted(v)}" for key, v in fields) + "}"
        return text[:end] + (", " if value.value else "") + item + text[end:]
    if isinstance(value, yaml.SequenceNode) and value.value:
        dash = value.start_mark.column
        inside = value.value[0].start_mark.column
        line = _last_line(value.value[-1])
        lines = text.splitlines(keepends=True)
        if not lines[line].endswith("\n"):
            lines[line] += "\n"
        lines.insert(line + 1, _block_item(fields, dash, inside))
        return "".join(lines)
    if isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null"):
        # "feeds:" with nothing after it, or "feeds: ~": the empty value becomes a list.
        start, end = value.start_mark.index, value.end_mark.index
        item = "[{" + ", ".join(f"{key}: {_quoted(v)}" for key, v in fields) + "}]"
        return text[:start] + (" " if start == end else "") + item + text[end:]
    raise ConfigError(f"feeds: is not a list (line {value.start_mark.line + 1})", source)


def write_config(path: Path, text: str) -> None:
    """Replace the file at ``path`` with ``text`` atomically, keeping its permissions."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _feeds_node(root: Any) -> Any:
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "feeds":
            return value
    return None


def _last_line(node: Any) -> int:
    """The 0-based line of the last character of ``node``'s own text (its scalars'),
    so that comments and blank lines after it, which may belong to the next key, stay
    below the inserted item."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        end = node.end_mark  # a flow collection ends at its closing bracket
        return int(end.line if end.column > 0 else end.line - 1)
    children = (
        node.value
        if isinstance(node, yaml.SequenceNode)
        else [part for pair in node.value for part in pair]
    )
    return int(max((_last_line(child) for child in children), default=node.start_mark.line))


def _block_item(fields: list[tuple[str, str]], dash: int, inside: int) -> str:
    first, *rest = fields
    lines = [
        " " * dash + "-" + " " * max(1, inside - dash - 1) + f"{first[0]}: {_quoted(first[1])}"
    ]
    lines += [" " * inside + f"{key}: {_quoted(value)}" for key, value in rest]
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(value, ensure_ascii=False)
