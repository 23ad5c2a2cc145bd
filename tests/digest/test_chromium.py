"""The HTML digest opened in a real browser: headless Chromium (Debian's ``chromium``).

A screenshot in light and in dark mode (size and background checked, not
pixels compared: fonts differ between machines), and the DOM Chromium built:
the titles are there as text, and nothing from the feed became an element or
ran as a script.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.digest.build import build_digest
from monitor.digest.render import render_html
from monitor.types import Digest
from tests.digest.samples import TIMEZONE, sample_digest, stored

WIDTH, HEIGHT = 800, 1200
PROBE = '<img src=x onerror="document.body.dataset.pwned=1">'


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    return found


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def hostile_digest() -> Digest:
    digest = sample_digest()
    extra = stored(
        9,
        f"USMCA <script>document.title='pwned'</script> {PROBE}",
        f"Summary with {PROBE} and USMCA",
        hours_ago=0.5,
        link='https://news.example/x"><script>document.title="pwned"</script>',
    )
    first = digest.sections[0]
    (item,) = build_digest("x", "desk", ("usmca",), [extra], digest.created_at).sections[0].items
    first = first.model_copy(update={"items": (item, *first.items)})
    return digest.model_copy(update={"sections": (first, *digest.sections[1:])})


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chromium")
    path = folder / "digest.html"
    path.write_text(render_html(hostile_digest(), TIMEZONE), encoding="utf-8")
    return path


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat = 8, b""
    width = height = channels = 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunk = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert (depth, interlace) == (8, 0)
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if method == 1:
                line[x] = (line[x] + left) & 0xFF
            elif method == 2:
                line[x] = (line[x] + up) & 0xFF
            elif method == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif method == 4:
                guess = left + up - corner
                near = min(
                    (abs(guess - left), 0, left),
                    (abs(guess - up), 1, up),
                    (abs(guess - corner), 2, corner),
                )
                line[x] = (line[x] + near[2]) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def brightness(rows: list[bytes], x: int, y: int, channels: int) -> int:
    pixel = rows[y][x * channels : x * channels + 3]
    return sum(pixel) // 3


def screenshot(
    page: Path, folder: Path, name: str, *flags: str
) -> tuple[int, int, list[bytes], int]:
    shot = folder / f"{name}.png"
    run_chromium(
        folder / f"profile-{name}",
        *flags,
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    )
    assert shot.exists()
    width, height, rows = png_pixels(shot)
    return width, height, rows, len(rows[0]) // width


def test_light_screenshot_has_the_window_size_and_a_light_page(page: Path) -> None:
    width, height, rows, channels = screenshot(page, page.parent, "light")
    assert (width, height) == (WIDTH, HEIGHT)
    assert brightness(rows, 5, 5, channels) > 200  # the page background (#eef1f4)
    assert brightness(rows, WIDTH // 2, 60, channels) > 240  # inside the white card


def test_dark_screenshot_follows_prefers_color_scheme(page: Path) -> None:
    width, height, rows, channels = screenshot(page, page.parent, "dark", "--force-dark-mode")
    assert (width, height) == (WIDTH, HEIGHT)
    assert brightness(rows, 5, 5, channels) < 40  # the page background (#0d1117)
    assert brightness(rows, WIDTH // 2, 60, channels) < 50  # the card (#161b22)


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def test_dom_has_the_titles_as_text_and_no_script_ran(page: Path) -> None:
    result = run_chromium(page.parent / "profile-dom", "--dump-dom", page.as_uri())
    dom = Dom()
    dom.feed(result.stdout)
    dom.close()
    text = " ".join("".join(dom.text).split())
    for title in (
        "Carney and Sheinbaum talk trade",
        "USMCA review: <script>alert('x')</script> ministers meet",
        "Ottawa y México: sin enlace",
        f"USMCA <script>document.title='pwned'</script> {PROBE}",
    ):
        assert title in text
    assert dom.title == "desk: 4 new items"  # no script rewrote it
    names = [tag for tag, _ in dom.tags]
    assert "script" not in names
    assert "img" not in names
    body = next(attrs for tag, attrs in dom.tags if tag == "body")
    assert "data-pwned" not in body
    links = [attrs.get("href") or "" for tag, attrs in dom.tags if tag == "a"]
    assert all(link.startswith(("#watch-", "https://news.example/")) for link in links)
