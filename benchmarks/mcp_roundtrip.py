"""Tool-call round trip through ``memory-core mcp``, over stdio and streamable HTTP.

The MCP SDK's own client calls ``log_step`` and ``search_episodes`` on a real server
process (SQLite file in a temporary directory, seeded with completed episodes so searches
rank something), one call at a time: each timing is a full JSON-RPC round trip. The same
calls on the Python facade in this process are the baseline, and the same tools called on
the server object in this process (no transport, no client) show the server's own share.
The SDK's client checks every structured result against the tool's output schema
(jsonschema), which is most of a search's round trip. Needs ``memory-core[mcp]``.

    python benchmarks/mcp_roundtrip.py [--quick]
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from _bench import Row, parse_args, print_table, summarize
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskOutcome,
)
from memory_core.mcp import build_server

CONTEXT = {"domain": "web-api", "language": "python", "tags": ["auth"]}
STEPS_PER_EPISODE = 500  # below the per-episode step limit
QUERY = "Fix the failing billing test"
STEP = {
    "tool": "pytest",
    "action": "run the failing test",
    "parameters": {"path": "tests/test_login.py", "flags": ["-x", "-q"]},
    "result": {"kind": "error", "message": "AssertionError: expected 200, got 401"},
    "latency_ms": 812.5,
}


def seed(url: str, episodes: int) -> None:
    """Store completed episodes of a few task families, as a memory in use would hold."""
    services = ("login", "billing", "search", "upload", "profile")
    config = MemoryConfig(database_url=url, load_plugins=False)
    with SyncSelfLearningMemory(config) as memory:
        for i in range(episodes):
            service = services[i % len(services)]
            episode_id = memory.start_episode(f"Fix the failing {service} test number {i}", CONTEXT)
            memory.log_step(
                episode_id,
                ExecutionStep(
                    tool="pytest",
                    action="run the failing test",
                    result=ExecutionResult.error("AssertionError: expected 200, got 401"),
                ),
            )
            memory.log_step(
                episode_id,
                ExecutionStep(
                    tool="editor", action="fix it", result=ExecutionResult.success("patched")
                ),
            )
            memory.complete_episode(episode_id, TaskOutcome.success("the test passes"))
        memory.wait_for_learning()


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_args(url: str, *args: str) -> list[str]:
    """``python -m memory_core ... mcp ARGS`` with a quiet log."""
    return ["-m", "memory_core", "--database-url", url, "mcp", "--log-level", "WARNING", *args]


@asynccontextmanager
async def stdio_client(url: str) -> AsyncIterator[Client]:
    """A client on a server process it spawned."""
    params = StdioServerParameters(
        command=sys.executable, args=server_args(url), env=dict(os.environ)
    )
    async with Client(params) as client:
        yield client


def spawn(args: list[str]) -> subprocess.Popen[bytes]:
    """Start ``python ARGS`` (its log goes to our standard error)."""
    return subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )


@asynccontextmanager
async def http_client(url: str) -> AsyncIterator[Client]:
    """A client on a ``--http`` server process started here on a free loopback port."""
    port = free_port()
    process = spawn(server_args(url, "--http", "--port", str(port)))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the HTTP server did not start") from None
                await asyncio.sleep(0.05)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=30)


async def timed(
    operation: str, size: str, call: Callable[[], Awaitable[Any]], repeat: int, note: str = ""
) -> Row:
    """Await ``call`` ``repeat`` times, one at a time, after a few warm-up calls."""
    for _ in range(3):
        await call()
    timings: list[float] = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        await call()
        timings.append(time.perf_counter() - t0)
    return summarize(operation, size, timings, time.perf_counter() - start, note)


def tool_caller(client: Client, name: str, arguments: dict[str, Any]) -> Callable[[], Any]:
    """A call of one tool that fails loudly if the tool reports an error."""

    async def call() -> None:
        result = await client.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(result.content)

    return call


class StepLogger:
    """Logs steps through ``log`` and starts a new episode before the step limit."""

    def __init__(self, start: Callable[[], Awaitable[Any]], log: Callable[[Any], Awaitable[Any]]):
        self.start, self.log = start, log
        self.episode_id: Any = None
        self.count = 0

    async def __call__(self) -> None:
        if self.count % STEPS_PER_EPISODE == 0:
            self.episode_id = await self.start()
        self.count += 1
        await self.log(self.episode_id)


async def over_mcp(client: Client, transport: str, size: str, repeat: int) -> list[Row]:
    """Round trips of log_step and search_episodes on one connected client."""

    async def start() -> str:
        result = await client.call_tool("start_episode", {"task_description": "Benchmark"})
        return str(result.structured_content["episode_id"])  # type: ignore[index]

    async def log(episode_id: str) -> None:
        result = await client.call_tool("log_step", {"episode_id": episode_id, **STEP})
        if result.is_error:
            raise RuntimeError(result.content)

    search = tool_caller(client, "search_episodes", {"task_description": QUERY, "context": CONTEXT})
    return [
        await timed("log_step", size, StepLogger(start, log), repeat, f"MCP, {transport}"),
        await timed("search_episodes (5 results)", size, search, repeat, f"MCP, {transport}"),
    ]


async def in_process(url: str, size: str, repeat: int) -> list[Row]:
    """The same calls on the async facade, without MCP (the baseline)."""
    config = MemoryConfig(database_url=url, load_plugins=False)
    async with SelfLearningMemory(config) as memory:

        async def start() -> UUID:
            return await memory.start_episode("Benchmark")

        async def log(episode_id: UUID) -> None:
            await memory.log_step(episode_id, dict(STEP))  # type: ignore[arg-type]

        async def search() -> None:
            await memory.search_episodes(QUERY, CONTEXT)

        note = "Python API, no MCP"
        return [
            await timed("log_step", size, StepLogger(start, log), repeat, note),
            await timed("search_episodes (5 results)", size, search, repeat, note),
        ]


async def server_side(url: str, size: str, repeat: int) -> list[Row]:
    """The tools called on the server object in this process: our share of a round trip."""
    config = MemoryConfig(database_url=url, load_plugins=False)
    async with SelfLearningMemory(config) as memory:
        server = build_server(memory)

        async def call(name: str, arguments: dict[str, Any]) -> Any:
            result = await server.call_tool(name, arguments)
            if not isinstance(result, CallToolResult) or result.is_error:
                raise RuntimeError(result)
            return result.structured_content

        async def start() -> str:
            return str(
                (await call("start_episode", {"task_description": "Benchmark"}))["episode_id"]
            )

        async def log(episode_id: str) -> None:
            await call("log_step", {"episode_id": episode_id, **STEP})

        async def search() -> None:
            await call("search_episodes", {"task_description": QUERY, "context": CONTEXT})

        note = "MCP server in process, no transport"
        return [
            await timed("log_step", size, StepLogger(start, log), repeat, note),
            await timed("search_episodes (5 results)", size, search, repeat, note),
        ]


async def run(quick: bool) -> list[Row]:
    episodes, repeat = (20, 20) if quick else (500, 300)
    size = f"{episodes} episodes"
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'memory.db'}"
        seed(url, episodes)
        rows = await in_process(url, size, repeat)
        rows += await server_side(url, size, repeat)
        async with stdio_client(url) as client:
            rows += await over_mcp(client, "stdio", size, repeat)
        async with http_client(url) as client:
            rows += await over_mcp(client, "streamable HTTP", size, repeat)
    return rows


def main() -> None:
    args = parse_args(__doc__ or "")
    # before the SDK configures logging at INFO: one line per HTTP request otherwise
    logging.basicConfig(level=logging.WARNING)
    rows = asyncio.run(run(args.quick))
    print_table("MCP tool-call round trip (one call at a time, SQLite file)", rows)


if __name__ == "__main__":
    main()
