"""Streamable HTTP for the MCP server: where to bind, the bearer token, the body limit.

HTTP binds loopback unless told otherwise, and binding any other address needs a token,
checked on every request. Request bodies larger than any valid call are refused with a
`PayloadTooLargeError` message before they are parsed.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from memory_core.config import MemoryConfig
from memory_core.errors import InvalidInputError, PayloadTooLargeError
from memory_core.mcp._sdk import MCPServer

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MCP_PATH",
    "BearerTokenMiddleware",
    "HttpOptions",
    "PayloadLimitMiddleware",
    "check_binding",
    "http_app",
    "is_loopback",
    "request_body_limit",
]

DEFAULT_HOST = "127.0.0.1"
"""HTTP binds loopback unless told otherwise."""

DEFAULT_PORT = 8765
"""The default HTTP port."""

MCP_PATH = "/mcp"
"""The path of the MCP endpoint."""

logger = logging.getLogger("memory_core.mcp")


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Where and how to serve streamable HTTP.

    Attributes:
        host: Address to bind; loopback by default.
        port: Port to bind.
        token: Bearer token every request must carry (required off loopback).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None

    @property
    def url(self) -> str:
        """The MCP endpoint's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{MCP_PATH}"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(options: HttpOptions) -> None:
    """Refuse to serve HTTP beyond loopback without a token.

    Raises:
        InvalidInputError: A non-loopback host without a token, an empty token, or a port
            out of range.
    """
    if options.token is not None and not options.token.strip():
        raise InvalidInputError("--token must not be empty")
    if not is_loopback(options.host) and options.token is None:
        raise InvalidInputError(
            f"binding {options.host!r} exposes the memory beyond this machine; pass "
            "--token TOKEN (or MEMORY_CORE_MCP_TOKEN) so every request must carry "
            "'Authorization: Bearer TOKEN', or bind 127.0.0.1"
        )
    if not 0 <= options.port <= 65535:
        raise InvalidInputError(f"--port {options.port} is not a TCP port (0-65535)")


def request_body_limit(config: MemoryConfig) -> int:
    """The largest HTTP request body accepted: room for a step at the parameter limit."""
    return 4 * config.limits.max_parameters_bytes + 64 * 1024


async def _send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BearerTokenMiddleware:
    """ASGI middleware answering 401 to every HTTP request without the right bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the ``Authorization`` header, then pass the request on."""
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                logger.warning("refused an HTTP request without a valid bearer token")
                await _send_json(
                    send,
                    401,
                    {
                        "error": "invalid_token",
                        "error_description": "missing or wrong bearer token; send "
                        "'Authorization: Bearer TOKEN' with the server's token",
                    },
                    [(b"www-authenticate", b'Bearer realm="memory-core"')],
                )
                return
        await self.app(scope, receive, send)


class PayloadLimitMiddleware:
    """ASGI middleware refusing request bodies over ``limit`` bytes (HTTP 413).

    The answer is a JSON-RPC error whose message is a `PayloadTooLargeError`'s. Bodies
    without a declared length are also capped by the SDK's own limit, set to the same size.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared ``Content-Length``, then pass the request on."""
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or ()).get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.limit:
                error = PayloadTooLargeError(
                    f"request body is {int(declared)} bytes, over the limit of {self.limit} "
                    "for one MCP message; store large artifacts elsewhere and log a "
                    "reference (the limit follows MemoryConfig.limits.max_parameters_bytes)"
                )
                logger.warning("%s", error)
                message = f"{type(error).__name__}: {error}"
                await _send_json(
                    send,
                    413,
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}},
                    [],
                )
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, options: HttpOptions, *, body_limit: int) -> ASGIApp:
    """The streamable HTTP ASGI app for ``server``, with the token and body-limit checks."""
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=options.host,
        max_request_body_size=body_limit,
        json_response=True,  # every tool answers at once: plain JSON, no event stream
    )
    app = PayloadLimitMiddleware(app, body_limit)
    if options.token is not None:
        app = BearerTokenMiddleware(app, options.token)
    return app
