"""``videoxai live``'s page in a real browser: headless Chromium driven over its DevTools pipe.

The command runs for real on a generated clip (C3D at an eighth of its width, random weights, so
it is quick on a CPU). Chromium is installed from Debian's packages when missing (needs root),
else the test skips. The test reads what the page shows (the pixels of the frame image, the top-5
list, the figures), changes the method from the page's own controls, and saves a screenshot
(``VIDEOXAI_LIVE_SCREENSHOT=docs/live.png`` also copies it there).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_live import environment, get, live_command, moving_frames, write_clip

from videoxai.live.picture import LABEL_HEIGHT

pytestmark = pytest.mark.slow


def chromium_binary() -> str:
    """Path of Chromium, installing Debian's package when missing, or skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and installing it needs root and apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "install", "-y", "chromium"],
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "chromium"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if command[1] == "install" and done.returncode == 0:
            break
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"apt-get could not install chromium: {done.stderr[-500:]}")
    return found


class DevTools:
    """The Chrome DevTools protocol over ``--remote-debugging-pipe``: JSON messages ending in NUL.

    Chromium reads commands on its file descriptor 3 and writes answers and events on 4.
    """

    def __init__(self, binary: str, profile: Path):
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        arguments = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-pipe",
            "--window-size=1280,900",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "about:blank",
        ]
        # the shell moves the two pipe ends onto the descriptors Chromium expects
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser_read} 4>&{from_browser_write}', binary, *arguments],
            pass_fds=(to_browser_read, from_browser_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_browser)
        os.close(self._from_browser)


class Page:
    def __init__(self, devtools: DevTools, url: str):
        self.devtools = devtools
        target = devtools.call("Target.createTarget", url=url)["targetId"]
        self.session = devtools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def evaluate(self, expression: str):
        answer = self.devtools.call(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, pause: float = 0.2):
        """Evaluate until truthy; the test's own timeout bounds the wait."""
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(pause)

    def screenshot(self, path: Path) -> Path:
        data = self.devtools.call("Page.captureScreenshot", self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


# a digest of the pixels the <img> shows right now, drawn into a canvas (same origin, so readable)
SHOWN_PIXELS = """(() => {
  const img = document.getElementById("frame");
  if (!img || !img.complete || img.naturalWidth === 0) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0;
  for (let i = 0; i < data.length; i += 1) hash = (hash * 31 + data[i]) >>> 0;
  return canvas.width + "x" + canvas.height + ":" + hash;
})()"""


@pytest.fixture
def browser(tmp_path):
    devtools = DevTools(chromium_binary(), tmp_path / "chromium-profile")
    yield devtools
    devtools.close()


def test_page_shows_a_moving_stream_its_top5_and_figures_and_takes_controls(browser, tmp_path):
    clip = write_clip(tmp_path / "stream.mp4", moving_frames(100, 120, 160))
    process = subprocess.Popen(
        live_command("--source", str(clip), "--loop", "--method", "guided_backprop", "--n", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        first_line = process.stdout.readline()
        assert "http://127.0.0.1:" in first_line, first_line
        url = first_line.split("-> ")[1].split()[0]
        page = Page(browser, url)

        # the frame image keeps changing: several different pictures within a few refreshes
        seen = set()
        while len(seen) < 4:
            shown = page.evaluate(SHOWN_PIXELS)
            if shown:
                seen.add(shown)
            time.sleep(0.1)
        assert all(digest.startswith(f"{3 * 112 + 8}x{LABEL_HEIGHT + 112}:") for digest in seen), seen

        # top-5 and figures appear once the first window is explained
        page.wait_for('document.querySelectorAll("#top5 li").length === 5')
        items = page.evaluate('[...document.querySelectorAll("#top5 li")].map((li) => li.textContent)')
        assert all(item.startswith("class_") and item.endswith("%") for item in items)
        page.wait_for('parseFloat(document.getElementById("rate").textContent) > 0')
        figures = page.evaluate(
            '["rate", "latency", "explained", "frames", "dropped", "fps"].map((id) => document.getElementById(id).textContent)'
        )
        rate, latency, explained, frames, dropped, fps = figures
        assert float(rate) > 0 and float(latency) > 0 and int(explained) >= 1 and int(frames) >= 16
        assert int(dropped) >= 0 and float(fps) > 0

        # change the method and n with the page's own controls (Grad-CAM's coarse maps make a readable screenshot)
        page.wait_for('document.getElementById("method").options.length > 4')
        page.evaluate(
            'document.getElementById("method").value = "gradcam";'
            'document.getElementById("n").value = "1";'
            'document.getElementById("apply").click(); true'
        )
        while True:
            state = json.loads(get(url + "state.json")[2])
            if state["explained_method"] == "gradcam":
                break
            time.sleep(0.2)
        assert state["settings"]["method"] == "gradcam" and state["settings"]["n"] == 1.0
        page.wait_for('document.getElementById("explained").textContent !== "' + explained + '"')
        time.sleep(1.0)  # one more state refresh, so the screenshot shows the new method's overlay
        screenshot = page.screenshot(tmp_path / "live.png")
        copy_to = os.environ.get("VIDEOXAI_LIVE_SCREENSHOT")
        if copy_to:
            shutil.copyfile(screenshot, copy_to)
        assert screenshot.stat().st_size > 10_000
    finally:
        process.terminate()
        process.wait(timeout=60)
