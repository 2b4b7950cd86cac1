"""The optional quality gate (off by default), computed after reflection and extraction."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memory_core import (
    Episode,
    EpisodeQualityError,
    LearningConfig,
    MemoryConfig,
    SyncSelfLearningMemory,
    TaskOutcome,
)
from memory_core.learning import Reflector, default_extractors, extract_patterns, quality_score

BuildEpisode = Callable[..., Episode]
RICH = [
    ("grep", "search the logs", True),
    ("pytest", "run the failing test", False),
    ("editor", "check if the token expired", True),
    ("pytest", "verify the fix", True),
    ("git", "commit", True),
    ("ci", "validate the pipeline", True),
    ("http", "check the endpoint", True),
]


def _quality(episode: Episode) -> float:
    findings = len(extract_patterns(episode, LearningConfig(), default_extractors()))
    return quality_score(episode, Reflector().reflect(episode), findings)


def test_default_threshold_is_reachable(build: BuildEpisode) -> None:
    assert _quality(build(RICH)) >= 0.7  # the reference's default 0.7 rejected everything
    assert _quality(build([])) < 0.4
    assert 0.0 <= _quality(build([("a", "x", None)])) <= 1.0


def _complete(memory: SyncSelfLearningMemory, steps: list[tuple[str, str, bool]]) -> Episode:
    eid = memory.start_episode("gated")
    for tool, action, ok in steps:
        memory.log_step(
            eid,
            {
                "tool": tool,
                "action": action,
                "result": {"kind": "success" if ok else "error", "message": None if ok else "E"},
            },
        )
    return memory.complete_episode(eid, TaskOutcome.success("ok"))


def test_gate_is_off_by_default(memory: SyncSelfLearningMemory) -> None:
    assert memory.config.learning.quality_threshold is None
    assert _complete(memory, [("t", "a", True)]).is_complete


def test_gate_rejects_before_storing(database_url: str, namespace: str) -> None:
    config = MemoryConfig(
        database_url=database_url,
        load_plugins=False,
        learning=LearningConfig(quality_threshold=0.7),
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        with pytest.raises(EpisodeQualityError, match=r"quality_threshold=0\.7") as caught:
            _complete(memory, [("t", "a", True)])
        assert caught.value.quality < 0.7
        [episode] = memory.list_episodes()
        assert not episode.is_complete  # not stored as completed; still in progress
        assert memory.list_patterns() == []
        accepted = _complete(memory, RICH)
        assert accepted.reward is not None
        assert memory.wait_for_learning(timeout=60)
        assert memory.list_patterns()
