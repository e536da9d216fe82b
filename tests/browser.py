"""A real headless Chromium driven over the DevTools protocol on a pipe (no extra dependency).

Tests use it to open pages as a user would (the study's report, an overlay video, the live page),
run a line of JavaScript in them and take screenshots. The tests only look for Chromium
(:func:`require_chromium`); installing it is setup, done where a reader sees it: ``make test``
(the Makefile's ``browser`` target) installs Debian's ``chromium`` when run as root with apt-get,
as ``.ci/run`` does on a fresh machine.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

BINARIES = ("chromium", "chromium-browser")
NO_CHROMIUM = (
    "no Chromium here (neither chromium nor chromium-browser is on PATH): `make test` installs Debian's "
    "chromium when run as root with apt-get; elsewhere install a Chromium yourself"
)


def find_chromium() -> str | None:
    """Path of a Chromium binary on PATH, else None. Installs nothing."""
    return next((shutil.which(name) for name in BINARIES if shutil.which(name)), None)


def require_chromium() -> str:
    """Path of a Chromium binary, or skip the calling test, saying why and how to get one."""
    binary = find_chromium()
    if binary is None:
        pytest.skip(NO_CHROMIUM)
    return binary


class Browser:
    """One headless Chromium with one tab; ``with Browser(path) as browser: browser.open(url)``."""

    def __init__(self, binary: str, width: int = 1400, height: int = 1000, arguments: Sequence[str] = ()):
        """``arguments``: more Chromium switches, e.g. ``--host-resolver-rules=MAP name 127.0.0.1``."""
        self._profile = tempfile.mkdtemp(prefix="videoxai-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def plumbing():  # chromium reads commands on fd 3 and writes replies on fd 4
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self._process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                # nothing in the background: no updates, sync or network chatter during a test
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                "--autoplay-policy=no-user-gesture-required",
                "--mute-audio",
                "--no-first-run",
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                *arguments,
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=plumbing,
            pass_fds=(3, 4),  # kept open in the child after plumbing() placed the pipes there
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", session=True)
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def _call(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"chromium gave no answer to {method}")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk

    def open(self, url: str) -> None:
        self._call("Page.navigate", {"url": url}, session=True)

    def evaluate(self, expression: str):
        """Value of a JavaScript expression in the page (JSON-serialisable results only)."""
        result = self._call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, poll: float = 0.25):
        """Poll ``expression`` until it is truthy; returns its value (or the last one after ``timeout``)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None
            if value:
                return value
            time.sleep(poll)
        return value

    def screenshot(self, path: str | os.PathLike, selector: str | None = None, margin: int = 8) -> Path:
        """PNG of the window, or of the box around the elements matching ``selector`` plus ``margin`` pixels."""
        params = {"format": "png"}
        if selector is not None:
            box = self.evaluate(
                f"(() => {{ const rs = [...document.querySelectorAll({json.dumps(selector)})]"
                ".map(e => e.getBoundingClientRect()); return [Math.min(...rs.map(r => r.left)), "
                "Math.min(...rs.map(r => r.top)), Math.max(...rs.map(r => r.right)), Math.max(...rs.map(r => r.bottom))]; })()"
            )
            left, top = max(box[0] - margin, 0), max(box[1] - margin, 0)
            params["clip"] = {
                "x": left,
                "y": top,
                "width": box[2] + margin - left,
                "height": box[3] + margin - top,
                "scale": 1,
            }
        data = self._call("Page.captureScreenshot", params, session=True)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._call("Browser.close", timeout=10)
        except RuntimeError:
            pass
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
