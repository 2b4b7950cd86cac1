"""``memory-core relearn``: extraction runs again over stored episodes, without double counting."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from memory_core import MemoryConfig, Pattern, SyncSelfLearningMemory
from memory_core.learning import similarity_key


def _patterns(seeded: Any) -> dict[UUID, Pattern]:
    config = MemoryConfig(database_url=seeded.url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=seeded.namespace) as memory:
        return {p.pattern_id: p for p in memory.list_patterns(limit=None)}


def test_relearn_learns_every_episode_once(cli: Any, seeded: Any) -> None:
    first = cli("relearn")
    assert first.code == 0, first.stderr
    assert "Re-learned 30 episodes" in first.stdout
    assert "re-learning" in first.stderr  # the progress bar
    after_first = _patterns(seeded)
    assert len(after_first) > len(seeded.pattern_ids)  # the extractors found more

    second = cli("relearn")
    assert second.code == 0, second.stderr
    assert "patterns 0 created, 0 updated; heuristics 0 created, 0 updated" in second.stdout
    after_second = _patterns(seeded)
    # an episode already counted in a pattern's evidence is not counted again
    assert {k: p.occurrence_count for k, p in after_second.items()} == {
        k: p.occurrence_count for k, p in after_first.items()
    }
    with SyncSelfLearningMemory(
        MemoryConfig(database_url=seeded.url, load_plugins=False), namespace=seeded.namespace
    ) as memory:
        assert memory.engine.store.unlearned_episode_ids(memory.namespace) == []
        assert all(e.pattern_ids for e in memory.list_episodes(completed=True, limit=None))


def test_rebuild_keeps_effectiveness_of_patterns_that_come_back(cli: Any, seeded: Any) -> None:
    assert cli("relearn").code == 0
    config = MemoryConfig(database_url=seeded.url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=seeded.namespace) as memory:
        learned = [
            p for p in memory.list_patterns(limit=None) if p.pattern_id not in seeded.pattern_ids
        ]
        assert learned
        target = learned[0]
        memory.record_pattern_application(target.pattern_id, None, helped=True)
        key = (target.kind, similarity_key(target))

    rebuilt = cli("relearn", "--rebuild", "--yes")
    assert rebuilt.code == 0, rebuilt.stderr
    assert "heuristics deleted first" in rebuilt.stdout
    with SyncSelfLearningMemory(config, namespace=seeded.namespace) as memory:
        patterns = memory.list_patterns(limit=None)
        assert not {p.pattern_id for p in patterns} & set(seeded.pattern_ids)  # seeds are gone
        heuristics = memory.list_heuristics(limit=None)
        assert heuristics  # learned again from the episodes...
        assert all(h.condition != "an auth test fails with 401" for h in heuristics)  # ...only
        (back,) = [p for p in patterns if (p.kind, similarity_key(p)) == key]
        assert back.effectiveness.times_applied == 1
        assert back.effectiveness.success_when_applied == 1


def test_pending_only_and_errors(cli: Any, seeded: Any, check_error: Any) -> None:
    pending = cli("relearn", "--pending-only")
    assert pending.code == 0, pending.stderr
    assert "Re-learned 0 episodes" in pending.stdout  # resumed when the memory opened
    check_error(cli("relearn", "--pending-only", "--rebuild"), "cannot be combined")
    before = _patterns(seeded)
    refused = cli("relearn", "--rebuild")  # no terminal to confirm on: aborts
    assert refused.code != 0
    assert "Traceback" not in refused.stderr
    assert _patterns(seeded) == before
