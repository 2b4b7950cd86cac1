"""Heuristics learned across episodes and retrieved for a context."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

from memory_core import Episode, ExecutionStep, SyncSelfLearningMemory, TaskContext, TaskOutcome
from memory_core.learning import heuristic_candidates

BuildEpisode = Callable[..., Episode]
WEB = TaskContext(domain="web-api", language="python")
STEPS: list[dict[str, object]] = [
    {"tool": "http", "action": "check if the service is up", "result": {"kind": "success"}},
    {"tool": "pytest", "action": "run the suite", "result": {"kind": "success"}},
]


def _run(
    memory: SyncSelfLearningMemory,
    context: TaskContext,
    outcome: TaskOutcome,
    steps: Sequence[dict[str, object]],
) -> None:
    eid = memory.start_episode("deploy check", context)
    for step in steps:
        memory.log_step(eid, ExecutionStep.model_validate(step))
    memory.complete_episode(eid, outcome)
    assert memory.wait_for_learning(timeout=60)


def _rule(memory: SyncSelfLearningMemory) -> list[tuple[str, str, int, int]]:
    return [
        (h.condition, h.action, h.success_count, h.sample_size)
        for h in memory.list_heuristics()
        if "check if the service is up" in h.condition
    ]


def test_heuristics_are_learned_across_episodes(memory: SyncSelfLearningMemory) -> None:
    learning = memory.engine.learning
    _run(memory, WEB, TaskOutcome.success("ok"), STEPS)
    condition = "In web-api tasks using python, when the step is to check if the service is up"
    assert _rule(memory) == [(condition, "use pytest to run the suite", 1, 1)]
    assert learning.heuristics_for(WEB) == []  # one episode is not enough evidence

    _run(memory, WEB, TaskOutcome.success("ok"), STEPS)
    [best, *_] = learning.heuristics_for(WEB)
    assert (best.condition, best.sample_size, best.success_count) == (condition, 2, 2)
    assert best.confidence == pytest.approx(math.sqrt(2))
    assert len(best.evidence) == 2

    _run(memory, WEB, TaskOutcome.failure("down"), STEPS)  # counts against the rule
    assert _rule(memory) == [(condition, "use pytest to run the suite", 2, 3)]


def test_failed_episodes_do_not_create_rules(memory: SyncSelfLearningMemory) -> None:
    _run(memory, WEB, TaskOutcome.failure("down"), STEPS)
    assert memory.list_heuristics() == []


def test_heuristics_rank_by_context(memory: SyncSelfLearningMemory) -> None:
    data = TaskContext(domain="data", language="sql")
    for _ in range(2):
        _run(memory, WEB, TaskOutcome.success("ok"), STEPS)
        _run(memory, data, TaskOutcome.success("ok"), STEPS)
    web_first = memory.engine.learning.heuristics_for(WEB, limit=10)
    data_first = memory.engine.learning.heuristics_for(data, limit=10)
    assert web_first[0].context is not None
    assert web_first[0].context.domain == "web-api"
    assert data_first[0].context is not None
    assert data_first[0].context.domain == "data"


def test_error_recovery_rules(build: BuildEpisode) -> None:
    episode = build(
        [("pip", "install deps", False), ("pip", "install with --pre", True)],
        errors=["ResolutionImpossible: pkg==1.2.3"],
    )
    [rule] = heuristic_candidates(episode)
    assert rule.condition == (
        "In web-api tasks using python, when a step fails with resolutionimpossible: pkg==<n>"
    )
    assert rule.action == "recover with pip: install with --pre"
