"""``learning.mode="process"``: a memory that learns in a learner process of its own."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    LearningConfig,
    MemoryConfig,
    SelfLearningMemory,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)
from memory_core import _learner_process as learner_process
from memory_core.errors import ConfigurationError

TOOLS = ["reader", "editor", "pytest"]


def _config(url: str, **learning: object) -> MemoryConfig:
    return MemoryConfig(
        database_url=url,
        load_plugins=False,
        learning=LearningConfig(mode="process", **learning),  # type: ignore[arg-type]
    )


def _record(memory: SyncSelfLearningMemory, count: int) -> None:
    """Complete ``count`` episodes of one task family (same tools, same domain)."""
    for i in range(count):
        episode_id = memory.start_episode(f"task {i}", TaskContext(domain="web-api"))
        for tool in TOOLS:
            step = ExecutionStep(tool=tool, action="run", result=ExecutionResult.success("ok"))
            memory.log_step(episode_id, step)
        memory.complete_episode(episode_id, TaskOutcome.success("done"))


def _exited(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie nobody reaped counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_exited(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_process_mode_memory_learns_every_episode_once_in_its_learner(
    database_url: str, namespace: str
) -> None:
    count = 30
    with SyncSelfLearningMemory(_config(database_url), namespace=namespace) as memory:
        pid = memory.engine.learner_pid
        assert pid is not None
        assert pid != os.getpid()
        _record(memory, count)
        assert memory.wait_for_learning(timeout=120)
        assert memory.stats().learning.processed == 0  # nothing learned in this process
        [sequence] = memory.engine.store.list_patterns(namespace, kind="tool_sequence")
        assert sequence.tools == TOOLS  # type: ignore[attr-defined]
        assert sequence.occurrence_count == count
        assert memory.engine.store.unlearned_episode_ids(namespace) == []
        # Found by this process's searches, although another process learned them.
        found = memory.search_patterns(TaskContext(domain="web-api"), task_description="task 3")
        assert sequence.pattern_id in {r.pattern.pattern_id for r in found}
    assert memory.engine.learner_pid is None
    assert _exited(pid)


def test_closing_learns_what_is_pending_then_stops_the_learner(
    sqlite_url: str, namespace: str
) -> None:
    memory = SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace)
    pid = memory.engine.learner_pid
    assert pid is not None
    _record(memory, 40)
    memory.close()  # no wait_for_learning first
    assert _exited(pid)
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        assert store.unlearned_episode_ids(namespace) == []
        [sequence] = store.list_patterns(namespace, kind="tool_sequence")
        assert sequence.occurrence_count == 40
    finally:
        store.close()


def test_ctrl_c_is_left_to_the_memory(sqlite_url: str, namespace: str) -> None:
    with SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace) as memory:
        pid = memory.engine.learner_pid
        assert pid is not None
        _record(memory, 1)
        assert memory.wait_for_learning(timeout=120)  # it is learning: its handlers are set
        os.kill(pid, signal.SIGINT)
        _record(memory, 9)
        assert memory.wait_for_learning(timeout=120)
        assert memory.engine.learner_pid == pid
    assert _exited(pid)


def test_a_learner_that_cannot_finish_in_time_is_stopped_and_loses_nothing(
    sqlite_url: str, namespace: str
) -> None:
    config = _config(sqlite_url, close_timeout_seconds=0)
    memory = SyncSelfLearningMemory(config, namespace=namespace)
    pid = memory.engine.learner_pid
    assert pid is not None
    _record(memory, 40)
    memory.close()
    assert _exited(pid)
    # Whatever it had not learned is still there, unlearned, for the next learner.
    follow_up = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(follow_up, namespace=namespace) as learner:
        learner.learn_pending()
        [sequence] = learner.engine.store.list_patterns(namespace, kind="tool_sequence")
        assert sequence.occurrence_count == 40


HOST = textwrap.dedent(
    """
    import os, sys
    from memory_core import LearningConfig, MemoryConfig, SyncSelfLearningMemory

    config = MemoryConfig(
        database_url=sys.argv[1], load_plugins=False, learning=LearningConfig(mode="process")
    )
    memory = SyncSelfLearningMemory(config, namespace="host")
    print(memory.engine.learner_pid, flush=True)
    os._exit(0)  # dies without closing the memory
    """
)


def test_the_learner_exits_when_its_memory_process_dies(sqlite_url: str) -> None:
    host = subprocess.run(
        [sys.executable, "-c", HOST, sqlite_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pid = int(host.stdout.split()[0])
    assert _wait_exited(pid, timeout=60), "the learner outlived its memory's process"


def test_process_mode_needs_a_database_another_process_can_open(tmp_path: Path) -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ConfigurationError, match="SQLite file or PostgreSQL"):
            SyncSelfLearningMemory(_config(url))
    store = SQLAlchemyEpisodeStore(f"sqlite:///{tmp_path / 'own.db'}")
    try:
        with pytest.raises(ConfigurationError, match="pass no store"):
            SyncSelfLearningMemory(_config(store.url), store=store)
    finally:
        store.close()


def test_plugin_objects_are_reported_as_not_in_the_learner(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Listener:
        pass

    with caplog.at_level(logging.WARNING, logger="memory_core"):
        memory = SyncSelfLearningMemory(_config(sqlite_url), plugins=[Listener()])
    memory.close()
    assert "not in its learner process" in caplog.text


def test_stats_count_the_episodes_not_learned_yet(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(
        database_url=sqlite_url, load_plugins=False, learning=LearningConfig(mode="external")
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        _record(memory, 3)
        assert memory.stats().episodes_unlearned == 3
        memory.learn_pending()
        assert memory.stats().episodes_unlearned == 0


async def test_the_async_memory_learns_in_its_learner_process(
    sqlite_url: str, namespace: str
) -> None:
    memory = SelfLearningMemory(_config(sqlite_url), namespace=namespace)
    pid = memory.engine.learner_pid
    assert pid is not None
    for i in range(5):
        episode_id = await memory.start_episode(f"task {i}", TaskContext(domain="web-api"))
        for tool in TOOLS:
            step = ExecutionStep(tool=tool, action="run", result=ExecutionResult.success("ok"))
            await memory.log_step(episode_id, step)
        await memory.complete_episode(episode_id, TaskOutcome.success("done"))
    assert await memory.wait_for_learning(timeout=120)
    assert (await memory.stats()).episodes_unlearned == 0
    await memory.close()
    assert _exited(pid)


def test_a_learner_that_cannot_start_is_a_clear_error_and_leaks_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = set(threading.enumerate())
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(ConfigurationError, match="cannot start the learner process"):
        SyncSelfLearningMemory(_config(sqlite_url))
    assert set(threading.enumerate()) <= before  # the flush thread was stopped


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_learner_that_dies_is_started_again(
    sqlite_url: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    with SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace) as memory:
        first = memory.engine.learner_pid
        assert first is not None
        _record(memory, 5)
        assert memory.wait_for_learning(timeout=120)
        os.kill(first, signal.SIGKILL)
        assert _wait_for(lambda: memory.engine.learner_pid not in (None, first), 60)
        _record(memory, 5)
        assert memory.wait_for_learning(timeout=120)
        [sequence] = memory.engine.store.list_patterns(namespace, kind="tool_sequence")
        assert sequence.occurrence_count == 10
    assert "starting another" in caplog.text


def test_a_learner_that_keeps_dying_is_given_up_with_an_error(
    sqlite_url: str,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(learner_process, "_CHILD", "raise SystemExit(3)")
    monkeypatch.setattr(learner_process, "RESTART_DELAY_SECONDS", 0.01)
    monkeypatch.setattr(learner_process, "MAX_RESTARTS", 2)
    with SyncSelfLearningMemory(_config(sqlite_url), namespace=namespace) as memory:
        _record(memory, 1)
        assert not memory.wait_for_learning(timeout=60)
        assert memory.stats().episodes_unlearned == 1
    assert "not starting it again" in caplog.text


def test_closing_stops_a_learner_that_does_not_finish_in_time(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(learner_process, "_CHILD", "import time; time.sleep(600)")
    memory = SyncSelfLearningMemory(_config(sqlite_url, close_timeout_seconds=0.5))
    pid = memory.engine.learner_pid
    assert pid is not None
    started = time.monotonic()
    memory.close()
    assert time.monotonic() - started < 60
    assert _exited(pid)
