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


def _check(
    write_config: Callable[..., Path], tmp_path: Path, env: dict[str, str], **more: str
) -> None:
    config = write_config(f"sqlite:///{tmp_path / 'monitor.db'}", ["http://127.0.0.1:9/feed.xml"])
    # The test's own environment says nothing of plugins: only what the test gives counts.
    unset = () if "PYDANTIC_DISABLE_PLUGINS" in more else ("PYDANTIC_DISABLE_PLUGINS",)
    result = monitor(config, "check", env={**env, **more}, drop_env=unset)
    assert result.returncode == 0, result.stderr


def test_the_command_does_not_load_pydantic_plugins(
    installed_plugin: tuple[Path, dict[str, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    mark, env = installed_plugin
    _check(write_config, tmp_path, env)
    assert not mark.exists()


def test_an_empty_setting_in_the_environment_lets_pydantic_load_them(
    installed_plugin: tuple[Path, dict[str, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    mark, env = installed_plugin
    _check(write_config, tmp_path, env, PYDANTIC_DISABLE_PLUGINS="")
    assert mark.read_text(encoding="utf-8") == "loaded"
