"""The live page answers its own origin only: raw HTTP requests against a real server.

Each attack is sent as a browser (or anyone) would send it, with ``http.client`` and every header
written by hand, to a :class:`LiveServer` on an ephemeral port: a DNS-rebinding ``Host``, a
cross-site or origin-less ``POST /control``, a body that is not JSON or too large, and, on an
address beyond loopback, a request without the token. The legitimate requests still get 200.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import subprocess

import pytest
from test_explain import SPEC, make_model
from test_live import environment, live_command, moving_frames

from videoxai.core.errors import VideoXAIError
from videoxai.live.access import (
    MAX_BODY_BYTES,
    AccessPolicy,
    body_length,
    is_json,
    is_loopback,
    parse_allowed_host,
    split_host,
)
from videoxai.live.explainer import LiveExplainer, LiveSettings
from videoxai.live.server import SECURITY_HEADERS, LiveServer
from videoxai.live.session import LiveSession
from videoxai.live.source import open_source

ATTACKER = "attacker.example"
CONTROL = json.dumps({"n": 2.5}).encode()


def raw(port: int, method: str, path: str, headers=(), body: bytes = b"", address: str = "127.0.0.1"):
    """One request with exactly ``headers`` (pairs, repeats allowed; no Host unless given): status, headers, body."""
    connection = http.client.HTTPConnection(address, port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for key, value in headers:
            connection.putheader(key, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def control(port: int, host: str, origin: str | None, content_type: str | None = "application/json", body=CONTROL):
    headers = [("Host", host)]
    if origin is not None:
        headers.append(("Origin", origin))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(body))))
    return raw(port, "POST", "/control", headers, body)


def new_session() -> LiveSession:
    """A session that is never started: the page answers from its settings and a black frame."""
    explainer = LiveExplainer(make_model(), SPEC, LiveSettings("gradcam", 1.0))
    return LiveSession(open_source("-", size="16x16", stdin=io.BytesIO(b"")), explainer)


@pytest.fixture
def served():
    """A session's page on 127.0.0.1 and an ephemeral port: (server, port, the page's own Host)."""
    server = LiveServer(new_session(), port=0, allow_hosts=["live.example", "tunnel:9000"]).start()
    port = server.httpd.server_address[1]
    yield server, port, f"127.0.0.1:{port}"
    server.stop()


def serve_on(address: str) -> LiveServer:
    try:
        return LiveServer(new_session(), host=address, port=0).start()
    except VideoXAIError as error:
        pytest.skip(f"cannot listen on {address} here: {error}")


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, or None."""
    candidates = set()
    try:
        candidates.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        candidates.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    usable = sorted(address for address in candidates if not is_loopback(address) and address != "0.0.0.0")
    return usable[0] if usable else None


# ----------------------------------------------------------------------------- the checks, by hand


def test_split_host_reads_name_and_port():
    assert split_host("LocalHost:8765") == ("localhost", 8765)
    assert split_host("[::1]:8765") == ("[::1]", 8765)
    assert split_host("example.org") == ("example.org", 80)
    assert split_host("example.org.:81") == ("example.org", 81)
    for malformed in (None, "", ":8765", "::1:8765", "[::1", "[zz]:1", "a:b", "a:0", "a:70000", "a b:1", "u@h:1"):
        assert split_host(malformed) is None, malformed


def test_loopback_policy_allows_its_own_names_with_its_port_only():
    policy = AccessPolicy.for_address("127.0.0.1", 8765, allow_hosts=["live.example", "tunnel:9000"])
    assert policy.token is None
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST:8765", "live.example:8765"):
        assert policy.host_allowed(host), host
    assert policy.host_allowed("tunnel:9000")
    for host in (f"{ATTACKER}:8765", "localhost:8766", "localhost", "127.0.0.2:8765", "10.0.0.1:8765", None, ""):
        assert not policy.host_allowed(host), host


def test_any_address_policy_wants_a_token_and_refuses_foreign_names():
    policy = AccessPolicy.for_address("0.0.0.0", 8765)
    assert policy.token and len(policy.token) >= 32
    assert AccessPolicy.for_address("0.0.0.0", 8765).token != policy.token  # random each time
    assert policy.host_allowed("192.168.1.20:8765") and policy.host_allowed("127.0.0.1:8765")
    assert policy.host_allowed(f"{socket.gethostname()}:8765")
    assert not policy.host_allowed(f"{ATTACKER}:8765") and not policy.host_allowed("192.168.1.20:1")
    assert not policy.token_matches(None) and not policy.token_matches("") and not policy.token_matches("x")
    assert policy.token_matches(policy.token)
    assert policy.token_from_cookie(f"a=b; {policy.cookie_name}={policy.token}") == policy.token
    assert policy.token_from_cookie('broken="') is None


