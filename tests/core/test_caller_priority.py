"""Background learning gives way to a caller's search (`memory_core._priority`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from memory_core import MemoryConfig, SyncSelfLearningMemory, TaskContext, TaskOutcome
from memory_core._priority import CallerPriority, callers, serves_caller
from memory_core.learning.batch import Pause
from memory_core.testing import HashingEmbedder

_HANG_GUARD = 60.0  # seconds; only guards against a test hanging forever


def _call_in_thread(gate: CallerPriority) -> tuple[threading.Thread, threading.Event]:
    """A caller's call that runs in another thread until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def call() -> None:
        gate.enter()
        try:
            started.set()
            release.wait(_HANG_GUARD)
        finally:
            gate.exit()

    thread = threading.Thread(target=call)
    thread.start()
    assert started.wait(_HANG_GUARD)
    return thread, release


def test_give_way_returns_at_once_when_no_call_runs() -> None:
    gate = CallerPriority(max_wait_s=_HANG_GUARD)
    assert not gate.busy
    gate.give_way()  # would hang for a minute if it waited


def test_give_way_waits_for_the_running_call_to_end() -> None:
    gate = CallerPriority(max_wait_s=_HANG_GUARD)
    caller, release = _call_in_thread(gate)
    assert gate.busy
    returned = threading.Event()
    waiter = threading.Thread(target=lambda: (gate.give_way(), returned.set()))
    waiter.start()
    waiter.join(0.05)
    assert not returned.is_set()  # still waiting: the call has not ended
    release.set()
    waiter.join(_HANG_GUARD)
    caller.join(_HANG_GUARD)
    assert returned.is_set()
    assert not gate.busy


def test_give_way_waits_a_bounded_time_when_calls_never_end() -> None:
    gate = CallerPriority(max_wait_s=0.001)
    caller, release = _call_in_thread(gate)
    try:
        waiter = threading.Thread(target=gate.give_way)
        waiter.start()
        waiter.join(_HANG_GUARD)
        assert not waiter.is_alive()
        assert gate.busy
    finally:
        release.set()
        caller.join(_HANG_GUARD)


def test_serves_caller_marks_the_call_busy_and_unmarks_it_on_error() -> None:
    seen: list[bool] = []

    @serves_caller
    def search(fail: bool) -> str:
        seen.append(callers.busy)
        if fail:
            raise ValueError("boom")
        return "found"

    assert search(False) == "found"
    with pytest.raises(ValueError, match="boom"):
        search(True)
    assert seen == [True, True]
    assert not callers.busy
    assert search.__name__ == "search"


def test_a_learning_pause_that_gives_way_waits_for_the_caller() -> None:
    original = callers.max_wait_s
    callers.max_wait_s = _HANG_GUARD
    caller, release = _call_in_thread(callers)
    try:
        returned = threading.Event()
        pause = Pause(give_way=True)
        waiter = threading.Thread(target=lambda: (pause(), returned.set()))
        waiter.start()
        waiter.join(0.05)
        assert not returned.is_set()
        release.set()
        waiter.join(_HANG_GUARD)
        assert returned.is_set()
    finally:
        release.set()
        caller.join(_HANG_GUARD)
        callers.max_wait_s = original
    Pause()()  # without give_way a pause never waits for callers


class _BusyRecordingEmbedder(HashingEmbedder):
    """Records whether a caller's call was marked while it embedded a query."""

    def __init__(self) -> None:
        super().__init__()
        self.busy_during_queries: list[bool] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) == 1 and texts[0].startswith("query:"):
            self.busy_during_queries.append(callers.busy)
        return super().embed(texts)


def test_a_memory_marks_its_searches_as_callers_calls(tmp_path: Path) -> None:
    embedder = _BusyRecordingEmbedder()
    config = MemoryConfig(database_url=f"sqlite:///{tmp_path}/m.db", load_plugins=False)
    with SyncSelfLearningMemory(config, namespace="gate", embedder=embedder) as memory:
        episode = memory.start_episode("rotate the api keys", TaskContext(domain="security"))
        memory.log_step(episode, {"tool": "vault", "action": "rotate keys"})
        memory.complete_episode(episode, TaskOutcome.success("rotated"))
        memory.wait_for_learning()
        assert not callers.busy
        found = memory.search_episodes("query: rotate keys", TaskContext(domain="security"))
    assert [r.episode.episode_id for r in found] == [episode]
    assert embedder.busy_during_queries == [True]
    assert not callers.busy


def test_a_forked_child_does_not_inherit_its_parents_calls() -> None:
    caller, release = _call_in_thread(callers)
    try:
        assert callers.busy
        pid = os.fork()
        if pid == 0:  # the child: the parent's call does not run here
            os._exit(0 if not callers.busy else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        caller.join(_HANG_GUARD)
