"""Run the MCP server over stdio or streamable HTTP, with its log on standard error only."""

from __future__ import annotations

import io
import logging
import sys
from typing import Literal

import anyio

from memory_core.config import MemoryConfig
from memory_core.mcp._sdk import MCPServer, uvicorn
from memory_core.mcp.http_app import HttpOptions, check_binding, http_app, request_body_limit
from memory_core.mcp.server import build_server
from memory_core.memory import SelfLearningMemory

__all__ = ["serve"]

logger = logging.getLogger("memory_core.mcp")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )


async def _serve_http(server: MCPServer, options: HttpOptions, body_limit: int) -> None:
    config = uvicorn.Config(
        http_app(server, options, body_limit=body_limit),
        host=options.host,
        port=options.port,
        log_config=None,  # the root logger (standard error), not uvicorn's stdout handlers
        access_log=False,
        lifespan="on",
    )
    await uvicorn.Server(config).serve()


def _flush_stray_output_at_once() -> None:
    """Make ``print`` reach the descriptor at once, not when the process exits.

    While the SDK serves stdio it points descriptor 1 at standard error, so stray output (a
    plugin's ``print``) misses the protocol stream, but only if it is written then, not
    left in Python's buffer until exit, when the descriptor is the protocol stream again.
    """
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)


def serve(
    config: MemoryConfig,
    *,
    namespace: str = "default",
    transport: Literal["stdio", "http"] = "stdio",
    http: HttpOptions | None = None,
    log_level: str = "INFO",
) -> None:
    """Open the memory, serve it over MCP until the client leaves or the process is stopped.

    Args:
        config: The memory's configuration.
        namespace: The only namespace the server reads and writes.
        transport: ``"stdio"`` (the client runs this process) or ``"http"``.
        http: Host, port and token for HTTP.
        log_level: Threshold for the log written to standard error.

    Raises:
        InvalidInputError: HTTP options that are unsafe or invalid (see `check_binding`).
    """
    options = http or HttpOptions()
    if transport == "http":
        check_binding(options)
    _configure_logging(log_level)
    memory = SelfLearningMemory(config, namespace=namespace)
    try:
        server = build_server(memory)
        if transport == "http":
            logger.info(
                "serving namespace %r over streamable HTTP at %s%s",
                namespace,
                options.url,
                " (bearer token required)" if options.token else "",
            )
            anyio.run(_serve_http, server, options, request_body_limit(config))
        else:
            logger.info("serving namespace %r over stdio", namespace)
            _flush_stray_output_at_once()
            anyio.run(server.run_stdio_async)
    finally:
        memory.sync.close()