def test_same_origin_is_http_plus_the_requests_own_host():
    policy = AccessPolicy.for_address("127.0.0.1", 8765)
    assert policy.same_origin("http://127.0.0.1:8765", "127.0.0.1:8765")
    assert policy.same_origin("http://localhost:8765", "localhost:8765")
    assert not policy.same_origin("http://localhost:8765", "127.0.0.1:8765")  # another origin, though allowed
    assert not policy.same_origin(f"http://{ATTACKER}:8765", "127.0.0.1:8765")
    assert not policy.same_origin(f"http://{ATTACKER}:8765", f"{ATTACKER}:8765")  # rebinding: Host is refused
    assert not policy.same_origin("https://127.0.0.1:8765", "127.0.0.1:8765")
    assert not policy.same_origin("null", "127.0.0.1:8765")
    assert not policy.same_origin(None, "127.0.0.1:8765")


def test_content_type_and_length_rules():
    assert is_json("application/json") and is_json("Application/JSON; charset=utf-8")
    assert not is_json("text/plain") and not is_json("application/x-www-form-urlencoded") and not is_json(None)
    assert body_length("12") == 12 and body_length(" 0 ") == 0
    for bad in (None, "", "abc", "-1", "1.5", "١٢"):
        with pytest.raises(ValueError):
            body_length(bad)
    assert parse_allowed_host("Proxy.Example", 8765) == ("proxy.example", 8765)
    assert parse_allowed_host("[::1]:9000", 8765) == ("[::1]", 9000)
    with pytest.raises(VideoXAIError, match="--allow-host"):
        parse_allowed_host("a b", 8765)


# ----------------------------------------------------------------------------- a real server on loopback


@pytest.mark.parametrize("path", ["/", "/frame.jpg", "/state.json", "/options.json"])
def test_rebinding_host_is_refused(served, path):
    server, port, _ = served
    status, _, body = raw(port, "GET", path, [("Host", f"{ATTACKER}:{port}")])
    assert status == 403 and b"Host header refused" in body


def test_missing_or_repeated_or_wrong_port_host_is_refused(served):
    _, port, own = served
    assert raw(port, "GET", "/state.json")[0] == 403  # no Host at all
    assert raw(port, "GET", "/state.json", [("Host", own), ("Host", f"{ATTACKER}:{port}")])[0] == 403
    assert raw(port, "GET", "/state.json", [("Host", f"localhost:{port + 1 if port < 65535 else 1}")])[0] == 403


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]", "live.example"])
def test_own_host_names_are_answered(served, name):
    _, port, _ = served
    status, headers, body = raw(port, "GET", "/state.json", [("Host", f"{name}:{port}")])
    assert status == 200 and json.loads(body)["settings"]["method"] == "gradcam"
    assert all(headers[key] == value for key, value in SECURITY_HEADERS.items())
    assert "Set-Cookie" not in headers  # no token on loopback


def test_allowed_tunnel_host_with_its_own_port(served):
    _, port, _ = served
    assert raw(port, "GET", "/", [("Host", "tunnel:9000")])[0] == 200
    assert raw(port, "GET", "/", [("Host", f"tunnel:{port}")])[0] == 403


def test_page_and_frame_are_answered_to_their_own_host(served):
    _, port, own = served
    status, headers, page = raw(port, "GET", "/", [("Host", own)])
    assert status == 200 and b'id="top5"' in page
    status, headers, jpeg = raw(port, "GET", "/frame.jpg", [("Host", own)])
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"


def test_cross_site_control_is_refused_and_changes_nothing(served):
    server, port, own = served
    status, _, body = control(port, own, f"http://{ATTACKER}")
    assert status == 403 and b"Origin" in body
    # what a cross-site form or no-preflight fetch sends: a foreign origin and a "simple" type
    assert control(port, own, f"http://{ATTACKER}", "text/plain")[0] == 403
    assert control(port, own, "null")[0] == 403
    assert control(port, f"{ATTACKER}:{port}", f"http://{ATTACKER}:{port}")[0] == 403  # rebinding
    state = json.loads(raw(port, "GET", "/state.json", [("Host", own)])[2])
    assert state["settings"]["n"] == 1.0


def test_control_without_origin_is_refused(served):
    _, port, own = served
    assert control(port, own, None)[0] == 403


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_control_that_is_not_json_gets_415(served, content_type):
    _, port, own = served
    status, _, body = control(port, own, f"http://{own}", content_type)
    assert status == 415 and b"application/json" in body


