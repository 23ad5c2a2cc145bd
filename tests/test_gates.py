"""Tooling gates as tests, so the one test command enforces them: ruff, mypy, README."""

from __future__ import annotations

import re
import subprocess
import sys

from monitor.cli import build_parser
from tests.conftest import REPO


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def cli_commands() -> list[str]:
    """Every command path of the CLI: 'check', 'db upgrade', ..."""
    import argparse

    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    path = f"{prefix} {name}".strip()
                    children = [
                        a for a in sub._actions if isinstance(a, argparse._SubParsersAction)
                    ]
                    if children:
                        walk(sub, path)
                    else:
                        found.append(path)

    walk(build_parser(), "")
    return found


def test_every_cli_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = cli_commands()
    assert len(commands) >= 6
    missing = [c for c in commands if not re.search(rf"`monitor {re.escape(c)}\b", readme)]
    assert missing == [], f"commands not documented in README.md: {missing}"


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.strip().splitlines()[-1]
    assert command in readme


def test_dockerfile_and_compose_are_consistent() -> None:
    """Docker cannot run here: check by reading what a build and `compose up` would need."""
    import yaml

    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    instructions = [
        line.split()[0]
        for line in dockerfile.splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    assert instructions[0] == "FROM"
    user = re.search(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user is not None
    assert user.group(1) not in ("root", "0")
    assert "HEALTHCHECK" in instructions
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), f"Dockerfile copies {path}, which does not exist"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"monitor", "postgres", "mailpit"} <= set(services)
    assert services["monitor"]["build"] == "."
    for dependency in services["monitor"]["depends_on"]:
        assert dependency in services
    url = services["monitor"]["environment"]["MONITOR_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in url
    for volume in compose.get("volumes", {}):
        assert any(volume + ":" in str(s.get("volumes", "")) for s in services.values())


def test_every_import_is_a_declared_dependency() -> None:
    """deptry: monitor/ imports only what pyproject.toml declares (not a test extra, not a
    package that merely comes along with another), and declares nothing it does not use."""
    package = run(sys.executable, "-m", "deptry", "monitor")
    assert package.returncode == 0, package.stdout + package.stderr
    # tests/, bench/ and testbed/ may use the test extra; never undeclared packages.
    support = run(
        sys.executable, "-m", "deptry", "tests", "bench", "testbed", "--exclude", "$^",
        "--ignore", "DEP002,DEP004",
    )  # fmt: skip
    assert support.returncode == 0, support.stdout + support.stderr


def test_docker_context_and_published_ports_match_the_readme() -> None:
    """.dockerignore keeps local state out but nothing the Dockerfile copies; compose publishes
    what the README tells a user to reach on the host."""
    import fnmatch

    import yaml

    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".git", ".venv", "data", "*.db", ".env"} <= set(ignored)
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            hits = [p for p in ignored if fnmatch.fnmatch(path.rstrip("/"), p)]
            assert not hits, f".dockerignore {hits} drops {path}, which the Dockerfile copies"

    services = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")

    def published(service: str) -> set[str]:
        return {str(p).rsplit(":", 1)[-1] for p in services[service].get("ports", [])}

    if "localhost:1025" in readme:
        assert "1025" in published("mailpit"), "the README mails through localhost:1025"
    assert "8025" in published("mailpit")
    assert "9464" in published("monitor"), "the ops endpoint (/metrics) is documented"
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{port} is published beyond loopback"
