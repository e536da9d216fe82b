"""Who may read the live page and change its settings.

The page shows every frame of a camera, so it answers its own origin only:

* **Host allowlist** (against DNS rebinding: a page on another site that points its own name at
  127.0.0.1 becomes same-origin with us, but its requests still carry its own name as ``Host``):
  the ``Host`` header must name the served address and port; on loopback also ``localhost``,
  ``127.0.0.1`` or ``[::1]``; on every address (``0.0.0.0``, ``::``) any IP literal or this
  machine's name; plus names given with ``--allow-host``.
* **Same origin for changes** (against cross-site requests, which a browser sends without asking):
  ``POST /control`` needs an ``Origin`` equal to ``http://`` + its ``Host`` and a JSON body.
* **Token beyond loopback**: served on any other address, every request needs the random token,
  from ``?token=`` (which also sets an HttpOnly, SameSite=Strict cookie) or that cookie.

Nothing here knows about ``http.server``; :mod:`videoxai.live.server` applies the checks.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from videoxai.core.errors import VideoXAIError

# a /control body is a few keys; anything longer is refused before it is read
MAX_BODY_BYTES = 64 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_HTTP_PORT = 80


def is_loopback(address: str) -> bool:
    """True for addresses only this machine reaches: 127.0.0.0/8, ::1 and ``localhost``."""
    if address.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def is_any_address(address: str) -> bool:
    """True for the wildcard addresses (``0.0.0.0``, ``::``) that serve every interface."""
    try:
        return ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


def host_name(address: str) -> str:
    """An address as a ``Host`` header writes it: lower case, IPv6 in brackets, no trailing dot."""
    name = address.strip().lower().rstrip(".")
    if ":" in name and not name.startswith("["):
        return f"[{name}]"
    return name


def split_host(value: str | None) -> tuple[str, int] | None:
    """``"name:port"`` (or ``"[v6]:port"``, or a name alone for port 80) -> ``(name, port)``; None if malformed."""
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            return None
        name, rest = value[: close + 1], value[close + 1 :]
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    else:
        name, colon, port_text = value.partition(":")
        rest = colon + port_text
        if ":" in port_text:
            return None  # an IPv6 address without brackets is not a valid Host
    if not name or any(character in name for character in "/?#@ \t\\"):
        return None
    if rest == "":
        return name.rstrip("."), DEFAULT_HTTP_PORT
    if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
        return None
    return name.rstrip("."), int(rest[1:])


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def parse_allowed_host(text: str, port: int) -> tuple[str, int]:
    """An ``--allow-host`` value, ``NAME`` or ``NAME:PORT`` (the port defaults to the served one)."""
    parsed = split_host(text)
    if parsed is None:
        raise VideoXAIError(f"--allow-host: {text!r} is not a host name, NAME or NAME:PORT")
    name, given_port = parsed
    has_port = text.strip().rsplit("]", 1)[-1].count(":") == 1
    return name, given_port if has_port else port


@dataclass(frozen=True)
class AccessPolicy:
    """What the page accepts, fixed when the server binds.

    Attributes:
        port: the served port.
        hosts: ``(name, port)`` pairs the ``Host`` header may carry (names lower case, IPv6 bracketed).
        any_ip_literal: True when bound to every interface: any IP literal with the served port is
            accepted too (a rebinding page always sends a name it owns, never an IP literal).
        token: required on every request when not None (the page is served beyond loopback).
    """

    port: int
    hosts: frozenset[tuple[str, int]]
    any_ip_literal: bool = False
    token: str | None = None

    @classmethod
    def for_address(cls, address: str, port: int, allow_hosts: Iterable[str] = ()) -> AccessPolicy:
        """The policy for a server bound to ``address:port``: a new random token unless loopback."""
        names = {host_name(address)}
        loopback = is_loopback(address)
        if loopback:
            names.update(LOOPBACK_NAMES)
        else:
            # this machine's name, as a user on another machine would type it (no DNS look-up: a fully
            # qualified name can resolve to anything, even localhost; --allow-host adds it)
            names.add(host_name(socket.gethostname()))
        hosts = {(name, port) for name in names}
        hosts.update(parse_allowed_host(text, port) for text in allow_hosts)
        return cls(
            port=port,
            hosts=frozenset(hosts),
            any_ip_literal=is_any_address(address),
            token=None if loopback else secrets.token_urlsafe(24),
        )

    @property
    def cookie_name(self) -> str:
        # cookies are kept per host name, not per port: two servers on one machine need two names
        return f"videoxai-live-{self.port}"

    def host_allowed(self, host_header: str | None) -> bool:
        """True when a ``Host`` header names this server (see the module's docstring)."""
        parsed = split_host(host_header)
        if parsed is None:
            return False
        if parsed in self.hosts:
            return True
        name, port = parsed
        return self.any_ip_literal and port == self.port and is_ip_literal(name)

    def same_origin(self, origin: str | None, host_header: str | None) -> bool:
        """True when ``Origin`` is ``http://`` + the (allowed) ``Host`` of the same request."""
        if not origin or not self.host_allowed(host_header):
            return False
        parts = urlsplit(origin.strip())
        if parts.scheme.lower() != "http" or parts.path not in ("", "/") or parts.query or parts.fragment:
            return False
        return split_host(parts.netloc) == split_host(host_header)

    def token_matches(self, candidate: str | None) -> bool:
        if self.token is None:
            return True
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def token_from_cookie(self, cookie_header: str | None) -> str | None:
        if not cookie_header:
            return None
        cookies = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except CookieError:
            return None
        morsel = cookies.get(self.cookie_name)
        return None if morsel is None else morsel.value

    def cookie(self) -> str:
        """``Set-Cookie`` value that carries the token for the rest of the visit (not readable by scripts)."""
        return f"{self.cookie_name}={self.token}; HttpOnly; SameSite=Strict; Path=/"


def is_json(content_type: str | None) -> bool:
    """True for ``application/json``, with or without parameters such as ``; charset=utf-8``."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def body_length(content_length: str | None) -> int:
    """The request body's declared length; raises ValueError when missing or not a plain number."""
    if content_length is None:
        raise ValueError("a Content-Length header is required")
    text = content_length.strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"Content-Length must be a non-negative integer, got {content_length!r}")
    return int(text)


__all__ = [
    "LOOPBACK_NAMES",
    "MAX_BODY_BYTES",
    "AccessPolicy",
    "body_length",
    "host_name",
    "is_any_address",
    "is_ip_literal",
    "is_json",
    "is_loopback",
    "parse_allowed_host",
    "split_host",
]
