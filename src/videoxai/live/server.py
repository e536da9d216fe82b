"""The page of ``videoxai live``: a standard-library HTTP server over a :class:`~videoxai.live.session.LiveSession`.

Routes:

* ``GET /``: the page (HTML + a little JavaScript, no build step).
* ``GET /frame.jpg``: the newest shown frame (live | baseline | selective) as JPEG; the header
  ``X-Frame-Index`` gives its index in the stream.
* ``GET /state.json``: live figures, top-5 classes, current settings, whether the source ended.
* ``GET /options.json``: the methods and class names the controls offer.
* ``POST /control``: JSON ``{"method": ..., "n": ..., "target": "top1" | index | name}``; any
  subset. Answers the new settings, or 400 with the reason.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import ALL_METHODS
from videoxai.live.picture import compose
from videoxai.live.session import LiveSession

JPEG_QUALITY = 85


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>videoxai live</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 16px; background: #f6f6f4; color: #222; }
  h1 { font-size: 1.2em; margin: 0 0 8px 0; }
  #frame { width: 100%; max-width: 1100px; image-rendering: pixelated; background: #000; display: block; }
  .row { display: flex; gap: 24px; flex-wrap: wrap; margin-top: 12px; align-items: flex-start; }
  .box { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 260px; }
  .box h2 { font-size: 1em; margin: 0 0 6px 0; }
  ol { margin: 0; padding-left: 22px; }
  li { margin: 2px 0; }
  .bar { display: inline-block; height: 8px; background: #d33; vertical-align: middle; margin-left: 6px; }
  table { border-collapse: collapse; }
  td { padding: 1px 10px 1px 0; }
  td.value { text-align: right; font-variant-numeric: tabular-nums; }
  label { display: block; margin: 4px 0; }
  #message, .problem { color: #b00; min-height: 1.2em; max-width: 360px; }
  #ended { color: #555; }
</style>
</head>
<body>
<h1>videoxai live &mdash; <span id="source"></span> <span id="ended"></span></h1>
<img id="frame" alt="live frame, baseline relevance and selective relevance">
<div class="row">
  <div class="box"><h2>Top-5 classes</h2><ol id="top5"></ol>
    <div id="target"></div></div>
  <div class="box"><h2>Live figures</h2>
    <table id="figures">
      <tr><td>explanations per second</td><td class="value" id="rate">&ndash;</td></tr>
      <tr><td>latency, last (s)</td><td class="value" id="latency">&ndash;</td></tr>
      <tr><td>latency, median / p95 (s)</td><td class="value" id="latency-stats">&ndash;</td></tr>
      <tr><td>one explanation (s)</td><td class="value" id="explain-seconds">&ndash;</td></tr>
      <tr><td>windows explained</td><td class="value" id="explained">0</td></tr>
      <tr><td>windows dropped</td><td class="value" id="dropped">0</td></tr>
      <tr><td>frames read</td><td class="value" id="frames">0</td></tr>
      <tr><td>source frame rate</td><td class="value" id="fps">&ndash;</td></tr>
    </table><div id="problem" class="problem"></div></div>
  <div class="box"><h2>Controls</h2>
    <label>method <select id="method"></select></label>
    <label>selective n <input id="n" type="number" min="0" step="0.5" style="width:5em"></label>
    <label>target <input id="target-input" list="classes" placeholder="top1" style="width:14em"></label>
    <datalist id="classes"></datalist>
    <button id="apply">apply</button>
    <div id="message"></div></div>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (value, digits) => value === null || value === undefined ? "\\u2013" : value.toFixed(digits);
let frameRequests = 0;

function nextFrame() {
  const img = $("frame");
  img.onload = img.onerror = () => setTimeout(nextFrame, 40);
  img.src = "/frame.jpg?" + (frameRequests++);
}

function showState(state) {
  const f = state.figures;
  $("rate").textContent = fmt(f.explanations_per_second, 2);
  $("latency").textContent = fmt(f.latency_last, 2);
  $("latency-stats").textContent = fmt(f.latency_median, 2) + " / " + fmt(f.latency_p95, 2);
  $("explain-seconds").textContent = fmt(f.explain_seconds_last, 2);
  $("explained").textContent = f.explanations;
  $("dropped").textContent = f.dropped;
  $("frames").textContent = f.frames_read;
  $("fps").textContent = fmt(f.source_fps, 1);
  $("source").textContent = state.source;
  $("ended").textContent = state.ended ? "(source ended)" : "";
  const problem = state.explain_error || state.errors[0];
  $("problem").textContent = problem || "";
  const list = $("top5");
  list.replaceChildren();
  for (const entry of state.top5) {
    const item = document.createElement("li");
    item.textContent = entry.name + " " + (100 * entry.probability).toFixed(1) + " %";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = Math.round(120 * entry.probability) + "px";
    item.appendChild(bar);
    list.appendChild(item);
  }
  $("target").textContent = state.explained_target === null ? "" :
    "explained: " + state.explained_target + " (window ending at frame " + state.explained_end + ")";
}

function pollState() {
  fetch("/state.json").then((r) => r.json()).then(showState).catch(() => {})
    .finally(() => setTimeout(pollState, 500));
}

function loadOptions() {
  fetch("/options.json").then((r) => r.json()).then((options) => {
    const select = $("method");
    for (const method of options.methods) {
      const option = document.createElement("option");
      option.value = option.textContent = method;
      select.appendChild(option);
    }
    const classes = $("classes");
    for (const name of ["top1"].concat(options.class_names)) {
      const option = document.createElement("option");
      option.value = name;
      classes.appendChild(option);
    }
    select.value = options.settings.method;
    $("n").value = options.settings.n;
    $("target-input").value = options.settings.target === null ? "" : options.class_names[options.settings.target];
  });
}

$("apply").addEventListener("click", () => {
  const target = $("target-input").value.trim();
  const body = { method: $("method").value, n: parseFloat($("n").value), target: target === "" ? "top1" : target };
  fetch("/control", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
    .then((r) => r.json().then((answer) => ({ ok: r.ok, answer })))
    .then(({ ok, answer }) => { $("message").textContent = ok ? "" : answer.error; });
});

loadOptions();
nextFrame();
pollState();
</script>
</body>
</html>
"""


