"""A process killed mid-episode loses at most the flush window of steps.

The writer subprocess logs steps on command and reports each batch; the test waits (by
polling the database, never by sleeping a fixed time) until the reported steps are durable,
then SIGKILLs the writer in the middle of a burst of further steps, reopens the database and
finishes the episode.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from uuid import UUID

import pytest

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskOutcome,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

# Commands on stdin: "log N" logs N steps and reports the last step number.
WRITER = textwrap.dedent(
    """
    import json, sys
    from memory_core import (
        ExecutionResult, ExecutionStep, MemoryConfig, SyncSelfLearningMemory,
    )

    url, namespace = sys.argv[1], sys.argv[2]
    memory = SyncSelfLearningMemory(
        MemoryConfig(database_url=url, load_plugins=False), namespace=namespace
    )
    eid = memory.start_episode("crash me", {"domain": "crash"})
    print(json.dumps({"episode_id": str(eid)}), flush=True)
    for line in sys.stdin:
        count = int(line.split()[1])
        for _ in range(count):
            step = memory.log_step(
                eid,
                ExecutionStep(tool="tool", action="act", parameters={"k": "v"},
                              result=ExecutionResult.success("out")),
            )
            print(json.dumps({"logged": step.step_number}), flush=True)
    """
)


def _durable_steps(store: SQLAlchemyEpisodeStore, namespace: str, episode_id: UUID) -> int:
    episode = store.get_episode(namespace, episode_id)
    return 0 if episode is None else len(episode.steps)


def _wait_durable(
    store: SQLAlchemyEpisodeStore, namespace: str, episode_id: UUID, count: int
) -> None:
    """Poll until ``count`` steps are durable (the deadline only guards against a hang)."""
    deadline = time.monotonic() + 30
    while _durable_steps(store, namespace, episode_id) < count:
        assert time.monotonic() < deadline, f"steps 1..{count} never became durable"
        time.sleep(0.01)  # polling interval, not a wait for background work to finish


def test_kill_mid_episode_loses_at_most_the_flush_window(database_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=database_url, load_plugins=False)
    assert config.flush_interval_ms <= 100
    SyncSelfLearningMemory(config, namespace=namespace).close()  # schema exists first
    store = SQLAlchemyEpisodeStore(database_url)
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, database_url, namespace],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdin is not None
            assert proc.stdout is not None
            episode_id = UUID(json.loads(proc.stdout.readline())["episode_id"])

            # Phase 1: log 20 steps, see them reported, wait until they are durable.
            proc.stdin.write("log 20\n")
            proc.stdin.flush()
            reported = [json.loads(proc.stdout.readline())["logged"] for _ in range(20)]
            assert reported == list(range(1, 21))
            _wait_durable(store, namespace, episode_id, 20)

            # Phase 2: a burst of steps, killed as soon as the first of them is reported.
            proc.stdin.write("log 5000\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["logged"] == 21
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:  # pragma: no cover - only when an assertion failed early
                proc.kill()
            store.close()

    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        survived = memory.get_episode(episode_id)
        numbers = [s.step_number for s in survived.steps]
        # Everything reported before the flush window elapsed is there, as a gap-free prefix
        # with exact content; only the unflushed tail of the burst may be missing.
        assert len(numbers) >= 20
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) < 5020
        for step in survived.steps:
            assert step.tool == "tool"
            assert step.parameters == {"k": "v"}
            assert step.result == ExecutionResult.success("out")
        assert not survived.is_complete

        # The episode can be continued and completed after the crash.
        nxt = memory.log_step(episode_id, ExecutionStep(tool="resume", action="continue"))
        assert nxt.step_number == len(numbers) + 1
        done = memory.complete_episode(episode_id, TaskOutcome.success("recovered"))
        assert done.is_complete
        assert [s.step_number for s in done.steps] == [*numbers, len(numbers) + 1]
        assert memory.wait_for_learning(timeout=30)
        done = memory.get_episode(episode_id)

    with SyncSelfLearningMemory(config, namespace=namespace) as reopened:
        again = reopened.get_episode(episode_id)
        assert again == done
