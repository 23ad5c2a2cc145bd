"""The `monitor` command does not look for pydantic plugins (#14: about 25 ms of every
command's start), unless the environment asks for them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import monitor

# Imported only when pydantic loads it as a plugin: it leaves a mark, and plugs nothing in.
PLUGIN = """
import os
from pathlib import Path

Path(os.environ["MONITOR_TEST_PLUGIN_MARK"]).write_text("loaded", encoding="utf-8")


class _Plugin:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None


plugin = _Plugin()
"""


@pytest.fixture
def installed_plugin(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A pydantic plugin installed where the command's Python finds it (a package's
    metadata with the entry point, and its module); the file it marks when loaded, and
    the environment that puts it on the path."""
    site = tmp_path / "site"
    info = site / "monitor_test_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: monitor-test-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[pydantic]\nmonitor_test = monitor_test_plugin:plugin\n", encoding="utf-8"
    )
    (site / "monitor_test_plugin.py").write_text(PLUGIN, encoding="utf-8")
    mark = tmp_path / "plugin-loaded"
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return mark, {"PYTHONPATH": path, "MONITOR_TEST_PLUGIN_MARK": str(mark)}


@pytest.mark.parametrize(
    ("setting", "loaded"),
    [(None, False), ("", True)],
    ids=["unset: not loaded", "empty: loaded, as pydantic does"],
)
def test_the_command_loads_pydantic_plugins_only_when_the_environment_asks(
    setting: str | None,
    loaded: bool,
    installed_plugin: tuple[Path, dict[str, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    mark, env = installed_plugin
    config = write_config(f"sqlite:///{tmp_path / 'monitor.db'}", ["http://127.0.0.1:9/feed.xml"])
    # The test's own environment says nothing of plugins: only what the test gives counts.
    if setting is None:
        result = monitor(config, "check", env=env, drop_env=("PYDANTIC_DISABLE_PLUGINS",))
    else:
        result = monitor(config, "check", env={**env, "PYDANTIC_DISABLE_PLUGINS": setting})
    assert result.returncode == 0, result.stderr
    assert mark.exists() is loaded
