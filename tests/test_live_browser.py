"""``videoxai live``'s page in a real browser: headless Chromium driven over its DevTools pipe (tests/browser.py).

The command runs for real on a generated clip (C3D at an eighth of its width, random weights, so
it is quick on a CPU). Without a Chromium the test skips, saying how to get one (`make test`
installs Debian's as root). The test reads what the page shows (the pixels of the frame image, the top-5
list, the figures), changes the method from the page's own controls, and saves a screenshot
(``VIDEOXAI_LIVE_SCREENSHOT=docs/live.png`` also copies it there).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time

import pytest
from browser import Browser, require_chromium
from test_explain import SPEC, make_model
from test_live import environment, get, live_command, moving_frames, write_clip

from videoxai.core.errors import VideoXAIError
from videoxai.live.explainer import LiveExplainer, LiveSettings
from videoxai.live.picture import LABEL_HEIGHT
from videoxai.live.server import LiveServer
from videoxai.live.session import LiveSession
from videoxai.live.source import open_source

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
    chromium = require_chromium()
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


# ----------------------------------------------------------------------------- what the page lets a browser do


def page_server(host: str = "127.0.0.1") -> tuple[LiveServer, LiveExplainer]:
    """The page of a session that is never started (settings, options and a black frame), in-process."""
    explainer = LiveExplainer(make_model(), SPEC, LiveSettings("gradcam", 1.0))
    session = LiveSession(open_source("-", size="16x16", stdin=io.BytesIO(b"")), explainer)
    return LiveServer(session, host=host, port=0).start(), explainer


def test_page_with_a_token_works_from_its_cookie_and_scripts_cannot_read_it(browser):
    """Served on every interface: the URL with ?token= opens the page, whose own requests then carry the cookie."""
    try:
        server, explainer = page_server("0.0.0.0")
    except VideoXAIError as error:
        pytest.skip(f"cannot listen on 0.0.0.0 here: {error}")
    try:
        browser.open(server.url)  # without the token
        assert browser.wait_for("document.body && document.body.innerText.includes('token is required')")
        browser.open(server.login_url)
        assert browser.wait_for('document.getElementById("method").options.length > 4', timeout=PAGE_TIMEOUT_S)
        assert browser.wait_for('document.getElementById("source").textContent === "standard input"')
        assert browser.evaluate("document.cookie") == ""  # HttpOnly: the token is out of scripts' reach
        # the page's own control request (same origin, JSON, cookie) is accepted
        browser.evaluate(
            'document.getElementById("method").value = "guided_backprop";document.getElementById("apply").click(); true'
        )
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while explainer.settings.method != "guided_backprop" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert explainer.settings.method == "guided_backprop"
        assert browser.evaluate('document.getElementById("message").textContent') == ""
        # a plain fetch from the page itself carries the cookie, so the frames keep coming
        assert browser.evaluate('fetch("/frame.jpg").then((r) => r.status)') == 200
    finally:
        server.stop()


def test_a_rebound_name_gets_nothing_in_a_real_browser():
    """DNS rebinding as the browser sees it: a foreign name that resolves to 127.0.0.1."""
    chromium = require_chromium()
    server, explainer = page_server()
    port = server.httpd.server_address[1]
    rules = "--host-resolver-rules=MAP attacker.example 127.0.0.1"
    try:
        with Browser(chromium, width=800, height=600, arguments=[rules]) as browser:
            browser.open(f"http://attacker.example:{port}/state.json")
            text = browser.wait_for("document.body && document.body.innerText")
            assert "Host header refused" in text and "gradcam" not in text
            # the page under its own name, in the same browser, is there
            browser.open(server.url)
            assert browser.wait_for('document.getElementById("method").options.length > 4', timeout=PAGE_TIMEOUT_S)
            # and a page on the rebound name cannot change the settings either
            browser.open(f"http://attacker.example:{port}/nothing")
            browser.wait_for("document.readyState === 'complete'")
            answer = browser.evaluate(
                f'fetch("http://attacker.example:{port}/control", {{method: "POST", '
                'headers: {"Content-Type": "application/json"}, body: JSON.stringify({n: 9})})'
                ".then((r) => r.status)"
            )
            assert answer == 403 and explainer.settings.n == 1.0
    finally:
        server.stop()
