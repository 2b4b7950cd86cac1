"""The one place that imports the ``mcp`` SDK (the ``memory-core[mcp]`` extra).

Importing this module without the SDK raises `MissingDependencyError` naming the extra,
so every part of `memory_core.mcp` fails the same clear way when it is not installed.
"""

from __future__ import annotations

from memory_core.errors import MissingDependencyError

INSTALL_HINT = "python -m pip install 'memory-core[mcp]'"
"""The command that installs what the MCP server needs."""

try:
    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
    from mcp_types import CallToolResult, TextContent, ToolAnnotations
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError(
        f"the MCP server needs the official MCP Python SDK (mcp>=2), which is not installed "
        f"({exc}); install it with: {INSTALL_HINT}"
    ) from exc

__all__ = [
    "INSTALL_HINT",
    "CallToolResult",
    "MCPServer",
    "ResourceError",
    "ResourceNotFoundError",
    "TextContent",
    "ToolAnnotations",
    "ToolError",
    "uvicorn",
]
