"""``videoxai live``'s page in a real browser: headless Chromium driven over its DevTools pipe (tests/browser.py).

The command runs for real on a generated clip (C3D at an eighth of its width, random weights, so
it is quick on a CPU). Chromium is installed from Debian's packages when missing (needs root),
else the test skips. The test reads what the page shows (the pixels of the frame image, the top-5
list, the figures), changes the method from the page's own controls, and saves a screenshot
(``VIDEOXAI_LIVE_SCREENSHOT=docs/live.png`` also copies it there).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
from browser import Browser, ensure_chromium
from test_live import environment, get, live_command, moving_frames, write_clip

from videoxai.live.picture import LABEL_HEIGHT

pytestmark = pytest.mark.slow


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


# how long the page may take to show what a step waits for (a first explanation on a busy 2-core CPU)
PAGE_TIMEOUT_S = 300.0


@pytest.fixture
def browser():
    chromium = ensure_chromium()
    if chromium is None:
        pytest.skip("no chromium and it cannot be installed here (needs root and apt-get)")
    with Browser(chromium, width=1280, height=900) as opened:
        yield opened


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
        browser.open(url)

        # the frame image keeps changing: several different pictures within a few refreshes
        seen = set()
        while len(seen) < 4:
            shown = browser.evaluate(SHOWN_PIXELS)
            if shown:
                seen.add(shown)
            time.sleep(0.1)
        assert all(digest.startswith(f"{3 * 112 + 8}x{LABEL_HEIGHT + 112}:") for digest in seen), seen

        # top-5 and figures appear once the first window is explained
        assert browser.wait_for('document.querySelectorAll("#top5 li").length === 5', timeout=PAGE_TIMEOUT_S)
        items = browser.evaluate('[...document.querySelectorAll("#top5 li")].map((li) => li.textContent)')
        assert all(item.startswith("class_") and item.endswith("%") for item in items)
        assert browser.wait_for('parseFloat(document.getElementById("rate").textContent) > 0', timeout=PAGE_TIMEOUT_S)
        figures = browser.evaluate(
            '["rate", "latency", "explained", "frames", "dropped", "fps"].map((id) => document.getElementById(id).textContent)'
        )
        rate, latency, explained, frames, dropped, fps = figures
        assert float(rate) > 0 and float(latency) > 0 and int(explained) >= 1 and int(frames) >= 16
        assert int(dropped) >= 0 and float(fps) > 0

        # change the method and n with the page's own controls (Grad-CAM's coarse maps make a readable screenshot)
        assert browser.wait_for('document.getElementById("method").options.length > 4', timeout=PAGE_TIMEOUT_S)
        browser.evaluate(
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
        assert browser.wait_for(
            'document.getElementById("explained").textContent !== "' + explained + '"', timeout=PAGE_TIMEOUT_S
        )
        time.sleep(1.0)  # one more state refresh, so the screenshot shows the new method's overlay
        screenshot = browser.screenshot(tmp_path / "live.png")
        copy_to = os.environ.get("VIDEOXAI_LIVE_SCREENSHOT")
        if copy_to:
            shutil.copyfile(screenshot, copy_to)
        assert screenshot.stat().st_size > 10_000
    finally:
        process.terminate()
        process.wait(timeout=60)
