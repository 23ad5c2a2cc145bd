"""Adding a feed to the config file's text: the list grows in its own style, the rest stays."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from monitor.errors import ConfigError, UsageError
from monitor.feedfile import with_feed, write_config
from monitor.sources.add import choose
from monitor.sources.discover import Candidate

NEW = "https://n.example/f.json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# top\nfeeds:\n  - url: https://a.example/  # first\n    name: A\n"
            "  # - url: https://old.example/\n\n# what to watch\nwatches: []\n",
            "# top\nfeeds:\n  - url: https://a.example/  # first\n    name: A\n"
            f'  - url: "{NEW}"\n    name: "N \\"1\\""\n'
            "  # - url: https://old.example/\n\n# what to watch\nwatches: []\n",
        ),
        (
            "feeds:\n- url: https://a.example/\n  tags: [\n    x,\n  ]\nwatches: []",
            "feeds:\n- url: https://a.example/\n  tags: [\n    x,\n  ]\n"
            f'- url: "{NEW}"\n  name: "N \\"1\\""\nwatches: []',
        ),
        ("feeds: []  # none yet\n", f'feeds: [{{url: "{NEW}", name: "N \\"1\\""}}]  # none yet\n'),
        ("feeds:\nwatches: []\n", f'feeds: [{{url: "{NEW}", name: "N \\"1\\""}}]\nwatches: []\n'),
        ("database: x", f'database: x\nfeeds:\n  - url: "{NEW}"\n    name: "N \\"1\\""\n'),
        ("", f'feeds:\n  - url: "{NEW}"\n    name: "N \\"1\\""\n'),
    ],
)
def test_feed_is_appended_in_the_lists_style(text: str, expected: str) -> None:
    assert with_feed(text, NEW, 'N "1"') == expected
    assert yaml.safe_load(expected)["feeds"][-1] == {"url": NEW, "name": 'N "1"'}


def test_feeds_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="feeds: is not a list"):
        with_feed("feeds: {a: 1}\n", NEW, None)


def test_write_is_atomic_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o600)
    write_config(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["monitor.yaml"]  # no temporary file left


def _candidates(n: int) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(f"https://s.example/{i}", "rss", f"T{i}", "linked from the page", False)
        for i in range(n)
    )


def test_choose_asks_on_a_terminal_only() -> None:
    said: list[str] = []
    assert choose(_candidates(1), None, said.append, None) == _candidates(1)[0]
    assert said == []
    assert choose(_candidates(3), None, said.append, None) is None
    assert said[0] == "3 feeds found:"
    assert said[-1] == "choose one with --pick N"
    questions: list[str] = []

    def ask(question: str) -> str:
        questions.append(question)
        return " 2 "

    assert choose(_candidates(3), None, said.append, ask) == _candidates(3)[1]
    assert questions == ["add which one? [1-3] "]
    with pytest.raises(UsageError, match="'x' is not one of 1 to 3"):
        choose(_candidates(3), None, said.append, lambda _: "x")
    assert choose(_candidates(3), 3, said.append, None) == _candidates(3)[2]
