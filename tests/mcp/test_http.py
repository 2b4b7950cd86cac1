"""``memory-core mcp --http``: the SDK's client over streamable HTTP, two clients at once,
the bearer token on every request, and oversized bodies."""

from __future__ import annotations

import asyncio
import json
import math
from typing import IO

import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from tests.support.mcp_server import (
    TOKEN,
    HttpServer,
    data,
    error_text,
    http_session,
    run_lifecycle,
    stdio_session,
)

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_lifecycle_and_search_over_http(http_server: HttpServer) -> None:
    async with http_session(http_server.url) as client:
        recorded = await run_lifecycle(client, domain="http-lifecycle")
        found = data(
            await client.call_tool(
                "search_episodes",
                {"task_description": "Fix the failing logout test", "domain": "http-lifecycle"},
            )
        )
        assert [r["episode"]["episode_id"] for r in found] == [recorded.episode_id]
        assert math.isclose(sum(found[0]["breakdown"].values()), found[0]["score"], abs_tol=1e-9)
        read = await client.read_resource(f"memory://episodes/{recorded.episode_id}")
        assert json.loads(read.contents[0].text) == recorded.completed  # type: ignore[union-attr]
        # an oversized step is a tool error with our message (parameter limit: 2000 bytes)
        started = data(await client.call_tool("start_episode", {"task_description": "Big step"}))
        message = error_text(
            await client.call_tool(
                "log_step",
                {
                    "episode_id": started["episode_id"],
                    "tool": "x",
                    "action": "y",
                    "parameters": {"blob": "z" * 5000},
                },
            )
        )
        assert "PayloadTooLargeError: step parameters are" in message
        assert data(await client.call_tool("stats", {}))["namespace"] == http_server.namespace
    # no --host was given: loopback
    assert f"streamable HTTP at {http_server.url} (bearer token required)" in (
        http_server.stderr.read_text()
    )
    assert http_server.url.startswith("http://127.0.0.1:")


async def test_a_foreign_host_header_is_refused(http_server: HttpServer) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(
            http_server.url,
            headers={**HEADERS, "Authorization": f"Bearer {TOKEN}", "Host": "attacker.example"},
            content=json.dumps(INITIALIZE),
        )
    assert response.status_code == 421, response.text
    assert response.text == "Invalid Host header"


async def test_two_clients_at_once(http_server: HttpServer) -> None:
    async with http_session(http_server.url) as first, http_session(http_server.url) as second:
        one, two = await asyncio.gather(
            run_lifecycle(first, domain="http-two-a"), run_lifecycle(second, domain="http-two-b")
        )
        assert one.episode_id != two.episode_id
        # each client sees what the other recorded: one memory, one namespace
        seen = data(await first.call_tool("get_episode", {"episode_id": two.episode_id}))
        assert seen == two.completed
        found = data(
            await second.call_tool(
                "search_episodes",
                {"task_description": "Fix the failing login test", "domain": "http-two-a"},
            )
        )
        assert [r["episode"]["episode_id"] for r in found] == [one.episode_id]
        # interleaved steps on the two sessions land on the right episodes
        a, b = await asyncio.gather(
            first.call_tool("start_episode", {"task_description": "Task A"}),
            second.call_tool("start_episode", {"task_description": "Task B"}),
        )
        ids = {"a": data(a)["episode_id"], "b": data(b)["episode_id"]}
        await asyncio.gather(
            *(
                client.call_tool(
                    "log_step", {"episode_id": ids[key], "tool": f"tool-{key}", "action": str(n)}
                )
                for n in range(5)
                for client, key in ((first, "a"), (second, "b"))
            )
        )
        for client, key in ((second, "a"), (first, "b")):
            episode = data(await client.call_tool("get_episode", {"episode_id": ids[key]}))
            assert {s["tool"] for s in episode["steps"]} == {f"tool-{key}"}
            assert [s["step_number"] for s in episode["steps"]] == [1, 2, 3, 4, 5]


async def test_two_stdio_servers_on_one_database(
    sqlite_url: str, namespace: str, env: dict[str, str], errlog: IO[str]
) -> None:
    async with (
        stdio_session(sqlite_url, namespace, env, errlog) as first,
        stdio_session(sqlite_url, namespace, env, errlog) as second,
    ):
        one, two = await asyncio.gather(run_lifecycle(first), run_lifecycle(second))
        assert data(await second.call_tool("get_episode", {"episode_id": one.episode_id})) == (
            one.completed
        )
        assert data(await first.call_tool("get_episode", {"episode_id": two.episode_id})) == (
            two.completed
        )


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
)
async def test_every_request_needs_the_token(
    http_server: HttpServer, authorization: str | None
) -> None:
    headers = dict(HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    async with httpx2.AsyncClient(timeout=30) as http:
        for method in ("POST", "GET", "DELETE"):
            response = await http.request(
                method,
                http_server.url,
                headers=headers,
                content=json.dumps(INITIALIZE) if method == "POST" else None,
            )
            assert response.status_code == 401, (method, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["error"] == "invalid_token"
        other = await http.get(http_server.url.replace("/mcp", "/anything"), headers=headers)
        assert other.status_code == 401


async def test_the_sdk_client_is_refused_without_the_token(http_server: HttpServer) -> None:
    with pytest.raises(ExceptionGroup) as refused:
        async with http_session(http_server.url, token="wrong") as client:
            await client.call_tool("stats", {})
    assert refused.group_contains(MCPError, match="Server returned an error response", depth=2)
    assert "refused an HTTP request without a valid bearer token" in (
        http_server.stderr.read_text()
    )
    async with http_session(http_server.url) as client:  # the right token still works
        assert data(await client.call_tool("stats", {}))["namespace"] == http_server.namespace


async def test_an_oversized_body_is_refused_with_our_message(http_server: HttpServer) -> None:
    body = json.dumps({**INITIALIZE, "padding": "x" * 200_000})
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(
            http_server.url,
            headers={**HEADERS, "Authorization": f"Bearer {TOKEN}"},
            content=body,
        )
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert message.startswith("PayloadTooLargeError: request body is")
    assert "over the limit of 73536" in message
    async with http_session(http_server.url) as client:  # and the server keeps serving
        assert data(await client.call_tool("stats", {}))["namespace"] == http_server.namespace
