"""Helpers for the MCP server tests: the real ``memory-core mcp`` in a subprocess.

The SDK's own client talks to it over stdio (the client spawns the server) and over
streamable HTTP (a server process started on a free loopback port).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

TOKEN = "test-token-3f2b8c1e"


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """The server's environment: ours (PYTHONPATH included), no MEMORY_CORE_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_CORE_")}
    env.update(MEMORY_CORE_HOME=str(home), MEMORY_CORE_LOAD_PLUGINS="false", **extra)
    return env


def server_args(url: str, namespace: str, *args: str) -> list[str]:
    """``python -m memory_core --database-url URL --namespace NS mcp ARGS``."""
    return ["-m", "memory_core", "--database-url", url, "--namespace", namespace, "mcp", *args]


@asynccontextmanager
async def stdio_session(
    url: str, namespace: str, env: dict[str, str], errlog: IO[str], *args: str
) -> AsyncIterator[Client]:
    """A client connected to a ``memory-core mcp`` process it spawned (stdio)."""
    params = StdioServerParameters(
        command=sys.executable, args=server_args(url, namespace, *args), env=env
    )
    async with Client(stdio_client(params, errlog=errlog)) as client:
        yield client


@asynccontextmanager
async def http_session(url: str, token: str | None = TOKEN) -> AsyncIterator[Client]:
    """A client connected to a running ``memory-core mcp --http`` server."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def data(result: CallToolResult) -> Any:
    """A successful tool result's JSON (the text the model reads), checked against the
    structured content."""
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    parsed = json.loads(text)
    structured = result.structured_content
    assert structured == parsed or structured == {"result": parsed}
    return parsed


def error_text(result: CallToolResult) -> str:
    """A failed tool result's message."""
    assert result.is_error, result.content
    return result.content[0].text  # type: ignore[union-attr,no-any-return]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpServer:
    """A running ``memory-core mcp --http`` process."""

    url: str
    database_url: str
    namespace: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path


def start_http_server(
    tmp: Path, database_url: str, namespace: str, *args: str, env: dict[str, str] | None = None
) -> HttpServer:
    """Start the server on a free loopback port and wait until it accepts connections."""
    port = free_port()
    stdout, stderr = tmp / "http.stdout", tmp / "http.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                *server_args(database_url, namespace, "--http", "--port", str(port), *args),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env or server_env(tmp / "home"),
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {stderr.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError(f"the server did not listen in time: {stderr.read_text()}")
    url = f"http://127.0.0.1:{port}/mcp"
    return HttpServer(url, database_url, namespace, process, stdout, stderr)


def stop_http_server(server: HttpServer) -> None:
    """Stop the server the way a terminal does (Ctrl-C) and check it shut down cleanly."""
    server.process.send_signal(2)  # SIGINT
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise
    assert server.stdout.read_bytes() == b"", "the HTTP server wrote to standard output"


@dataclass
class Lifecycle:
    """What `run_lifecycle` recorded."""

    episode_id: str
    completed: dict[str, Any]


async def run_lifecycle(client: Client, domain: str = "web-api") -> Lifecycle:
    """Record one task through the tools: start, three steps (a failure, then a fix), done."""
    context = {"domain": domain, "language": "python", "tags": ["auth"]}
    started = data(
        await client.call_tool(
            "start_episode",
            {
                "task_description": "Fix the failing login test",
                "context": context,
                "task_type": "debugging",
            },
        )
    )
    episode_id = started["episode_id"]
    steps = [
        {
            "tool": "pytest",
            "action": "run the failing test",
            "parameters": {"path": "tests/test_login.py", "flags": ["-x"]},
            "result": {"kind": "error", "message": "AssertionError: expected 200, got 401"},
            "latency_ms": 812.5,
        },
        {
            "tool": "editor",
            "action": "fix the token expiry check",
            "result": {"kind": "success", "output": "patched auth.py"},
            "tokens_used": 420,
        },
        {
            "tool": "pytest",
            "action": "verify the fix",
            "result": {"kind": "success", "output": "1 passed"},
        },
    ]
    for number, step in enumerate(steps, 1):
        logged = data(await client.call_tool("log_step", {"episode_id": episode_id, **step}))
        assert logged["step_number"] == number
        assert logged["tool"] == step["tool"]
        assert logged["result"]["kind"] == step["result"]["kind"]  # type: ignore[index]
    completed = data(
        await client.call_tool(
            "complete_episode",
            {"episode_id": episode_id, "outcome": {"kind": "success", "verdict": "it passes"}},
        )
    )
    assert completed["episode_id"] == episode_id
    assert completed["outcome"] == {
        "kind": "success",
        "verdict": "it passes",
        "artifacts": [],
        "completed": [],
        "failed": [],
        "reason": None,
        "error_details": None,
        "stopped_at_step": None,
        "infeasibility_signals": [],
    }
    assert completed["reward"]["total"] > 1.0
    assert completed["reflection"]["insights"]
    assert completed["pattern_ids"], "complete_episode answers with the patterns learned"
    assert [s["tool"] for s in completed["steps"]] == ["pytest", "editor", "pytest"]
    return Lifecycle(episode_id, completed)
