"""Retention through the memory: prune() on both facades, background pruning, search index."""

from __future__ import annotations

import time
from uuid import UUID

import pytest

from memory_core import (
    ConfigurationError,
    LearningConfig,
    MemoryConfig,
    RetentionConfig,
    RetrievalConfig,
    SelfLearningMemory,
    SyncSelfLearningMemory,
)
from memory_core.storage.erasure import LifecycleStore


def _config(url: str, **retention: object) -> MemoryConfig:
    return MemoryConfig(
        database_url=url,
        load_plugins=False,
        learning=LearningConfig(mode="inline"),
        retention=RetentionConfig.model_validate(retention),
        retrieval=RetrievalConfig(refresh_interval_seconds=0),
    )


def _run(memory: SyncSelfLearningMemory, index: int, *, ok: bool = True) -> UUID:
    episode_id = memory.start_episode(
        f"fix parser bug {index} in module m{index % 5}", {"domain": "web"}
    )
    memory.log_step(episode_id, {"tool": "read", "action": "read the parser"})
    memory.log_step(episode_id, {"tool": "edit", "action": "fix the grammar"})
    outcome = {"kind": "success", "verdict": "fixed"} if ok else {"kind": "failure", "reason": "x"}
    memory.complete_episode(episode_id, outcome)
    return episode_id


def _store(memory: SyncSelfLearningMemory) -> LifecycleStore:
    store = memory.engine.store
    assert isinstance(store, LifecycleStore)
    return store


def test_prune_holds_the_cap_and_the_index_forgets_in_every_memory(
    database_url: str, namespace: str
) -> None:
    config = _config(database_url, max_episodes=8, auto_prune=False)
    with (
        SyncSelfLearningMemory(config, namespace=namespace) as writer,
        SyncSelfLearningMemory(config, namespace=namespace) as reader,
    ):
        ids = [_run(writer, i, ok=i % 3 != 0) for i in range(30)]
        patterns = {p.pattern_id: p.sample_size for p in writer.list_patterns(limit=None)}
        assert len(reader.search_episodes("fix parser bug", limit=50)) > 8  # index built

        preview = writer.prune(dry_run=True)
        assert preview.dry_run
        assert preview.episodes_deleted == 22
        assert writer.stats().episodes_completed == 30

        report = writer.prune()
        assert report.episodes_deleted == 22
        assert report.completed_after == 8
        assert report.links_deleted > 0
        kept = {e.episode_id for e in writer.list_episodes(limit=None)}
        assert len(kept) == 8
        for memory in (writer, reader):  # this process's index, and another memory's
            found = {
                r.episode.episode_id for r in memory.search_episodes("fix parser bug", limit=50)
            }
            assert found <= kept
            assert found
        # learned counts stay with the patterns
        assert {p.pattern_id: p.sample_size for p in writer.list_patterns(limit=None)} == patterns
        assert writer.prune().episodes_deleted == 0
    assert set(ids) >= kept


def test_background_pruning_brings_the_namespace_back_under_its_cap(
    database_url: str, namespace: str
) -> None:
    config = _config(database_url, max_episodes=10, prune_interval_seconds=0.2)
    config.learning = LearningConfig(mode="background")
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for index in range(40):
            _run(memory, index)
        assert memory.wait_for_learning(60)
        deadline = time.monotonic() + 60
        while memory.stats().episodes_completed > 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert memory.stats().episodes_completed == 10


def test_retrieved_episodes_outlive_the_others(database_url: str, namespace: str) -> None:
    config = _config(database_url, max_episodes=3, auto_prune=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for index in range(6):
            _run(memory, index)
        wanted = memory.start_episode("migrate the billing database to postgres")
        memory.complete_episode(wanted, {"kind": "success", "verdict": "migrated"})
        for _ in range(5):
            found = memory.search_episodes("migrate the billing database", limit=1)
            assert found[0].episode.episode_id == wanted
        memory.engine.retrieval.flush_retrievals()
        counts = {
            c.episode_id: c.retrievals for c in _store(memory).retention_candidates(namespace)
        }
        assert counts[str(wanted)] == 5
        memory.prune()
        assert wanted in {e.episode_id for e in memory.list_episodes(limit=None)}


def test_delete_episode_drops_orphaned_patterns_when_configured(
    database_url: str, namespace: str
) -> None:
    config = _config(database_url, drop_orphan_patterns=True)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        only = _run(memory, 1)
        assert memory.list_patterns(limit=None)
        memory.delete_episode(only)
        assert memory.list_patterns(limit=None) == []


async def test_the_async_facade_prunes(database_url: str, namespace: str) -> None:
    config = _config(database_url, max_age_days=1)
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        report = await memory.prune(dry_run=True)
    assert report.episodes_deleted == 0
    assert report.dry_run


def test_prune_without_limits_deletes_nothing(database_url: str, namespace: str) -> None:
    with SyncSelfLearningMemory(_config(database_url), namespace=namespace) as memory:
        _run(memory, 1)
        report = memory.prune()
    assert report.episodes_deleted == 0
    assert report.completed_before == 1


def test_retention_reads_from_the_environment_and_refuses_a_negative_cap() -> None:
    config = MemoryConfig.from_env({"MEMORY_CORE_RETENTION__MAX_EPISODES": "500"})
    assert config.retention.max_episodes == 500
    assert config.retention.enabled
    with pytest.raises(ConfigurationError, match="RETENTION__MAX_EPISODES"):
        MemoryConfig.from_env({"MEMORY_CORE_RETENTION__MAX_EPISODES": "-1"})
