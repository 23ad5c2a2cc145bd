"""The YAML loader reads a text the same with libyaml as the pure-Python parser would."""

from __future__ import annotations

import pytest
import yaml

from monitor import yamlsource
from monitor.errors import ConfigError
from monitor.yamlsource import YamlDocument, load_yaml

TEXTS = [
    "",
    "# only a comment\n",
    "a: 1\nb: [x, 'y', \"z\"]\nc:\n  - d: ${HOME_X}\n    e: ${NOPE:-dflt}\n  - 2001-12-14\n",
    "? complex\n: key\nlist:\n- 1\n- 2.5\n- yes\n- null\n",
    "block: |\n  one\n  two\nfolded: >\n  three\n",
    "anchors: &a {k: v}\nuse: *a\n",
    "a: b\r\nc: d\r\n",
    "a: 1\na: 2\n",
    "a: ${MISSING}\n",
    # refused, with the pure-Python parser's wording and lines
    "a: b: c\n",
    "a:\n  - x\n - y\n",
    "a: [1, 2\n",
    "a: {b\n",
    "\tx: 1\n",
    "a:\t1\n",  # libyaml takes this tab; the pure-Python parser refuses it
    "a: *nope\n",
    "x: &a 1\ny: &a 2\n",
    "a: !!python/object x\n",
    "a: \x07\n",
    "--- a\n--- b\n",
]


def _outcome(text: str) -> tuple[str, object]:
    try:
        doc = load_yaml(text, "cfg.yaml", {"HOME_X": "/h"})
    except ConfigError as exc:
        return "refused", str(exc)
    except yaml.YAMLError as exc:
        return "raised", str(exc)
    return "read", (doc.data, doc.lines, doc.from_env, doc.defaulted)


@pytest.mark.parametrize("text", TEXTS)
def test_libyaml_and_pure_python_agree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if yamlsource._FAST_LOADER is None:
        pytest.skip("PyYAML without libyaml")
    fast = _outcome(text)
    monkeypatch.setattr(yamlsource, "_FAST_LOADER", None)
    assert fast == _outcome(text)


def test_syntax_error_keeps_its_line_and_wording() -> None:
    with pytest.raises(ConfigError, match=r"line 1, column 5: mapping values are not allowed here"):
        load_yaml("a: b: c\n", "cfg.yaml")


def test_lines_of_a_long_document() -> None:
    text = "feeds:\n" + "".join(f"  - url: https://e{i}.example/\n" for i in range(50))
    doc = load_yaml(text, "cfg.yaml")
    assert isinstance(doc, YamlDocument)
    assert doc.lines[("feeds", 49, "url")] == 51
    assert doc.where(("feeds", 3, "url")) == "feeds[3].url (line 5)"