def test_oversized_or_unmeasured_bodies_are_refused(served):
    _, port, own = served
    headers = [("Host", own), ("Origin", f"http://{own}"), ("Content-Type", "application/json")]
    # only the header is sent: the answer must come before the server reads (or waits for) a body
    status, _, body = raw(port, "POST", "/control", [*headers, ("Content-Length", str(MAX_BODY_BYTES + 1))])
    assert status == 413 and b"65536 bytes" in body
    assert raw(port, "POST", "/control", [*headers, ("Content-Length", "abc")], b"{}")[0] == 400
    assert raw(port, "POST", "/control", [*headers, ("Content-Length", "-2")], b"{}")[0] == 400
    assert raw(port, "POST", "/control", headers, b"{}")[0] == 411
    chunked = [*headers, ("Transfer-Encoding", "chunked")]
    assert raw(port, "POST", "/control", chunked, b"2\r\n{}\r\n0\r\n\r\n")[0] == 411
    # exactly the limit is read and applied
    padded = CONTROL + b" " * (MAX_BODY_BYTES - len(CONTROL))
    assert raw(port, "POST", "/control", [*headers, ("Content-Length", str(len(padded)))], padded)[0] == 200


def test_control_from_the_page_itself_is_applied(served):
    server, port, own = served
    status, headers, body = control(port, own, f"http://{own}", "application/json; charset=utf-8")
    assert status == 200 and json.loads(body) == {"method": "gradcam", "n": 2.5, "target": None}
    assert server.policy.token is None and server.login_url == server.url == f"http://{own}/"
    localhost = f"localhost:{port}"
    assert control(port, localhost, f"http://{localhost}", body=b'{"n": 3}')[0] == 200
    assert control(port, own, f"http://{own}", body=b"{not json")[0] == 400


# ----------------------------------------------------------------------------- beyond loopback: the token


def test_every_address_needs_the_token():
    server = serve_on("0.0.0.0")
    try:
        port, token = server.httpd.server_address[1], server.token
        own = f"127.0.0.1:{port}"
        assert server.exposed and token and server.login_url == f"http://{own}/?token={token}"
        for path in ("/", "/frame.jpg", "/state.json"):
            assert raw(port, "GET", path, [("Host", own)])[0] == 403, path
            assert raw(port, "GET", path + "?token=wrong", [("Host", own)])[0] == 403, path
            assert raw(port, "GET", path, [("Host", own), ("Cookie", f"{server.policy.cookie_name}=wrong")])[0] == 403
        status, _, body = raw(port, "GET", "/state.json", [("Host", own)])
        assert b"token is required" in body
        # the token once in the address: the page, and a cookie scripts cannot read that stays on this site
        status, headers, page = raw(port, "GET", f"/?token={token}", [("Host", own)])
        assert status == 200 and b'id="top5"' in page
        cookie = headers["Set-Cookie"]
        assert cookie.startswith(f"{server.policy.cookie_name}={token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        with_cookie = [("Host", own), ("Cookie", f"{server.policy.cookie_name}={token}")]
        assert raw(port, "GET", "/frame.jpg", with_cookie)[0] == 200
        assert raw(port, "GET", "/state.json", with_cookie)[0] == 200
        post = [*with_cookie, ("Origin", f"http://{own}"), ("Content-Type", "application/json")]
        assert raw(port, "POST", "/control", [*post, ("Content-Length", str(len(CONTROL)))], CONTROL)[0] == 200
        # the token does not make a foreign name acceptable
        assert raw(port, "GET", f"/state.json?token={token}", [("Host", f"{ATTACKER}:{port}")])[0] == 403
    finally:
        server.stop()


def test_a_non_loopback_address_needs_the_token_and_its_own_name():
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no IPv4 address besides loopback")
    server = serve_on(address)
    try:
        port, token = server.httpd.server_address[1], server.token
        own = f"{address}:{port}"
        assert server.exposed and server.url == f"http://{own}/"
        assert raw(port, "GET", "/state.json", [("Host", own)], address=address)[0] == 403
        assert raw(port, "GET", f"/state.json?token={token}", [("Host", own)], address=address)[0] == 200
        assert (
            raw(port, "GET", f"/state.json?token={token}", [("Host", f"localhost:{port}")], address=address)[0] == 403
        )
        assert (
            raw(port, "GET", f"/state.json?token={token}", [("Host", f"{ATTACKER}:{port}")], address=address)[0] == 403
        )
    finally:
        server.stop()


@pytest.mark.slow
def test_command_warns_and_prints_the_token_beyond_loopback():
    done = subprocess.run(
        [*live_command("--source", "-", "--size", "160x120"), "--host", "0.0.0.0"],
        input=moving_frames(17, 120, 160).tobytes(),
        capture_output=True,
        env=environment(),
        timeout=300,
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "warning: --host 0.0.0.0 shows the stream to the network" in stderr
    url = stdout.splitlines()[0].split("-> ")[1].split()[0]
    assert url.startswith("http://127.0.0.1:") and "/?token=" in url and len(url.split("token=")[1]) >= 32


@pytest.mark.slow
def test_command_on_loopback_prints_no_warning_and_no_token():
    done = subprocess.run(
        live_command("--source", "-", "--size", "160x120"),
        input=moving_frames(17, 120, 160).tobytes(),
        capture_output=True,
        env=environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "warning" not in done.stderr.decode() and "token" not in done.stdout.decode()
