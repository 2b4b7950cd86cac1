"""The full loop through the public facades: record, learn, then retrieve at once."""

from __future__ import annotations

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)

CONTEXT = TaskContext(domain="web", language="python", tags=["auth"])


def _record(memory: SyncSelfLearningMemory, task: str) -> None:
    eid = memory.start_episode(task, CONTEXT)
    for tool, action in (("grep", "check the handler"), ("editor", "fix it"), ("pytest", "verify")):
        memory.log_step(
            eid, ExecutionStep(tool=tool, action=action, result=ExecutionResult.success("ok"))
        )
    memory.complete_episode(eid, TaskOutcome.success("fixed"))


def test_learned_patterns_are_retrievable_at_once_in_this_process(sqlite_url: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config) as memory:
        assert memory.retrieve_relevant_patterns(CONTEXT) == []  # ranking built, empty
        _record(memory, "Fix the login handler")
        memory.wait_for_learning()
        patterns = memory.retrieve_relevant_patterns(CONTEXT, limit=20)
        kinds = {p.kind for p in patterns}
        assert "tool_sequence" in kinds
        sequence = next(p for p in patterns if p.kind == "tool_sequence")
        assert memory.get_pattern(sequence.pattern_id).occurrence_count == 1
        _record(memory, "Fix the logout handler")
        memory.wait_for_learning()
        # neither the pattern cache nor the ranking serves the stale count
        assert memory.get_pattern(sequence.pattern_id).occurrence_count == 2
        again = memory.retrieve_relevant_patterns(CONTEXT, limit=20)
        assert next(p for p in again if p.pattern_id == sequence.pattern_id).occurrence_count == 2


async def test_heuristics_are_retrievable_from_both_facades(sqlite_url: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config) as memory:
        for task in ("Fix the login handler", "Fix the logout handler", "Fix the signup handler"):
            _record(memory, task)
        memory.wait_for_learning()
        rules = memory.retrieve_heuristics(CONTEXT, limit=5)
        assert rules
        assert all(r.sample_size >= 2 for r in rules)
    async with SelfLearningMemory(config) as amemory:
        assert await amemory.retrieve_heuristics(CONTEXT, limit=5) == rules


def test_a_small_memory_finds_near_identical_tasks_and_not_unrelated_ones(
    sqlite_url: str,
) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config) as memory:
        for task in ("Fix the failing login test", "Fix the flaky signup test"):
            _record(memory, task)
        found = memory.retrieve_relevant_context("Fix the failing logout test", CONTEXT)
        assert [e.task_description for e in found][:1] == ["Fix the failing login test"]
        unrelated = memory.retrieve_relevant_context(
            "Deploy the kubernetes cluster to production", CONTEXT
        )
        assert unrelated == []
