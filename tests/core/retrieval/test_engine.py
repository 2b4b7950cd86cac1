"""Retrieval through the memory facades on real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap
import time
from uuid import UUID

import pytest
from tests.support.corpus import FAMILIES, Family, describe

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    RetrievalConfig,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    ToolSequence,
)
from memory_core.retrieval import engine as engine_module
from memory_core.testing import HashingEmbedder

JWT, CSV, FLAKY = FAMILIES[0], FAMILIES[1], FAMILIES[2]


def record(
    memory: SyncSelfLearningMemory, family: Family, description: str, ok: bool = True
) -> UUID:
    episode_id = memory.start_episode(description, family.context(), family.task_type)
    for tool, action in zip(family.tools, family.actions, strict=False):
        memory.log_step(
            episode_id,
            ExecutionStep(tool=tool, action=action, result=ExecutionResult.success("ok")),
        )
    outcome = TaskOutcome.success("done") if ok else TaskOutcome.failure(family.failure)
    memory.complete_episode(episode_id, outcome)
    return episode_id


def fill(memory: SyncSelfLearningMemory, per_family: int = 2, seed: int = 0) -> dict[UUID, str]:
    rng = random.Random(seed)
    families = {}
    for family in FAMILIES[:8]:
        for i in range(per_family):
            families[record(memory, family, describe(family, i, rng))] = family.key
    return families


def test_search_and_retrieve_share_one_ranking(memory: SyncSelfLearningMemory) -> None:
    families = fill(memory)
    query = "automatic JWT renewal using refresh tokens"
    found = memory.search_episodes(query, JWT.context())
    assert found
    assert families[found[0].episode.episode_id] == JWT.key
    for result in found:
        assert math.isclose(sum(result.breakdown.values()), result.score, abs_tol=1e-9)
        assert not result.below_floor
        assert result.relevance >= memory.config.retrieval.min_relevance
    episodes = memory.retrieve_relevant_context(query, JWT.context())
    assert [e.episode_id for e in episodes] == [r.episode.episode_id for r in found]
    assert episodes[0].steps  # full episodes with their steps


def test_unrelated_task_gets_nothing_unless_asked(memory: SyncSelfLearningMemory) -> None:
    fill(memory)
    query = "Compose a marketing newsletter about the spring sale"
    assert memory.search_episodes(query) == []
    assert memory.retrieve_relevant_context(query) == []
    flagged = memory.search_episodes(query, include_below_floor=True)
    assert flagged
    assert all(r.below_floor for r in flagged)


def test_context_only_and_filters(memory: SyncSelfLearningMemory) -> None:
    families = fill(memory)
    found = memory.search_episodes("", CSV.context(), limit=3)
    assert families[found[0].episode.episode_id] == CSV.key
    assert all(
        r.episode.context.domain == "devops"
        for r in memory.search_episodes("", limit=20, domain="devops")
    )
    assert memory.search_episodes("flaky test", task_type="refactoring") == []
    assert memory.search_episodes("flaky test", outcome_kind="failure") == []


def test_deleted_episode_disappears(memory: SyncSelfLearningMemory) -> None:
    families = fill(memory, per_family=1)
    query = "automatic JWT renewal using refresh tokens"
    top = memory.search_episodes(query)[0].episode.episode_id
    assert families[top] == JWT.key
    memory.delete_episode(top)
    assert all(r.episode.episode_id != top for r in memory.search_episodes(query, limit=20))


async def test_async_facade_uses_the_same_engine(config: MemoryConfig, namespace: str) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as sync_memory:
        fill(sync_memory, per_family=1)
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        query = "flaky integration test with a race"
        found = await memory.search_episodes(query, FLAKY.context())
        assert found
        assert FLAKY.phrasings[0] in found[0].episode.task_description
        episodes = await memory.retrieve_relevant_context(query, FLAKY.context())
        assert [e.episode_id for e in episodes] == [r.episode.episode_id for r in found]


def test_index_is_built_from_the_store_with_keyset_paging(
    config: MemoryConfig, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as writer:
        families = fill(writer, per_family=2)
    monkeypatch.setattr(engine_module, "_PAGE", 3)
    with SyncSelfLearningMemory(config, namespace=namespace) as reader:
        found = reader.search_episodes("", limit=100, include_below_floor=True)
        assert {r.episode.episode_id for r in found} == set(families)


_WRITER = textwrap.dedent(
    """
    import sys
    from memory_core import MemoryConfig, SyncSelfLearningMemory, TaskOutcome, ExecutionStep
    url, namespace = sys.argv[1], sys.argv[2]
    config = MemoryConfig(database_url=url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as m:
        eid = m.start_episode("Rotate the signing keys of the payment webhook gateway")
        m.log_step(eid, ExecutionStep(tool="vault", action="rotate webhook signing key"))
        m.complete_episode(eid, TaskOutcome.success("rotated"))
        print(eid)
    """
)
_QUERY = "rotate webhook signing keys"


def _complete_in_other_process(url: str, namespace: str) -> UUID:
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, url, namespace],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return UUID(done.stdout.strip().splitlines()[-1])


def test_other_process_completion_is_seen_at_the_next_search_with_zero_interval(
    database_url: str, namespace: str
) -> None:
    config = MemoryConfig(
        database_url=database_url,
        load_plugins=False,
        retrieval=RetrievalConfig(refresh_interval_seconds=0),
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        fill(memory, per_family=1)
        assert memory.search_episodes(_QUERY) == []  # index built, nothing relevant yet
        episode_id = _complete_in_other_process(database_url, namespace)
        found = memory.search_episodes(_QUERY)
        assert found
        assert found[0].episode.episode_id == episode_id


def test_other_process_completion_is_seen_within_the_refresh_interval(
    database_url: str, namespace: str
) -> None:
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    assert config.retrieval.refresh_interval_seconds <= 1.0
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        fill(memory, per_family=1)
        assert memory.search_episodes(_QUERY) == []
        episode_id = _complete_in_other_process(database_url, namespace)
        deadline = time.monotonic() + 60  # generous: only guards against hanging forever
        found: list[UUID] = []
        while not found and time.monotonic() < deadline:
            found = [r.episode.episode_id for r in memory.search_episodes(_QUERY)]
        assert found[:1] == [episode_id]


class CountingEmbedder(HashingEmbedder):
    pass


def test_embeddings_are_stored_with_episodes_and_reused(database_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    first = HashingEmbedder()
    with SyncSelfLearningMemory(config, namespace=namespace, embedder=first) as memory:
        ids = fill(memory, per_family=1)
        assert first.calls == len(ids)
        found = memory.search_episodes("automatic JWT renewal using refresh tokens")
        assert "semantic" in found[0].breakdown
        assert found[0].breakdown["semantic"] > 0
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        vectors = store.get_episode_embeddings(namespace, first.name, list(ids))
        assert set(vectors) == set(ids)
        assert all(len(v) == first.dimensions for v in vectors.values())
    finally:
        store.close()
    second = HashingEmbedder()
    with SyncSelfLearningMemory(config, namespace=namespace, embedder=second) as memory:
        found = memory.search_episodes("automatic JWT renewal using refresh tokens")
        assert found
        assert second.calls == 1  # only the query: stored vectors were reused
        victim = next(iter(ids))
        memory.delete_episode(victim)
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        assert victim not in store.get_episode_embeddings(namespace, first.name, [victim])
    finally:
        store.close()


def test_patterns_ranked_deduplicated_and_retrievals_recorded(
    database_url: str, namespace: str
) -> None:
    context = TaskContext(language="python", domain="web-api")
    good = ToolSequence(
        tools=["pytest", "editor"], success_rate=0.95, occurrence_count=8, context=context
    )
    poor = ToolSequence(
        tools=["print", "guess"], success_rate=0.2, occurrence_count=2, context=context
    )
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        store.merge_patterns(namespace, None, [good, poor], lambda new, stored: None)
    finally:
        store.close()
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        found = memory.search_patterns(context, limit=5)
        assert [r.pattern.pattern_id for r in found] == [good.pattern_id, poor.pattern_id]
        for result in found:
            assert math.isclose(sum(result.breakdown.values()), result.score, abs_tol=1e-12)
        patterns = memory.retrieve_relevant_patterns(context, limit=1)
        assert [p.pattern_id for p in patterns] == [good.pattern_id]
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        stored = store.get_pattern(namespace, good.pattern_id)
        assert stored is not None
        assert stored.effectiveness.times_retrieved == 2
    finally:
        store.close()
