"""Run `monitor run` as a real subprocess and watch what it logs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

WEBHOOK_SECRET = "whsec_" + "bW9uaXRvci10ZXN0LXNpZ25pbmcta2V5LTMyYnl0ZXMh"
"""The webhook signing secret the test configs read from ``${TEST_WEBHOOK_SECRET}``: a
fixed test key, given to every daemon started here."""


class DaemonProcess:
    def __init__(self, config: Path, **env: str) -> None:
        environment = {**os.environ, "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET, **env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def messages(self) -> list[str]:
        """The ``message`` of every JSON log line."""
        found = []
        for line in list(self.lines):
            try:
                found.append(str(json.loads(line)["message"]))
            except (ValueError, KeyError):
                continue
        return found

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages():
                if found := re.search(pattern, message):
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r}; log:\n{self.log}")

    def ops_url(self, timeout: float = 30) -> str:
        return self.wait_for_log(r"ops endpoint on (http://[\d.]+:\d+)", timeout).group(1)

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # never leave a daemon behind a failed test
            self.process.wait(timeout=30)
            self._close()
            raise
        self._close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
