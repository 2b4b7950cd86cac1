"""Fixtures for the MCP server tests (the SDK comes with the ``memory-core[mcp]`` extra,
which requirements-dev.txt installs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.support.mcp_server import (  # noqa: E402
    TOKEN,
    HttpServer,
    server_env,
    start_http_server,
    stop_http_server,
)


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """One token-protected HTTP server (SQLite file, small parameter limit) per module."""
    tmp = tmp_path_factory.mktemp("mcp-http")
    env = server_env(tmp / "home", MEMORY_CORE_LIMITS__MAX_PARAMETERS_BYTES="2000")
    server = start_http_server(
        tmp, f"sqlite:///{tmp / 'memory.db'}", "mcp-http", "--token", TOKEN, env=env
    )
    yield server
    stop_http_server(server)


@pytest.fixture
def errlog(tmp_path: Path) -> Iterator[IO[str]]:
    """A file that receives the stdio server's standard error."""
    with (tmp_path / "server.stderr").open("w+") as handle:
        yield handle


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The stdio server's environment (small parameter limit, for the oversized cases)."""
    return server_env(tmp_path / "home", MEMORY_CORE_LIMITS__MAX_PARAMETERS_BYTES="2000")
