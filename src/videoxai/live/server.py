"""The page of ``videoxai live``: a standard-library HTTP server over a :class:`~videoxai.live.session.LiveSession`.

Routes:

* ``GET /``: the page (HTML + a little JavaScript, no build step).
* ``GET /frame.jpg``: the newest shown frame (live | baseline | selective) as JPEG; the header
  ``X-Frame-Index`` gives its index in the stream.
* ``GET /state.json``: live figures, top-5 classes, current settings, whether the source ended.
* ``GET /options.json``: the methods and class names the controls offer.
* ``POST /control``: JSON ``{"method": ..., "n": ..., "target": "top1" | index | name}``; any
  subset. Answers the new settings, or 400 with the reason.

Every request first passes the checks of :mod:`videoxai.live.access`: a ``Host`` this server
answers to (else 403) and, beyond loopback, the token (else 403); ``POST /control`` also needs
a same-origin ``Origin`` (else 403), ``Content-Type: application/json`` (else 415) and a
``Content-Length`` of at most 64 KiB (else 411, 400 or 413).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import ALL_METHODS
from videoxai.live.access import MAX_BODY_BYTES, AccessPolicy, body_length, is_any_address, is_json, is_loopback
from videoxai.live.picture import compose
from videoxai.live.session import LiveSession

JPEG_QUALITY = 85
# seconds a client may take to send one request
REQUEST_TIMEOUT_S = 30.0
# on every answer: no other site may embed the frames (even as an <img>) or frame the page,
# and the token in the address never leaves in a Referer
SECURITY_HEADERS = {
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


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


def make_handler(session: LiveSession, policy: AccessPolicy):
    """The request handler class of one session's page; every request passes ``policy``'s checks first."""
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
        # a client that stops sending half-way through a request does not hold its thread for ever
        timeout = REQUEST_TIMEOUT_S

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass  # a request every 40 ms would drown the terminal

        def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in {**SECURITY_HEADERS, **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload, headers: dict | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _refuse(self, status: int, reason: str) -> None:
            # the body of a refused request may be unread: this connection takes no further request
            self.close_connection = True
            self._json(status, {"error": reason}, {"Connection": "close"})

        def _admitted(self) -> dict | None:
            """Extra response headers when this request may be answered; None after refusing it."""
            if not policy.host_allowed(self.headers.get("Host")) or len(self.headers.get_all("Host") or []) != 1:
                self._refuse(HTTPStatus.FORBIDDEN, "this page answers only its own address (Host header refused)")
                return None
            if policy.token is None:
                return {}
            from_query = parse_qs(urlsplit(self.path).query).get("token", [None])[-1]
            if policy.token_matches(from_query):
                return {"Set-Cookie": policy.cookie()}  # the page's own requests then carry the token
            if policy.token_matches(policy.token_from_cookie(self.headers.get("Cookie"))):
                return {}
            self._refuse(
                HTTPStatus.FORBIDDEN, "a token is required: open the URL with ?token= that videoxai live printed"
            )
            return None

        def _json_body(self):
            """The request's JSON body; None after refusing the request (origin, type or size)."""
            if not policy.same_origin(self.headers.get("Origin"), self.headers.get("Host")):
                self._refuse(HTTPStatus.FORBIDDEN, "control: only the page itself may change the settings (Origin)")
                return None
            if not is_json(self.headers.get("Content-Type")):
                self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "control: the body must be application/json")
                return None
            if self.headers.get("Transfer-Encoding"):
                self._refuse(HTTPStatus.LENGTH_REQUIRED, "control: send the body with a Content-Length")
                return None
            try:
                length = body_length(self.headers.get("Content-Length"))
            except ValueError as error:
                missing = self.headers.get("Content-Length") is None
                self._refuse(HTTPStatus.LENGTH_REQUIRED if missing else HTTPStatus.BAD_REQUEST, f"control: {error}")
                return None
            if length > MAX_BODY_BYTES:
                self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"control: the body is over {MAX_BODY_BYTES} bytes")
                return None
            try:
                data = self.rfile.read(length)
            except TimeoutError:
                self._refuse(HTTPStatus.REQUEST_TIMEOUT, "control: the body did not arrive")
                return None
            if len(data) < length:
                self.close_connection = True  # the client went away; there is no one to answer
                return None
            try:
                return json.loads(data or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"control: the body is not JSON ({error})"})
                return None

        def do_GET(self):  # noqa: N802 - http.server's naming
            headers = self._admitted()
            if headers is None:
                return
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8", headers)
            elif path == "/frame.jpg":
                index, data = jpeg()
                self._send(HTTPStatus.OK, data, "image/jpeg", {**headers, "X-Frame-Index": str(index)})
            elif path == "/state.json":
                self._json(HTTPStatus.OK, state_of(session), headers)
            elif path == "/options.json":
                settings = session.explainer.settings
                self._json(
                    HTTPStatus.OK,
                    {
                        "methods": list(ALL_METHODS),
                        "class_names": list(session.spec.class_names),
                        "settings": {"method": settings.method, "n": settings.n, "target": settings.target},
                    },
                    headers,
                )
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"}, headers)

        def do_POST(self):  # noqa: N802
            headers = self._admitted()
            if headers is None:
                return
            path = urlsplit(self.path).path
            if path != "/control":
                self._refuse(HTTPStatus.NOT_FOUND, f"no such page: {path}")
                return
            request = self._json_body()
            if request is None:
                return
            try:
                self._json(HTTPStatus.OK, apply_control(session, request), headers)
            except VideoXAIError as error:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)}, headers)

    return Handler


class IPv6Server(ThreadingHTTPServer):
    """``--host ::1`` and other IPv6 addresses (the standard server binds IPv4 only)."""

    address_family = socket.AF_INET6


class LiveServer:
    """A threaded HTTP server for one session, answering only its own origin (:mod:`videoxai.live.access`).

    Attributes:
        url: where the page is, without the token.
        login_url: the address to open: ``url`` plus ``?token=...`` when a token is required.
        policy: the :class:`~videoxai.live.access.AccessPolicy`; ``token`` is None on loopback.
        exposed: True when the page is served beyond this machine (not on a loopback address).
    """

    def __init__(
        self, session: LiveSession, host: str = "127.0.0.1", port: int = 8765, allow_hosts: Iterable[str] = ()
    ):
        server_class = IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self.httpd = server_class((host.strip("[]"), port), BaseHTTPRequestHandler)
        except OSError as error:
            raise VideoXAIError(f"cannot serve the page on {host}:{port} ({error.strerror or error})") from None
        address, bound_port = self.httpd.server_address[:2]
        try:
            self.policy = AccessPolicy.for_address(address, bound_port, allow_hosts)
        except VideoXAIError:
            self.httpd.server_close()
            raise
        self.httpd.RequestHandlerClass = make_handler(session, self.policy)
        self.httpd.daemon_threads = True
        self.exposed = not is_loopback(address)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="videoxai-server", daemon=True)

    @property
    def token(self) -> str | None:
        return self.policy.token

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if is_any_address(host):
            # every interface includes loopback, and a browser on this machine cannot open 0.0.0.0
            host = "::1" if ":" in host else "127.0.0.1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    @property
    def login_url(self) -> str:
        return self.url if self.token is None else f"{self.url}?token={self.token}"

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


__all__ = ["LiveServer", "PAGE", "SECURITY_HEADERS", "apply_control", "make_handler", "state_of"]
