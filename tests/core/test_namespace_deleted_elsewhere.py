"""A namespace deleted by another process: open memories drop what they hold of it."""

from __future__ import annotations

from uuid import UUID

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    RetrievalConfig,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)
from memory_core.storage import Change
from memory_core.storage.base import NAMESPACE_DELETED

_CONTEXT = TaskContext(domain="billing", language="python")
_TOOLS = ("grep", "pytest", "git")


def _run(memory: SyncSelfLearningMemory, description: str) -> UUID:
    episode = memory.start_episode(description, _CONTEXT)
    for tool in _TOOLS:
        step = ExecutionStep(tool=tool, action=f"run {tool}", result=ExecutionResult.success("ok"))
        memory.log_step(episode, step)
    memory.complete_episode(episode, TaskOutcome.success("done"))
    return episode


def _memory(database_url: str, namespace: str) -> SyncSelfLearningMemory:
    config = MemoryConfig(
        database_url=database_url,
        load_plugins=False,
        retrieval=RetrievalConfig(refresh_interval_seconds=0),
    )
    return SyncSelfLearningMemory(config, namespace=namespace)


def test_the_deletion_leaves_one_feed_entry_and_no_listed_namespace(
    database_url: str, namespace: str
) -> None:
    with _memory(database_url, namespace) as memory:
        _run(memory, "reconcile the invoices")
        memory.wait_for_learning()
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        store.delete_namespace(namespace)
        [entry] = store.changes_since(namespace, 0)
        assert entry == Change(entry.seq, "namespace", NAMESPACE_DELETED, "delete")
        assert namespace not in {u.namespace for u in store.namespace_usage()}
        store.delete_namespace(namespace)  # again: no error, still that one entry
        [again] = store.changes_since(namespace, 0)
        assert (again.entity, again.entity_id) == ("namespace", NAMESPACE_DELETED)
        assert again.seq >= entry.seq
    finally:
        store.close()


def test_an_open_memory_stops_serving_a_namespace_deleted_elsewhere(
    database_url: str, namespace: str
) -> None:
    other_process = SQLAlchemyEpisodeStore(database_url)
    try:
        with _memory(database_url, namespace) as memory:
            old = [_run(memory, f"reconcile the invoices of shop {i}") for i in range(3)]
            memory.wait_for_learning()
            found = memory.search_episodes("reconcile the invoices of shop 1", _CONTEXT)
            assert {r.episode.episode_id for r in found} == set(old)
            assert memory.search_patterns(_CONTEXT)

            other_process.delete_namespace(namespace)

            assert memory.search_episodes("reconcile the invoices of shop 1", _CONTEXT) == []
            assert memory.search_patterns(_CONTEXT) == []
            # the namespace is used again: only what is written now is found, and learning
            # starts from nothing (no merge into the deleted patterns)
            new = _run(memory, "reconcile the invoices of shop 7")
            memory.wait_for_learning()
            found = memory.search_episodes("reconcile the invoices of shop 1", _CONTEXT)
            assert [r.episode.episode_id for r in found] == [new]
        [sequence] = other_process.list_patterns(namespace, kind="tool_sequence")
        assert sequence.occurrence_count == 1
        assert sequence.evidence == [new]
    finally:
        other_process.close()