def state_of(session: LiveSession) -> dict:
    """What ``/state.json`` answers: figures, top-5, settings, and whether the stream ended."""
    result = session.result()
    settings = session.explainer.settings
    names = session.spec.class_names
    return {
        "source": session.source.description,
        "ended": not session.running,
        "figures": session.stats.figures().as_dict(),
        "top5": []
        if result is None
        else [{"index": index, "name": name, "probability": probability} for index, name, probability in result.top5],
        "explained_target": None if result is None else result.target_name,
        "explained_end": None if result is None else result.end,
        "explained_method": None if result is None else result.settings.method,
        "kept": None if result is None else result.kept,
        "settings": {
            "method": settings.method,
            "n": settings.n,
            "target": settings.target,
            "target_name": None if settings.target is None else names[settings.target],
        },
        "explain_error": session.explain_error(),
        "errors": [str(error) for error in session.errors],
    }


def apply_control(session: LiveSession, request: dict) -> dict:
    """Apply a ``/control`` request body to the session's explainer; raises VideoXAIError when invalid."""
    if not isinstance(request, dict):
        raise VideoXAIError("control: the body must be a JSON object")
    unknown = sorted(set(request) - {"method", "n", "target"})
    if unknown:
        raise VideoXAIError(f"control: unknown key(s) {unknown}, use method, n and target")
    target = request.get("target")
    top1 = target in ("top1", "")
    n = request.get("n")
    if n is not None and not isinstance(n, (int, float)):
        raise VideoXAIError(f"n: must be a number, got {n!r}")
    settings = session.explainer.update(method=request.get("method"), n=n, target=None if top1 else target, top1=top1)
    return {"method": settings.method, "n": settings.n, "target": settings.target}


class _Cache:
    """The newest frame's JPEG, encoded once however many pages ask for it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.index = -2
        self.data = b""


def make_handler(session: LiveSession):
    cache = _Cache()

    def jpeg() -> tuple[int, bytes]:
        index, frame = session.shown()
        with cache.lock:
            if index != cache.index:
                if frame is None:  # before the first frame: the same layout, black
                    black = np.zeros((session.spec.size, session.spec.size, 3), dtype=np.uint8)
                    frame = compose(black, None, 0, session.explainer.settings)
                ok, encoded = cv2.imencode(
                    ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
                )
                cache.index, cache.data = index, encoded.tobytes() if ok else b""
            return cache.index, cache.data

    class Handler(BaseHTTPRequestHandler):
        server_version = "videoxai-live"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass  # a request every 40 ms would drown the terminal

        def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self):  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
            elif path == "/frame.jpg":
                index, data = jpeg()
                self._send(HTTPStatus.OK, data, "image/jpeg", {"X-Frame-Index": str(index)})
            elif path == "/state.json":
                self._json(HTTPStatus.OK, state_of(session))
            elif path == "/options.json":
                settings = session.explainer.settings
                self._json(
                    HTTPStatus.OK,
                    {
                        "methods": list(ALL_METHODS),
                        "class_names": list(session.spec.class_names),
                        "settings": {"method": settings.method, "n": settings.n, "target": settings.target},
                    },
                )
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})

        def do_POST(self):  # noqa: N802
            if self.path.split("?", 1)[0] != "/control":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
                self._json(HTTPStatus.OK, apply_control(session, request))
            except json.JSONDecodeError as error:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"control: the body is not JSON ({error})"})
            except VideoXAIError as error:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    return Handler


class LiveServer:
    """A threaded HTTP server for one session; ``url`` is where the page is."""

    def __init__(self, session: LiveSession, host: str = "127.0.0.1", port: int = 8765):
        try:
            self.httpd = ThreadingHTTPServer((host, port), make_handler(session))
        except OSError as error:
            raise VideoXAIError(f"cannot serve the page on {host}:{port} ({error.strerror or error})") from None
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="videoxai-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


__all__ = ["LiveServer", "PAGE", "apply_control", "make_handler", "state_of"]
