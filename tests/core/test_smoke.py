from memory_core import (
    ExecutionResult,
    ExecutionStep,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)


def test_round_trip(memory: SyncSelfLearningMemory) -> None:
    eid = memory.start_episode("Add a test", TaskContext(language="python"))
    memory.log_step(
        eid, ExecutionStep(tool="pytest", action="run", result=ExecutionResult.success("ok"))
    )
    episode = memory.complete_episode(eid, TaskOutcome.success("done"))
    assert memory.get_episode(eid) == episode
    assert [s.step_number for s in episode.steps] == [1]
