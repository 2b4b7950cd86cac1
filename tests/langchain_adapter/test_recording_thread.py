"""Recorded LangChain runs are written on the recording thread, and seen as if inline.

The handler and the middleware only keep a run's state on the host's thread; logging the
steps and completing the episode happen on the recording thread. What the code after
``invoke`` sees must not change: the episode is complete, searchable and in the handler's
stats, and closing the memory makes every recorded run durable and learned.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain.agents import create_agent

from memory_core import (
    MemoryConfig,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    hookimpl,
)
from memory_core.storage import EpisodeQuery
from memory_core_langchain import MemoryCallbackHandler, MemoryMiddleware


class CompletedOn:
    """Notes the thread each episode was completed on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    @hookimpl
    def episode_completed(self, episode: Any, namespace: str) -> None:
        self.threads.append(threading.current_thread().name)


def _ask(a: int, b: int) -> dict[str, Any]:
    return {"messages": [("user", f"add {a} and {b}")]}


def test_the_episode_is_complete_and_searchable_right_after_invoke(sqlite_url, kit):
    completed = CompletedOn()
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, plugins=[completed]) as memory:
        agent = create_agent(kit.ArithmeticChatModel(messages=iter([])), [kit.add])
        handler = MemoryCallbackHandler(memory, context={"domain": "math"})

        out = agent.invoke(_ask(2, 3), config={"callbacks": [handler]})

        assert out["messages"][-1].content == "the sum is 5"
        # read through the memory first: it waits for the recording thread itself
        [found] = memory.search_episodes("add 2 and 3", TaskContext(domain="math"))
        episode = memory.get_episode(found.episode.episode_id)
        assert episode.is_complete
        assert episode.task_description == "add 2 and 3"
        assert [(s.tool, s.parameters, s.result.output) for s in episode.steps] == [
            ("add", {"a": 2, "b": 3}, "5")
        ]
        assert episode.token_usage is not None
        assert (episode.token_usage.total_tokens, episode.token_usage.llm_calls) == (24, 2)
        assert handler.completed_episodes == [episode.episode_id]
        assert handler.errors == 0
    assert completed.threads == ["memory-core-recording"]


def test_strict_handler_records_on_the_host_thread(sqlite_url, kit):
    completed = CompletedOn()
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, plugins=[completed]) as memory:
        agent = create_agent(kit.ArithmeticChatModel(messages=iter([])), [kit.add])
        handler = MemoryCallbackHandler(memory, strict=True)
        agent.invoke(_ask(2, 3), config={"callbacks": [handler]})
        assert handler.last_episode is not None
    assert completed.threads == [threading.current_thread().name]


def test_closing_the_memory_makes_every_recorded_run_durable(sqlite_url, kit):
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, flush_interval_ms=60_000)
    model = kit.ArithmeticChatModel(messages=iter([]))
    with SyncSelfLearningMemory(config) as memory:
        handler = MemoryCallbackHandler(memory)
        middleware = MemoryMiddleware(memory, inject=False)
        with_handler = create_agent(model, [kit.add])
        with_middleware = create_agent(model, [kit.add], middleware=[middleware])
        for i in range(10):
            with_handler.invoke(_ask(i, 1), config={"callbacks": [handler]})
            with_middleware.invoke(_ask(i, 2))
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        episodes = store.list_episodes("default", EpisodeQuery(limit=None))
        assert len(episodes) == 20
        assert all(e.is_complete and len(e.steps) == 1 for e in episodes)
        assert sorted(e.steps[0].result.output for e in episodes) == sorted(
            [str(i + 1) for i in range(10)] + [str(i + 2) for i in range(10)]
        )
        assert store.unlearned_episode_ids("default") == []
    finally:
        store.close()


def test_the_middleware_finds_the_previous_run_at_once(sqlite_url, kit):
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    seen: list[str] = []

    class Spy(kit.ArithmeticChatModel):  # type: ignore[misc,name-defined]
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            seen.append(str(messages[0].content) if messages[0].type == "system" else "")
            return super()._generate(messages, stop, run_manager, **kwargs)

    with SyncSelfLearningMemory(config) as memory:
        middleware = MemoryMiddleware(memory)
        agent = create_agent(Spy(messages=iter([])), [kit.add], middleware=[middleware])
        agent.invoke(_ask(2, 3))
        seen.clear()
        agent.invoke(_ask(2, 4))
        assert middleware.errors == 0
    assert "add 2 and 3" in seen[0]
