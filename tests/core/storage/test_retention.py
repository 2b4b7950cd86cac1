"""Retention on the store: which episodes a prune keeps, and that the cap holds."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from tests.support.lifecycle import EPISODE_TABLES, dangling_rows, episode, evidence_outside, seed

from memory_core import RetentionConfig, SQLAlchemyEpisodeStore
from memory_core.models import utcnow
from memory_core.storage import EpisodeQuery, WriteBatch
from memory_core.storage.retention import prune


def _ids(store: SQLAlchemyEpisodeStore, namespace: str) -> set[int]:
    """The indexes (from the descriptions) of the namespace's completed episodes."""
    return {
        int(e.task_description.split()[3])
        for e in store.list_episodes(namespace, EpisodeQuery(limit=None))
        if e.is_complete
    }


def test_the_most_valuable_episodes_survive(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    rewarded = [episode(i, reward=2.0) for i in range(4)]
    retrieved = [episode(i, reward=0.0) for i in range(4, 8)]
    plain = [episode(i, reward=0.0) for i in range(8, 12)]
    # plain[0] is the only evidence of the patterns: worth keeping
    tools, _, _ = seed(store, namespace, [plain[0], *rewarded, *retrieved, *plain[1:]], linked=1)
    store.record_episode_retrievals(namespace, {e.episode_id: 10 for e in retrieved[:2]})
    config = RetentionConfig(max_episodes=7)

    preview = prune(store, namespace, config, dry_run=True)
    assert preview.episodes_deleted == 5
    assert preview.completed_after == 7
    assert store.count_episodes(namespace) == 12  # a dry run deletes nothing

    report = prune(store, namespace, config)
    assert report.episodes_deleted == 5
    assert report.over_cap == 5
    assert report.complete
    assert report.bytes_reclaimed > 0
    assert report.deleted.steps == 5
    assert _ids(store, namespace) == {0, 1, 2, 3, 4, 5, 8}
    kept = store.get_pattern(namespace, tools.pattern_id)
    assert kept is not None
    assert kept.occurrence_count == tools.occurrence_count


def test_only_completed_learned_episodes_are_pruned(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    learned = [episode(i) for i in range(3)]
    seed(store, namespace, learned, linked=3)
    unlearned = [episode(i) for i in range(3, 6)]
    flying = [episode(i).model_copy(update={"end_time": None, "outcome": None}) for i in (6, 7)]
    store.write(namespace, WriteBatch(new_episodes=[*unlearned, *flying]))
    report = prune(store, namespace, RetentionConfig(max_episodes=0))
    assert report.episodes_deleted == 3
    assert report.deleted.pattern_links == 6  # two patterns
    assert report.deleted.heuristic_links == 3
    assert store.count_episodes(namespace, completed=True) == 3
    assert store.count_episodes(namespace, completed=False) == 2
    assert dangling_rows(store, namespace) == dict.fromkeys(EPISODE_TABLES, 0)
    assert evidence_outside(store, namespace) == 0


def test_episodes_older_than_the_age_limit_go(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    old = [episode(i) for i in range(3)]  # completed in 2025
    recent = [episode(i, start=utcnow() - timedelta(days=2)) for i in range(3, 5)]
    seed(store, namespace, [*old, *recent], linked=5)
    report = prune(store, namespace, RetentionConfig(max_age_days=30, drop_orphan_patterns=True))
    assert report.expired == 3
    assert report.over_cap == 0
    assert _ids(store, namespace) == {3, 4}
    assert len(store.list_patterns(namespace, limit=None)) == 2  # still linked: kept


def test_concurrent_prunes_never_go_below_the_cap(database_url: str, namespace: str) -> None:
    stores = [SQLAlchemyEpisodeStore(database_url) for _ in range(3)]
    try:
        seed(stores[0], namespace, [episode(i) for i in range(300)], linked=20)
        config = RetentionConfig(max_episodes=50, prune_chunk_size=10)
        threads = [threading.Thread(target=prune, args=(s, namespace, config)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stores[0].count_episodes(namespace, completed=True) == 50
        assert evidence_outside(stores[0], namespace) == 0
    finally:
        for store in stores:
            store.close()


def test_a_prune_out_of_time_still_deletes_a_chunk(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    seed(store, namespace, [episode(i) for i in range(30)], linked=5)
    config = RetentionConfig(max_episodes=10, prune_chunk_size=5)
    first = prune(store, namespace, config, deadline=time.monotonic())
    assert first.episodes_deleted == 5
    assert not first.complete
    while not prune(store, namespace, config, deadline=time.monotonic()).complete:
        pass
    assert store.count_episodes(namespace, completed=True) == 10
