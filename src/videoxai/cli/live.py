"""``videoxai live --source SOURCE``: explain a video stream as it comes, shown in the browser.

A reader thread keeps the newest clip-length window of frames; an explainer thread explains
the newest complete window and drops the ones it had no time for, so the overlay lags the
stream by about one explanation. The page (``--host``/``--port``) shows the live frame, the
baseline and selective overlays, the top-5 classes and live figures, and changes method, n and
target without a restart. The command ends at the end of a file or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from videoxai.cli.common import add_model_arguments, load_model
from videoxai.core.errors import VideoXAIError
from videoxai.core.methods import ALL_METHODS


def add_parser(subparsers, name: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help="explain a live video stream (camera, file, URL or stdin) and show it in the browser",
        description=(
            "Explain the newest clip-length window of a video stream with one method and its selective "
            "relevance, dropping windows the explainer has no time for, and serve a page that shows "
            "the frames, both overlays, the top-5 classes and live figures."
        ),
    )
    parser.add_argument(
        "--source",
        required=True,
        metavar="SOURCE",
        help="camera index (0) or device (/dev/video0), a video file (played at its own frame rate), "
        "a URL OpenCV can open (rtsp://, http://), or - for raw RGB frames on standard input (needs --size)",
    )
    parser.add_argument("--size", metavar="WxH", help="frame size of raw frames on standard input (--source -)")
    parser.add_argument("--loop", action="store_true", help="play a video file again from the start when it ends")
    add_model_arguments(parser)
    parser.add_argument(
        "--method", default="gradcam", choices=ALL_METHODS, help="explanation method (default: %(default)s)"
    )
    parser.add_argument(
        "--n", type=float, default=4.0, help="σ multiplier of selective relevance (default: %(default)s)"
    )
    parser.add_argument("--target", help="class index or name to explain (default: each window's top-1)")
    parser.add_argument(
        "--frames", type=int, metavar="T", help="frames per explained window (default: the model's clip length)"
    )
    parser.add_argument(
        "--every", type=int, default=1, metavar="K", help="explain every K-th window (default: %(default)s)"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    parser.add_argument("--out", metavar="FILE.mp4", help="also record what is shown to this MP4 (H.264)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the page is served on (default: %(default)s, this machine only); any other address "
        "shows the stream to the network and needs the token printed with the URL",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME[:PORT]",
        help="also answer requests addressed to this host name (a DNS name, a reverse proxy, an SSH tunnel "
        "on another local port); the page refuses other names, against DNS rebinding. Repeatable",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port of the page, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser (headless use)")
    return parser


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top (start-up time): every sub-command's module is imported to build
    # the parser, and the live machinery (OpenCV, the explainers, the server) is needed only by `live`
    from videoxai.live.explainer import LiveExplainer, LiveSettings, resolve_class
    from videoxai.live.server import LiveServer
    from videoxai.live.session import LiveSession
    from videoxai.live.source import open_source

    if args.out is not None and not args.out.lower().endswith(".mp4"):
        raise VideoXAIError("--out must end in .mp4", args.out)
    if args.frames is not None and args.frames < 1:
        raise VideoXAIError(f"--frames must be at least 1, got {args.frames}")
    if args.every < 1:
        raise VideoXAIError(f"--every must be at least 1, got {args.every}")
    source = open_source(args.source, size=args.size, loop=args.loop)
    model, spec = load_model(args)
    target = None if args.target is None else resolve_class(args.target, spec.class_names)
    explainer = LiveExplainer(model, spec, LiveSettings(args.method, args.n, target), device=args.device)
    session = LiveSession(source, explainer, every=args.every, record=args.out, clip_length=args.frames)
    server = LiveServer(session, host=args.host, port=args.port, allow_hosts=args.allow_host)
    session.start()
    server.start()
    if server.exposed:
        port = server.httpd.server_address[1]
        print(
            f"videoxai live: warning: --host {args.host} shows the stream to the network: anyone who can reach "
            f"port {port} and has the token sees every frame, and plain HTTP carries both unencrypted",
            file=sys.stderr,
            flush=True,
        )
    print(f"videoxai live: {source.description} -> {server.login_url} (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(server.login_url)
    interrupted = False

    def terminate(signum, frame):
        raise KeyboardInterrupt  # `kill` stops as cleanly as Ctrl-C: the recording is closed properly

    previous = signal.signal(signal.SIGTERM, terminate)
    # A shell that starts a command in the background (`videoxai live ... &`) makes it ignore
    # SIGINT, and Python then never raises KeyboardInterrupt: listen for it explicitly.
    previous_interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while session.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_interrupt)
        # an explanation in progress is not waited for long: the threads are daemons
        session.stop(timeout=5.0)
        server.stop()
    figures = session.stats.figures()
    ended = "stopped" if interrupted else "source ended"
    print(
        f"videoxai live: {ended}; {figures.frames_read} frames read, {figures.explanations} windows explained, "
        f"{figures.dropped} dropped" + (f", recorded to {args.out}" if args.out and figures.frames_read else ""),
        flush=True,
    )
    if session.errors:
        error = session.errors[0]
        if isinstance(error, VideoXAIError):
            raise error
        print(f"videoxai live: the session failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0
