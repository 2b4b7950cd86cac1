"""memory-core as an MCP server (``memory-core mcp``), for any MCP-capable agent.

Needs the official MCP Python SDK: ``pip install 'memory-core[mcp]'``. Importing this
package without it raises `MissingDependencyError` naming the extra.

`build_server` creates the server for one memory (tools mirroring the Python API, episode
and pattern resources, the ``lessons`` prompt); `serve` runs it over stdio or streamable
HTTP.
"""

from memory_core.mcp._sdk import INSTALL_HINT
from memory_core.mcp.http_app import HttpOptions
from memory_core.mcp.server import build_server
from memory_core.mcp.tools import TOOL_NAMES
from memory_core.mcp.transport import serve

__all__ = ["INSTALL_HINT", "TOOL_NAMES", "HttpOptions", "build_server", "serve"]
