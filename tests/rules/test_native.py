"""The rule engine compiled by mypyc (``setup.py``) against its pure-Python sources.

The compiled modules are the same source, but compiled code checks types at run time
and has its own object model, so the two are held equal on real news with the shipped
watches and on ``bench/rules.py``'s thousand generated watches: every match and every
verdict, written out in full. Also here: which of the two a process runs
(:mod:`monitor.rules.native`), and that an install with a C compiler at hand compiles.
"""

from __future__ import annotations

import importlib.machinery
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.rules import native
from tests.conftest import REPO, SHARED

# Writes one line per entry: the matches and the verdicts of every rule set, in full.
_MATCH_EVERYTHING = r"""
import random, sys
sys.path.insert(0, "bench")
import rules as bench
from monitor.config import load_config
from monitor.parse.feed import parse_feed
from monitor.pipeline import compile_rules
from monitor.rules import native
from pathlib import Path

print(native.choose())
shipped = compile_rules(load_config(Path("config/monitor.yaml"), env={}))
for path in sorted(Path(sys.argv[1]).glob("*.xml")):
    try:
        parsed = parse_feed(path.read_bytes(), f"https://feeds.example/{path.name}", "x")
    except Exception:  # a feed the parser refuses has no entries to match
        continue
    for item in parsed.entries:
        print(path.name, shipped.match(item), shipped.judge(item))
vocabulary = bench.Vocabulary(random.Random(bench.SEED))
generated = bench.compile_watches(bench.make_watches(vocabulary, 1000), bench.ALIASES)
for number, item in enumerate(bench.make_entries(vocabulary, 3000)):
    print(number, generated.match(item), generated.judge(item) if number % 10 == 0 else "")
"""


def _run(pure: bool) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key != native.PURE_ENV}
    if pure:
        env[native.PURE_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _MATCH_EVERYTHING, str(SHARED / "realfeeds")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_compiled_and_pure_engines_match_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED / "realfeeds").is_dir():
        pytest.skip(f"{SHARED / 'realfeeds'} is absent (CI always has it)")
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    why = native._why_pure()
    if not any(native._compiled(name) for name in native.BUILT) or why is not None:
        # test_an_install_with_a_c_compiler_compiles_the_engine fails where this should not be.
        pytest.skip(
            f"the engine is not compiled here ({why or 'no extensions'}): nothing to compare"
        )
    pure, default = _run(pure=True), _run(pure=False)
    assert pure[0].startswith("pure Python")
    assert default[0] == native.COMPILED
    assert len(pure) > 9000  # thousands of real entries, then the generated ones
    assert sum("Match(" in line for line in pure) > 2000
    for expected, got in zip(pure[1:], default[1:], strict=True):
        assert got == expected


def test_the_values_that_cross_processes_pickle() -> None:
    # The parser workers get watch specs and compile their own rule sets; verdicts come back
    # from judge. A frozen dataclass compiled by mypyc would fail to unpickle.
    from monitor.rules import Stop, Verdict, WatchSpec
    from monitor.types import Match, Span

    spec = WatchSpec("trade", "tariff* NEAR/5 Canada", "sport", 2.0, 0.5, ("sport",))
    stop = Stop("guard", "its topic is more prominent", "sport", "0.80 ≥ 0.60")
    verdict = Verdict(Match("trade", 3.0, (Span("title", 0, 6, "tariff*"),)), 0.7, stop)
    for value in (spec, stop, verdict):
        assert pickle.loads(pickle.dumps(value)) == value


def _is_extension(path: str | None) -> bool:
    return path is not None and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_the_process_runs_what_choose_says() -> None:
    import monitor.rules.engine  # noqa: F401  (every native module, through the engine)

    compiled = native.choose() == native.COMPILED
    for name in native.BUILT:
        module = sys.modules[f"monitor.rules.{name}"]
        assert _is_extension(module.__file__) == compiled, module.__file__


def test_an_install_with_a_c_compiler_compiles_the_engine() -> None:
    compiler = os.environ.get("CC", "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) here: the install keeps the engine pure Python")
    record = Path(native.__file__).with_name(native.DIGESTS)
    assert record.exists(), (
        f"a C compiler is at hand but the install did not compile the rule engine ({record} is "
        "missing): reinstall with `python -m pip install -e .` and read its warnings"
    )
    if record.read_text().startswith("pure "):
        return  # the installer asked for pure Python (MONITOR_PURE_PYTHON), and got it
    assert "group " in record.read_text()
    for name in native.BUILT:
        found = [
            path
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if (path := record.with_name(f"{name}{suffix}")).exists()
        ]
        assert found, f"{name} was not compiled"


