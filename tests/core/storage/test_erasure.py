"""Deleting episodes and namespaces: complete, and only what was asked, on both databases."""

from __future__ import annotations

from uuid import uuid4

import pytest
from tests.support.lifecycle import (
    EPISODE_TABLES,
    dangling_rows,
    episode,
    evidence_outside,
    row_counts,
    seed,
)

from memory_core import (
    ChangeFeedTrimmedError,
    ContextPattern,
    InvalidInputError,
    SQLAlchemyEpisodeStore,
)
from memory_core.storage import WriteBatch


def test_deleting_an_episode_takes_it_out_of_the_evidence_and_keeps_counts(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    first, second = episode(1, steps=2), episode(2)
    tools, context, rule = seed(store, namespace, [first, second], linked=2)
    store.put_episode_embeddings(namespace, "m", {first.episode_id: [1.0, 2.0]})
    store.record_episode_retrievals(namespace, {first.episode_id: 3})
    assert context.sample_size == 2

    assert store.delete_episode(namespace, first.episode_id)
    assert not store.delete_episode(namespace, first.episode_id)

    kept = store.get_pattern(namespace, tools.pattern_id)
    assert kept is not None
    assert kept.evidence == [second.episode_id]
    assert kept.occurrence_count == tools.occurrence_count
    kept_context = store.get_pattern(namespace, context.pattern_id)
    assert isinstance(kept_context, ContextPattern)
    assert kept_context.evidence == [second.episode_id]
    assert kept_context.sample_size == 2  # learned from two episodes, whatever is kept
    (kept_rule,) = store.list_heuristics(namespace)
    assert kept_rule.evidence == [second.episode_id]
    assert kept_rule.sample_size == rule.sample_size
    assert store.pattern_episode_ids(namespace, tools.pattern_id) == [second.episode_id]
    assert dangling_rows(store, namespace) == dict.fromkeys(EPISODE_TABLES, 0)
    feed = [c for c in store.changes_since(namespace, 0) if c.entity_id == first.episode_id]
    assert [c.op for c in feed] == ["delete"]  # its earlier entries are superseded

    # the last evidence goes: patterns stay by default, with their counts
    assert store.delete_episode(namespace, second.episode_id)
    left = store.get_pattern(namespace, tools.pattern_id)
    assert left is not None
    assert left.evidence == []
    assert left.occurrence_count == tools.occurrence_count
    assert len(store.list_heuristics(namespace)) == 1


def test_orphaned_patterns_and_heuristics_go_when_asked(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    episodes = [episode(i) for i in range(3)]
    tools, context, _ = seed(store, namespace, episodes, linked=2)
    counts = store.delete_episodes(namespace, [episodes[0].episode_id], drop_orphans=True)
    assert counts.patterns_deleted == 0  # one linked episode is left
    assert counts.patterns_updated == 2
    counts = store.delete_episodes(namespace, [episodes[1].episode_id, uuid4()], drop_orphans=True)
    assert counts.episodes == 1
    assert counts.patterns_deleted == 2
    assert counts.heuristics_deleted == 1
    assert store.list_patterns(namespace, limit=None) == []
    assert store.list_heuristics(namespace) == []
    deleted = {c.entity_id for c in store.changes_since(namespace, 0) if c.op == "delete"}
    assert {tools.pattern_id, context.pattern_id} <= deleted
    assert store.count_episodes(namespace) == 1


def test_deleting_a_namespace_removes_everything_in_it_and_nothing_else(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    other = f"{namespace}-other"
    episodes = [episode(i, steps=2) for i in range(4)]
    for ns in (namespace, other):  # the same ids in both namespaces
        seed(store, ns, episodes, linked=3)
        store.put_episode_embeddings(ns, "m", {episodes[0].episode_id: [0.5] * 8})
        store.record_episode_retrievals(ns, {episodes[1].episode_id: 2})
        store.write(
            ns,
            WriteBatch(
                new_episodes=[episode(99).model_copy(update={"end_time": None, "outcome": None})]
            ),
        )
    before_other = row_counts(store, other)
    usage = {u.namespace: u for u in store.namespace_usage()}
    assert usage[namespace].episodes == 5
    assert usage[namespace].patterns == 2
    assert usage[namespace].heuristics == 1
    assert usage[namespace].bytes > 0
    assert usage[namespace] == usage[other].__class__(namespace, 5, 2, 1, usage[other].bytes)

    heard: list[tuple[str, str, int, str]] = []
    store.change_listeners.append(
        lambda ns, entity, ids, op: heard.append((ns, entity, len(ids), op))
    )
    deleted = store.delete_namespace(namespace)

    assert deleted == usage[namespace]
    left = row_counts(store, namespace)
    assert left.pop("mc_changes") == 1  # the entry saying the namespace was deleted
    assert set(left.values()) == {0}
    assert row_counts(store, other) == before_other
    assert namespace not in {u.namespace for u in store.namespace_usage()}
    assert store.get_episode(other, episodes[0].episode_id) == episodes[0]
    assert (namespace, "episode", 5, "delete") in heard
    assert store.delete_namespace(namespace).episodes == 0


def test_retrieval_counts_add_up_and_skip_deleted_episodes(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    first = episode(1)
    seed(store, namespace, [first], linked=1)
    store.record_episode_retrievals(namespace, {first.episode_id: 2, uuid4(): 5})
    store.record_episode_retrievals(namespace, {first.episode_id: 3})
    (candidate,) = store.retention_candidates(namespace)
    assert candidate.retrievals == 5
    assert candidate.sole_evidence
    assert evidence_outside(store, namespace) == 0


def test_compacting_the_change_feed_keeps_each_entitys_latest_entry(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    episodes = [episode(i) for i in range(4)]
    seed(store, namespace, episodes, linked=4)
    for item in episodes[:2]:
        store.mark_learned(namespace, item.episode_id, [])  # a second upsert each
    store.delete_episode(namespace, episodes[0].episode_id)
    before = store.changes_since(namespace, 0)
    assert store.compact_changes(namespace) > 0
    after = store.changes_since(namespace, 0)
    latest = {}
    for change in before:
        latest[(change.entity, change.entity_id)] = change
    assert sorted(after, key=lambda c: c.seq) == sorted(latest.values(), key=lambda c: c.seq)
    assert store.compact_changes(namespace) == 0


def test_old_episode_deletions_are_trimmed_behind_a_horizon(
    store: SQLAlchemyEpisodeStore, namespace: str
) -> None:
    other = f"{namespace}-other"
    episodes = [episode(i) for i in range(5)]
    seed(store, namespace, episodes, linked=1)
    seed(store, other, [episode(9)], linked=1)
    store.delete_episode(other, episodes[0].episode_id)  # not there: nothing recorded
    position = store.last_change_seq(namespace)
    for item in episodes[:4]:
        store.delete_episode(namespace, item.episode_id)
    deletions = [c.seq for c in store.changes_since(namespace, position) if c.entity == "episode"]
    assert len(deletions) == 4

    assert store.compact_changes(namespace, keep_deletions=2) >= 2

    with pytest.raises(ChangeFeedTrimmedError) as trimmed:
        store.changes_since(namespace, position)
    assert trimmed.value.horizon == deletions[1]
    assert trimmed.value.seq == position
    kept = store.changes_since(namespace, trimmed.value.horizon)
    assert [(c.seq, c.op) for c in kept if c.entity == "episode"] == [
        (seq, "delete") for seq in deletions[2:]
    ]
    assert store.compact_changes(namespace, keep_deletions=2) == 0  # nothing more to trim
    store.changes_since(namespace, trimmed.value.horizon)  # the horizon did not move
    assert store.changes_since(other, 0)  # another namespace's feed is untouched
    with pytest.raises(InvalidInputError, match="keep_deletions"):
        store.compact_changes(namespace, keep_deletions=0)

    store.delete_namespace(namespace)  # its horizon goes with it
    assert [c.entity for c in store.changes_since(namespace, 0)] == ["namespace"]
