"""``memory-core mcp``: serve the memory over the Model Context Protocol.

The MCP SDK is imported only when the command runs, so the rest of the CLI works without
the ``memory-core[mcp]`` extra.
"""

from __future__ import annotations

from typing import Annotated

import typer

from memory_core.cli._common import state
from memory_core.errors import InvalidInputError

__all__ = ["mcp_command"]


def mcp_command(
    ctx: typer.Context,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind with --http (default 127.0.0.1); any address but "
            "loopback needs --token."
        ),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port with --http (default 8765).")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MEMORY_CORE_MCP_TOKEN",
            help="Bearer token every HTTP request must carry (Authorization: Bearer TOKEN).",
            show_envvar=True,
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="Log threshold (the log goes to standard error).")
    ] = "INFO",
) -> None:
    """Serve the memory over MCP: stdio by default, streamable HTTP with --http."""
    from memory_core.mcp import HttpOptions, serve  # needs the memory-core[mcp] extra
    from memory_core.mcp.http_app import DEFAULT_HOST, DEFAULT_PORT

    if not http and (host is not None or port is not None):
        raise InvalidInputError("--host and --port apply to --http only")
    if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise InvalidInputError(
            f"--log-level {log_level!r} is not a level; use DEBUG, INFO, WARNING or ERROR"
        )
    options = state(ctx)
    serve(
        options.config(),
        namespace=options.namespace or "default",
        transport="http" if http else "stdio",
        http=HttpOptions(
            host=host or DEFAULT_HOST, port=DEFAULT_PORT if port is None else port, token=token
        ),
        log_level=log_level,
    )
