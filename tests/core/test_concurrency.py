"""Several processes (and threads) writing to one database lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from uuid import UUID

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SyncSelfLearningMemory,
    TaskOutcome,
    TaskType,
)

PROCESSES = 4
EPISODES_PER_PROCESS = 500
COMPLETE_EVERY = 5

# Each writer records EPISODES_PER_PROCESS episodes, two steps each; every COMPLETE_EVERY-th
# is completed (and learned from), the others stay in flight (durable through the
# write-behind buffer, flushed on close).
WRITER = textwrap.dedent(
    """
    import sys

    from memory_core import (
        ExecutionResult, ExecutionStep, MemoryConfig, SyncSelfLearningMemory, TaskContext,
        TaskOutcome, TaskType,
    )

    url, namespace, worker, count, every = sys.argv[1:3] + [int(a) for a in sys.argv[3:6]]
    config = MemoryConfig(database_url=url, load_plugins=False)
    sys.stdin.readline()  # start together
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for i in range(count):
            eid = memory.start_episode(
                f"w{worker} task {i}",
                TaskContext(domain=f"d{worker}", tags=[f"w{worker}"]),
                TaskType.TESTING,
                metadata={"worker": str(worker), "i": str(i)},
            )
            memory.log_step(
                eid,
                ExecutionStep(
                    tool="t1", action=f"a{i}", parameters={"i": i},
                    result=ExecutionResult.success(f"out {worker}/{i}"),
                ),
            )
            memory.log_step(eid, ExecutionStep(tool="t2", action="b"))
            if i % every == 0:
                memory.complete_episode(eid, TaskOutcome.success(f"done {worker}/{i}"))
    print("ok", flush=True)
    """
)


def _check_worker_episodes(memory: SyncSelfLearningMemory, worker: int, count: int) -> None:
    episodes = memory.list_episodes(domain=f"d{worker}", limit=None)
    assert len(episodes) == count
    by_index = {int(e.metadata["i"]): e for e in episodes}
    assert sorted(by_index) == list(range(count))
    for i, episode in by_index.items():
        assert episode.task_description == f"w{worker} task {i}"
        assert episode.task_type is TaskType.TESTING
        assert episode.context.tags == [f"w{worker}"]
        assert [s.step_number for s in episode.steps] == [1, 2]
        assert [s.tool for s in episode.steps] == ["t1", "t2"]
        assert episode.steps[0].parameters == {"i": i}
        assert episode.steps[0].result == ExecutionResult.success(f"out {worker}/{i}")
        if i % COMPLETE_EVERY == 0:
            assert episode.outcome == TaskOutcome.success(f"done {worker}/{i}")
        else:
            assert episode.outcome is None


def test_four_processes_writing_concurrently_lose_nothing(
    database_url: str, namespace: str
) -> None:
    # Create the schema once so the writers race on data, not on DDL.
    SyncSelfLearningMemory(
        MemoryConfig(database_url=database_url, load_plugins=False), namespace=namespace
    ).close()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                database_url,
                namespace,
                str(w),
                str(EPISODES_PER_PROCESS),
                str(COMPLETE_EVERY),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(PROCESSES)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"

    config = MemoryConfig(database_url=database_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        stats = memory.stats()
        assert stats.episodes_total == PROCESSES * EPISODES_PER_PROCESS
        assert stats.episodes_completed == PROCESSES * EPISODES_PER_PROCESS // COMPLETE_EVERY
        for worker in range(PROCESSES):
            _check_worker_episodes(memory, worker, EPISODES_PER_PROCESS)


def test_threads_sharing_one_memory_lose_nothing(memory: SyncSelfLearningMemory) -> None:
    threads, per_thread = 4, 25
    errors: list[BaseException] = []
    ids: list[list[UUID]] = [[] for _ in range(threads)]

    def work(worker: int) -> None:
        try:
            for i in range(per_thread):
                eid = memory.start_episode(f"thread {worker} task {i}", {"domain": f"d{worker}"})
                ids[worker].append(eid)
                for _ in range(3):
                    memory.log_step(eid, ExecutionStep(tool="t", action=f"w{worker}"))
                memory.complete_episode(eid, TaskOutcome.failure("nope"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    assert memory.stats().episodes_completed == threads * per_thread
    for worker in range(threads):
        for eid in ids[worker]:
            episode = memory.get_episode(eid)
            assert [s.step_number for s in episode.steps] == [1, 2, 3]
            assert {s.action for s in episode.steps} == {f"w{worker}"}


def test_an_episode_deleted_elsewhere_does_not_block_other_writes(
    config: MemoryConfig, namespace: str
) -> None:
    with (
        SyncSelfLearningMemory(config, namespace=namespace) as mine,
        SyncSelfLearningMemory(config, namespace=namespace) as other,
    ):
        doomed = mine.start_episode("deleted by the other memory")
        mine.flush()
        other.delete_episode(doomed)
        mine.log_step(doomed, ExecutionStep(tool="t", action="orphan"))  # cannot be stored
        kept = mine.start_episode("unaffected")
        mine.log_step(kept, ExecutionStep(tool="t", action="a"))
        done = mine.complete_episode(kept, TaskOutcome.success("ok"))
        assert [s.action for s in done.steps] == ["a"]
        assert mine.stats().pending_writes == 0
        assert [s.action for s in other.get_episode(kept).steps] == ["a"]
