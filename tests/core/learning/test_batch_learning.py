"""Learning in batches: same results as one episode at a time, exact counts, the candidate
index kept in step with other writers, and ``learning.mode``."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import pytest

from memory_core import (
    Episode,
    LearningConfig,
    MemoryConfig,
    Pattern,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)
from memory_core.errors import InvalidInputError
from memory_core.learning import LearningService, similarity_key
from memory_core.learning.heuristics import heuristic_key
from memory_core.storage import WriteBatch
from memory_core.storage.base import BatchLearningStore

BuildEpisode = Callable[..., Episode]
STEPS = [("reader", "read", True), ("editor", "check if fixed", True), ("pytest", "run", True)]
TOOLS = ["reader", "editor", "pytest", "git", "grep", "shell", "http"]
ERRORS = ["TimeoutError: slow", "KeyError: 'user'", "ValueError: bad id 7"]


class PlainStore:
    """The real store without the batch capability: learning goes episode by episode."""

    def __init__(self, inner: SQLAlchemyEpisodeStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "learning_transaction":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _service(store: Any, namespace: str, **learning: Any) -> LearningService:
    config = MemoryConfig(
        database_url="sqlite://", learning=LearningConfig(mode="external", **learning)
    )
    return LearningService(config, store, namespace)


def _corpus(build: BuildEpisode, count: int, seed: int = 3) -> list[Episode]:
    """Episodes of a few families and domains, with failures, recoveries and decisions."""
    rng = random.Random(seed)
    episodes = []
    for index in range(count):
        domain = rng.choice(["web-api", "data", "cli"])
        tools = rng.sample(TOOLS, 3)
        steps = [
            (tools[0], "read the module", True),
            (tools[1], f"check if the {rng.choice(['cache', 'token'])} is valid", True),
            (tools[2], "apply the fix", rng.random() > 0.3),
            ("pytest", "verify the fix", True),
        ]
        outcome = TaskOutcome.success("ok") if rng.random() > 0.2 else TaskOutcome.failure("no")
        episodes.append(
            build(
                steps,
                outcome,
                context=TaskContext(language="python", domain=domain, tags=[domain]),
                description=f"task {index}",
                errors=ERRORS,
                seconds=float(index),
            )
        )
    return episodes


def _snapshot(store: SQLAlchemyEpisodeStore, namespace: str) -> tuple[Any, Any, Any]:
    patterns = {
        (p.kind, similarity_key(p)): (p.occurrence_count, round(p.success_rate, 9))
        for p in store.list_patterns(namespace)
    }
    heuristics = {
        heuristic_key(h): (h.sample_size, h.success_count) for h in store.list_heuristics(namespace)
    }
    links = len(store.pattern_links(namespace))
    return patterns, heuristics, links


def _store_and_learn(
    store: Any, namespace: str, episodes: Sequence[Episode], **learning: Any
) -> LearningService:
    service = _service(store, namespace, **learning)
    scored = [service.assess(e) for e in episodes]
    store.write(namespace, WriteBatch(completed=scored))
    report = service.learn_pending()
    assert (report.episodes_learned, report.episodes_failed) == (len(episodes), 0)
    return service


def test_batches_learn_exactly_what_one_at_a_time_learns(
    database_url: str, build: BuildEpisode
) -> None:
    store = SQLAlchemyEpisodeStore(database_url)
    episodes = _corpus(build, 60)  # the same episodes, learned in three namespaces
    spaces = [f"b-{random.getrandbits(40):x}" for _ in range(3)]
    _store_and_learn(store, spaces[0], episodes, batch_size=16)
    _store_and_learn(store, spaces[1], episodes, batch_size=1)
    _store_and_learn(PlainStore(store), spaces[2], episodes)  # the classic per-episode path
    first, second, classic = (_snapshot(store, ns) for ns in spaces)
    assert first == second == classic
    assert first[0]
    assert first[1]
    store.close()


def test_a_hundred_runs_of_one_family_make_one_pattern_counted_a_hundred_times(
    database_url: str, namespace: str, build: BuildEpisode
) -> None:
    store = SQLAlchemyEpisodeStore(database_url)
    episodes = [build(STEPS, description=f"run {i}") for i in range(100)]
    service = _store_and_learn(store, namespace, episodes, batch_size=7)
    [sequence] = store.list_patterns(namespace, kind="tool_sequence")
    assert sequence.occurrence_count == 100
    assert store.unlearned_episode_ids(namespace) == []
    stored = store.get_episode(namespace, episodes[0].episode_id)
    assert stored is not None
    assert sequence.pattern_id in stored.pattern_ids
    report = service.relearn()  # learning again counts nothing twice
    assert report.patterns_updated == 0
    [again] = store.list_patterns(namespace, kind="tool_sequence")
    assert again.occurrence_count == 100
    store.close()


def test_the_index_follows_what_other_writers_did(
    database_url: str, namespace: str, build: BuildEpisode
) -> None:
    ours, theirs = SQLAlchemyEpisodeStore(database_url), SQLAlchemyEpisodeStore(database_url)
    mine, other = _service(ours, namespace), _service(theirs, namespace)
    learned = 0

    def learn(service: LearningService, store: SQLAlchemyEpisodeStore, count: int) -> None:
        nonlocal learned
        episodes = [
            service.assess(build(STEPS, description=f"e{learned + i}")) for i in range(count)
        ]
        store.write(namespace, WriteBatch(completed=episodes))
        assert service.learn_pending().episodes_learned == count
        learned += count

    learn(mine, ours, 3)  # our index now holds the tool sequence
    learn(other, theirs, 4)  # another process merges into it
    learn(mine, ours, 2)
    [sequence] = ours.list_patterns(namespace, kind="tool_sequence")
    assert sequence.occurrence_count == 9
    assert theirs.delete_patterns(namespace) > 0  # another process deletes every pattern
    learn(mine, ours, 2)  # not merged into what no longer exists: created again
    [sequence] = ours.list_patterns(namespace, kind="tool_sequence")
    assert sequence.occurrence_count == 2
    ours.close()
    theirs.close()


def test_every_learned_episode_is_announced_once(
    sqlite_url: str, namespace: str, build: BuildEpisode
) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    seen: list[tuple[UUID, int]] = []
    config = MemoryConfig(database_url=sqlite_url, learning=LearningConfig(mode="external"))
    service = LearningService(
        config, store, namespace, on_learned=lambda e, ps: seen.append((e.episode_id, len(ps)))
    )
    episodes = [service.assess(build(STEPS, description=f"e{i}")) for i in range(10)]
    store.write(namespace, WriteBatch(completed=episodes))
    assert service.learn_pending(batch_size=4).batches == 3
    assert sorted(i for i, _ in seen) == sorted(e.episode_id for e in episodes)
    assert all(count > 0 for _, count in seen)
    store.close()


def test_learn_pending_options(sqlite_url: str, namespace: str, build: BuildEpisode) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    service = _service(store, namespace)
    with pytest.raises(InvalidInputError, match="limit"):
        service.learn_pending(limit=0)
    with pytest.raises(InvalidInputError, match="batch_size"):
        service.learn_pending(batch_size=0)
    episodes = [service.assess(build(STEPS, description=f"e{i}")) for i in range(5)]
    store.write(namespace, WriteBatch(completed=episodes))
    assert service.learn_pending(limit=2).episodes_learned == 2
    stop = threading.Event()
    stop.set()
    assert service.learn_pending(stop=stop).episodes_learned == 0
    assert len(store.unlearned_episode_ids(namespace)) == 3
    assert service.learn_pending().episodes_learned == 3
    assert service.learn_pending().episodes_learned == 0
    store.close()


def test_the_sqlite_store_can_learn_in_batches(sqlite_url: str) -> None:
    store = SQLAlchemyEpisodeStore(sqlite_url)
    assert isinstance(store, BatchLearningStore)
    assert not isinstance(PlainStore(store), BatchLearningStore)
    store.close()


# ------------------------------------------------------------------ modes


def _learning_threads(namespace: str) -> list[threading.Thread]:
    return [
        t for t in threading.enumerate() if t.name.startswith(f"memory-core-learning[{namespace}]")
    ]


def test_external_mode_stores_and_never_learns(database_url: str, namespace: str) -> None:
    config = MemoryConfig(
        database_url=database_url, load_plugins=False, learning=LearningConfig(mode="external")
    )
    ids = []
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for index in range(3):
            eid = memory.start_episode(f"task {index}", TaskContext(domain="web-api"))
            memory.log_step(
                eid, {"tool": "editor", "action": "edit", "result": {"kind": "success"}}
            )
            done = memory.complete_episode(eid, TaskOutcome.success("ok"))
            assert done.pattern_ids == []
            ids.append(eid)
        assert memory.wait_for_learning(timeout=5)
        assert memory.stats().learning.processed == 0
        assert _learning_threads(namespace) == []
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:  # no resume either
        assert set(memory.engine.store.unlearned_episode_ids(namespace)) == set(ids)
        assert memory.list_patterns() == []
        report = memory.learn_pending()
        assert (report.namespace, report.episodes_learned, report.episodes_failed) == (
            namespace,
            3,
            0,
        )
        assert memory.engine.store.unlearned_episode_ids(namespace) == []
        assert all(memory.get_episode(i).pattern_ids for i in ids)
        [pattern] = memory.list_patterns(kind="context_pattern")
        assert pattern.occurrence_count == 3


def test_inline_mode_and_the_background_alias(sqlite_url: str, namespace: str) -> None:
    assert LearningConfig().effective_mode == "background"
    assert LearningConfig(background=False).effective_mode == "inline"
    assert LearningConfig(mode="external", background=False).effective_mode == "external"
    config = MemoryConfig(
        database_url=sqlite_url, load_plugins=False, learning=LearningConfig(mode="inline")
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        eid = memory.start_episode("inline")
        memory.log_step(eid, {"tool": "t", "action": "a", "result": {"kind": "success"}})
        assert memory.complete_episode(eid, TaskOutcome.success("ok")).pattern_ids
        assert memory.stats().learning.inline == 1
        assert _learning_threads(namespace) == []


def test_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_CORE_LEARNING__MODE", "external")
    assert MemoryConfig.from_env().learning.effective_mode == "external"


async def test_the_async_facade_learns_pending(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(
        database_url=sqlite_url, load_plugins=False, learning=LearningConfig(mode="external")
    )
    async with SelfLearningMemory(config, namespace=namespace) as memory:
        eid = await memory.start_episode("async")
        await memory.complete_episode(eid, TaskOutcome.success("ok"))
        report = await memory.learn_pending(batch_size=1)
        assert (report.episodes_learned, report.batches) == (1, 1)
        assert (await memory.get_episode(eid)).pattern_ids


def test_patterns_learned_hook_per_episode(sqlite_url: str, namespace: str) -> None:
    from memory_core import hookimpl

    seen: list[UUID] = []

    class Listener:
        @hookimpl
        def patterns_learned(
            self, episode: Episode, patterns: Sequence[Pattern], namespace: str
        ) -> None:
            seen.append(episode.episode_id)

    config = MemoryConfig(
        database_url=sqlite_url, load_plugins=False, learning=LearningConfig(mode="external")
    )
    with SyncSelfLearningMemory(config, namespace=namespace, plugins=[Listener()]) as memory:
        ids = [memory.start_episode(f"t{i}") for i in range(4)]
        for eid in ids:
            memory.complete_episode(eid, TaskOutcome.success("ok"))
        assert seen == []
        memory.learn_pending()
        assert sorted(seen) == sorted(ids)


def test_an_episode_submitted_again_is_not_counted_again(
    database_url: str, namespace: str, build: BuildEpisode
) -> None:
    store = SQLAlchemyEpisodeStore(database_url)
    config = MemoryConfig(database_url=database_url, learning=LearningConfig(batch_size=8))
    service = LearningService(config, store, namespace)
    episodes = [service.assess(build(STEPS, description=f"e{i}")) for i in range(5)]
    store.write(namespace, WriteBatch(completed=episodes))
    for episode in episodes:
        service.submit(episode)
    assert service.wait(60)
    before = _snapshot(store, namespace)
    stored = store.get_episode(namespace, episodes[0].episode_id)
    assert stored is not None
    assert stored.pattern_ids
    for episode in episodes:  # queued twice (e.g. by two processes resuming one backlog)
        service.submit(episode.model_copy())
    assert service.wait(60)
    assert _snapshot(store, namespace) == before
    again = store.get_episode(namespace, episodes[0].episode_id)
    assert again is not None
    assert (again.pattern_ids, again.heuristic_ids) == (stored.pattern_ids, stored.heuristic_ids)
    assert service.stats().failed == 0
    service.close()
    store.close()
