"""The hot cache: counters, invalidation, LRU/TTL, and freshness against other processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from uuid import UUID, uuid4

import pytest

from memory_core import (
    EpisodeNotFoundError,
    ExecutionStep,
    MemoryConfig,
    Pattern,
    PatternNotFoundError,
    SyncSelfLearningMemory,
    TaskOutcome,
    ToolSequence,
)
from memory_core.storage import HotCache


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_counts_hits_and_misses() -> None:
    cache: HotCache[str] = HotCache(10, 60)
    assert cache.get("a") is None
    cache.put("a", "A")
    assert cache.get("a") == "A"
    assert cache.get("a") == "A"
    assert (cache.hits, cache.misses) == (2, 1)
    cache.invalidate("a")
    cache.invalidate("never there")
    assert cache.get("a") is None
    assert (cache.hits, cache.misses) == (2, 2)
    cache.put("b", "B")
    cache.clear()
    assert len(cache) == 0


def test_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    cache: HotCache[str] = HotCache(10, ttl=5, timer=clock)
    cache.put("a", "A")
    clock.advance(4.9)
    assert cache.get("a") == "A"
    clock.advance(0.2)
    assert cache.get("a") is None


def test_least_recently_used_entries_are_evicted() -> None:
    cache: HotCache[int] = HotCache(2, 60)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # b is now the least recently used
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_size_zero_disables_caching() -> None:
    cache: HotCache[int] = HotCache(0, 60)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert len(cache) == 0
    assert cache.misses == 1


def test_is_thread_safe() -> None:
    cache: HotCache[int] = HotCache(50, 60)
    errors: list[BaseException] = []

    def hammer(offset: int) -> None:
        try:
            for i in range(2_000):
                key = (i + offset) % 80
                cache.put(key, i)
                cache.get(key)
                if i % 7 == 0:
                    cache.invalidate(key)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.hits + cache.misses == 4 * 2_000
    assert len(cache) <= 50


def _use_clock(memory: SyncSelfLearningMemory, clock: FakeClock, ttl: float) -> None:
    """Give the memory's caches a fake clock (same sizes, TTL ``ttl``)."""
    config = memory.config
    engine = memory.engine
    engine._episode_cache = HotCache(config.cache_max_episodes, ttl, timer=clock)
    engine._pattern_cache = HotCache(config.cache_max_patterns, ttl, timer=clock)


def _completed(memory: SyncSelfLearningMemory, description: str = "cached") -> UUID:
    eid = memory.start_episode(description)
    memory.log_step(eid, ExecutionStep(tool="t", action="a"))
    memory.complete_episode(eid, TaskOutcome.success("ok"))
    assert memory.wait_for_learning(timeout=30)
    return eid


def _insert_new(p: Pattern, group: Sequence[Pattern]) -> Pattern | None:
    return None


def test_stats_report_cache_counters(config: MemoryConfig, namespace: str) -> None:
    with SyncSelfLearningMemory(config, namespace=namespace) as writer:
        eid = _completed(writer)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        base = memory.stats()
        assert (base.episode_cache_hits, base.episode_cache_misses) == (0, 0)
        first = memory.get_episode(eid)  # miss, read from the store
        assert memory.get_episode(eid) == first  # hit
        assert memory.get_episode(eid) == first  # hit
        stats = memory.stats()
        assert (stats.episode_cache_hits, stats.episode_cache_misses) == (2, 1)

        [pattern] = memory.engine.store.merge_patterns(
            namespace, eid, [ToolSequence(tools=["t"], success_rate=1.0)], _insert_new
        )
        assert memory.get_pattern(pattern.pattern_id) == pattern
        assert memory.get_pattern(pattern.pattern_id) == pattern
        stats = memory.stats()
        assert (stats.pattern_cache_hits, stats.pattern_cache_misses) == (1, 1)