# --- the choice itself, on a made-up package directory -----------------------------------


GROUP = "monitor_test_group__mypyc"


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package directory as a compiled install leaves it: each source, a stand-in
    extension beside it, mypyc's runtime library, a module the sources take types from,
    and the record of the build."""
    here = tmp_path / "monitor" / "rules"
    here.mkdir(parents=True)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    sources = [here / "settings.py"]
    sources[0].write_text("LEAD_WORDS = 50\n")
    for name in native.BUILT:
        sources.append(here / f"{name}.py")
        sources[-1].write_text(f"NAME = {name!r}\n")
        (here / f"{name}{suffix}").write_bytes(b"")
    for name in native.C_MODULES:
        sources.append(here / f"{name}.c")
        sources[-1].write_text(f"/* {name} */\n")
    (tmp_path / f"{GROUP}.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    record = [f"group {GROUP}"] + [
        f"source {path.relative_to(tmp_path).as_posix()} {native.file_digest(path)}"
        for path in sources
    ]
    (here / native.DIGESTS).write_text("\n".join(record) + "\n")
    monkeypatch.setattr(native, "_HERE", here)
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    return here


def test_a_current_build_runs_compiled(built: Path) -> None:
    assert native._why_pure() is None


def test_an_edited_source_runs_every_module_as_python(built: Path) -> None:
    (built / "score.py").write_text("NAME = 'edited'\n")
    assert native._why_pure() == "monitor/rules/score.py changed since it was compiled"


def test_an_edited_module_the_build_took_types_from_runs_python(built: Path) -> None:
    # Compiled code checks the types it was built with: LEAD_WORDS a float would fail there.
    (built / "settings.py").write_text("LEAD_WORDS = 50.0\n")
    assert native._why_pure() == "monitor/rules/settings.py changed since it was compiled"


def test_a_source_gone_runs_python(built: Path) -> None:
    (built / "settings.py").unlink()
    assert native._why_pure() == "monitor/rules/settings.py changed since it was compiled"


def test_a_missing_runtime_library_runs_python(built: Path) -> None:
    (built.parent.parent / f"{GROUP}.py").unlink()
    assert native._why_pure() == f"mypyc's runtime library {GROUP} is missing"


def test_a_module_left_uncompiled_runs_every_module_as_python(built: Path) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (built / f"index{suffix}").unlink()
    assert native._why_pure() == "index was not compiled"


def test_the_c_module_left_uncompiled_runs_every_module_as_python(built: Path) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (built / f"scan{suffix}").unlink()
    assert native._why_pure() == "scan was not compiled"


def test_an_edited_c_source_runs_python(built: Path) -> None:
    # The extension was built from the old C: the Python reference runs instead.
    (built / "scan.c").write_text("/* edited */\n")
    assert native._why_pure() == "monitor/rules/scan.c changed since it was compiled"


def test_an_unfinished_build_runs_python(built: Path) -> None:
    # setup.py writes the record only once every extension of the build is there.
    (built / native.DIGESTS).unlink()
    assert native._why_pure() == f"{native.DIGESTS} is missing: the last build did not finish"


def test_blank_lines_in_the_record_are_skipped(built: Path) -> None:
    record = built / native.DIGESTS
    record.write_text("\n" + record.read_text().replace("\n", "\n\n"))
    assert native._why_pure() is None


def test_a_record_without_sources_runs_python(built: Path) -> None:
    (built / native.DIGESTS).write_text(f"group {GROUP}\n")
    assert native._why_pure() == f"{native.DIGESTS} does not say what was compiled"


def test_the_environment_asks_for_python(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native._why_pure() == f"{native.PURE_ENV} is set"
    monkeypatch.setenv(native.PURE_ENV, "0")
    assert native._why_pure() is None


def test_nothing_compiled_needs_no_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_HERE", tmp_path)
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    assert native._why_pure() is None


def test_the_sources_finder_loads_the_python_file(built: Path) -> None:
    spec = native._Sources(native.BUILT).find_spec("monitor.rules.fold")
    assert spec is not None
    assert spec.origin == str(built / "fold.py")
    scan = native._Sources(native.BUILT).find_spec("monitor.rules.scan")
    assert scan is not None
    assert scan.origin == str(built / "scan.py")
    assert native._Sources(native.BUILT).find_spec("monitor.rules.grammar") is None


def test_an_install_asked_to_stay_pure_ignores_old_extensions(built: Path) -> None:
    (built / native.DIGESTS).write_text("pure MONITOR_PURE_PYTHON was set at install\n")
    assert native._why_pure() == "installed as pure Python"
