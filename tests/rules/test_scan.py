"""The folding loops written twice: ``scan.c`` (what the process imports, when built) held
to ``scan.py`` (the reference), on text made of what the loops have to tell apart."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules import native, scan


def _reference() -> ModuleType:
    """scan.py itself, loaded from its source whatever the process imports."""
    source = Path(native.__file__).with_name("scan.py")
    spec = importlib.util.spec_from_file_location("scan_reference", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference()

# Letters of both cases, digits, the separators that join, every ASCII kind of space
# (\x1c to \x1f are spaces to str.isspace), NUL and DEL.
ASCII = st.text(alphabet=st.sampled_from(list("aZ9xY0Ab .-_'&,;\t\n\r\x0b\x0c\x1c\x1f\x00\x7f")))

EDGES = [
    "",
    " ",
    "a",
    "-a-",
    "a-",
    "-a",
    "a-b",
    "a--b",
    "a- b",
    "a -b",
    "u.s.-mexico",
    "x_y",
    "a\x1cb",
    "a\x00b",
    "one two  three   ",
    "A.B.C.D",
]


def test_the_process_imports_the_built_loops_where_the_engine_is_compiled() -> None:
    compiled = native.choose() == native.COMPILED
    assert (scan.__file__ or "").endswith(".py") != compiled, scan.__file__


@pytest.mark.parametrize("text", EDGES)
def test_the_loops_agree_on_the_edges(text: str) -> None:
    assert scan.ascii_scan(text) == REFERENCE.ascii_scan(text)
    plain = REFERENCE.ascii_scan(text)[2]
    assert scan.token_bounds(plain) == REFERENCE.token_bounds(plain)


@pytest.mark.parametrize("code", range(128))
def test_the_loops_agree_on_every_ascii_character(code: int) -> None:
    char = chr(code)
    for text in (char, f"a{char}b", f"a{char}{char}b", f"{char}a{char}", f"ab{char} c{char}d"):
        assert scan.ascii_scan(text) == REFERENCE.ascii_scan(text), repr(text)
        plain = REFERENCE.ascii_scan(text)[2]
        assert scan.token_bounds(plain) == REFERENCE.token_bounds(plain), repr(text)
        assert scan.token_bounds(text) == REFERENCE.token_bounds(text), repr(text)


@settings(max_examples=1000, deadline=None)
@given(ASCII)
def test_the_loops_agree(text: str) -> None:
    words, joins, plain = scan.ascii_scan(text)
    assert (words, joins, plain) == REFERENCE.ascii_scan(text)
    assert len(plain) == len(text)
    starts, ends = scan.token_bounds(plain)
    assert (starts, ends) == REFERENCE.token_bounds(plain)
    assert [plain[start:end] for start, end in zip(starts, ends, strict=True)] == words


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_token_bounds_agree_on_any_text(text: str) -> None:
    # The general fold's stand-in text is ASCII, but the loop holds for any text.
    assert scan.token_bounds(text) == REFERENCE.token_bounds(text)


@pytest.mark.parametrize("module", [scan, REFERENCE], ids=["imported", "reference"])
def test_text_that_is_not_ascii_is_refused(module: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"(?i)ascii"):
        module.ascii_scan("Montréal")