def test_completion_fills_the_cache_and_delete_invalidates_it(
    memory: SyncSelfLearningMemory,
) -> None:
    eid = _completed(memory)  # learning has linked its patterns and invalidated the entry
    base = memory.stats()
    learned = memory.get_episode(eid)  # miss: read from the store
    assert learned.pattern_ids
    assert memory.get_episode(eid) == learned  # hit
    stats = memory.stats()
    assert stats.episode_cache_misses == base.episode_cache_misses + 1
    assert stats.episode_cache_hits == base.episode_cache_hits + 1
    memory.delete_episode(eid)
    with pytest.raises(EpisodeNotFoundError):
        memory.get_episode(eid)


def test_recording_an_application_invalidates_the_pattern(memory: SyncSelfLearningMemory) -> None:
    eid = _completed(memory)
    [pattern] = memory.engine.store.merge_patterns(
        memory.namespace, eid, [ToolSequence(tools=["x"], success_rate=1.0)], _insert_new
    )
    assert memory.get_pattern(pattern.pattern_id).effectiveness.times_applied == 0
    updated = memory.record_pattern_application(pattern.pattern_id, None, helped=True)
    assert updated.effectiveness.times_applied == 1
    assert memory.get_pattern(pattern.pattern_id) == updated


def test_learning_invalidates_cached_patterns(memory: SyncSelfLearningMemory) -> None:
    """A pattern merged by learning in this process is not served stale from the cache."""
    first = _completed(memory, "learn a sequence")
    learned = memory.get_episode(first).pattern_ids
    assert learned, "the learning step stores patterns for a successful episode"
    before = {pid: memory.get_pattern(pid) for pid in learned}  # now cached
    _completed(memory, "learn a sequence")  # same shape: merges into the stored patterns
    changed = 0
    for pid, cached in before.items():
        stored = memory.engine.store.get_pattern(memory.namespace, pid)
        assert stored is not None
        assert memory.get_pattern(pid) == stored
        changed += stored != cached
    assert changed, "learning the same shape again updates the stored patterns"


# A second process changes what the first one has cached.
OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from uuid import UUID
    from memory_core import MemoryConfig, SyncSelfLearningMemory

    url, namespace, episode_id, pattern_id = sys.argv[1:5]
    config = MemoryConfig(database_url=url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        memory.delete_episode(UUID(episode_id))
        memory.record_pattern_application(UUID(pattern_id), None, helped=False)
        memory.engine.store.delete_pattern(namespace, UUID(sys.argv[5]))
    """
)


def test_changes_by_another_process_are_served_at_most_for_the_ttl(
    config: MemoryConfig, namespace: str
) -> None:
    clock = FakeClock()
    ttl = config.cache_ttl_seconds
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        _use_clock(memory, clock, ttl)
        eid = _completed(memory)
        changed, deleted = memory.engine.store.merge_patterns(
            namespace,
            eid,
            [
                ToolSequence(tools=["changed"], success_rate=1.0),
                ToolSequence(tools=["deleted"], success_rate=1.0),
            ],
            _insert_new,
        )
        cached_episode = memory.get_episode(eid)
        assert memory.get_pattern(changed.pattern_id) == changed
        assert memory.get_pattern(deleted.pattern_id) == deleted

        result = subprocess.run(
            [
                sys.executable,
                "-c",
                OTHER_PROCESS,
                config.resolved_database_url,
                namespace,
                str(eid),
                str(changed.pattern_id),
                str(deleted.pattern_id),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr

        # Within the TTL this process may still serve what it cached...
        clock.advance(ttl * 0.5)
        assert memory.get_episode(eid) == cached_episode
        # ...but never longer.
        clock.advance(ttl * 0.5 + 0.001)
        with pytest.raises(EpisodeNotFoundError):
            memory.get_episode(eid)
        fresh = memory.get_pattern(changed.pattern_id)
        assert fresh.effectiveness.times_applied == 1
        assert fresh.effectiveness.failure_when_applied == 1
        with pytest.raises(PatternNotFoundError):
            memory.get_pattern(deleted.pattern_id)


def test_unknown_pattern_is_not_found(memory: SyncSelfLearningMemory) -> None:
    with pytest.raises(PatternNotFoundError):
        memory.get_pattern(uuid4())
