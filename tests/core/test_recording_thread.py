"""`RunRecorder(background=True)`: steps and completions written on the recording thread.

The caller only keeps the run's state; the memory waits for the recording thread before it
reads, searches, logs, completes, flushes or closes, so what the caller sees is what an
inline recorder gives.
"""

from __future__ import annotations

import threading
from typing import Any

from memory_core import (
    ExecutionStep,
    MemoryConfig,
    RunRecorder,
    RunSummary,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    hookimpl,
)
from memory_core.storage import EpisodeQuery

SLOW_FLUSH = {"flush_interval_ms": 60_000}  # only flush(), close() and reads write


class WhereItRuns:
    """Notes the thread each lifecycle event of the memory ran on."""

    def __init__(self) -> None:
        self.threads: dict[str, str] = {}

    @hookimpl
    def step_logged(self, episode_id: Any, step: Any, namespace: str) -> None:
        self.threads["step"] = threading.current_thread().name

    @hookimpl
    def episode_completed(self, episode: Any, namespace: str) -> None:
        self.threads["complete"] = threading.current_thread().name


def _run(recorder: RunRecorder, key: str, task: str, calls: int = 2) -> None:
    recorder.start_run(key, task)
    for i in range(calls):
        recorder.start_call(key, f"{key}-c{i}", "pytest", f"run part {i}", {"part": i})
        recorder.add_tokens(key, 10, 2)
        recorder.end_call(f"{key}-c{i}", f"part {i} passes")


def test_writes_happen_on_the_recording_thread_and_reads_wait_for_them(
    sqlite_url: str, namespace: str
) -> None:
    where = WhereItRuns()
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace, plugins=[where]) as memory:
        recorder = RunRecorder(memory, context={"domain": "web-api"}, background=True)
        assert recorder.background
        _run(recorder, "run-1", "Fix the failing login test")

        assert recorder.finish_run("run-1", final_response="fixed") is None
        # no drain: the search itself waits for the queued completion
        [found] = memory.search_episodes("Fix the failing login test", TaskContext())
        episode = found.episode
        assert episode.is_complete
        assert [s.step_number for s in episode.steps] == [1, 2]
        assert [s.result.output for s in episode.steps] == ["part 0 passes", "part 1 passes"]
        assert episode.token_usage is not None
        assert (episode.token_usage.total_tokens, episode.token_usage.llm_calls) == (24, 2)
        assert episode.outcome is not None
        assert episode.outcome.verdict == "fixed"
        stored = memory.get_episode(episode.episode_id)  # with what learning added since
        assert (stored.outcome, stored.steps) == (episode.outcome, episode.steps)
        assert recorder.last_episode is not None
        assert recorder.last_episode.episode_id == episode.episode_id
        assert recorder.completed_episodes == [episode.episode_id]
        assert recorder.errors == 0
    assert where.threads == {"step": "memory-core-recording", "complete": "memory-core-recording"}


def test_strict_recorders_write_in_the_caller(sqlite_url: str, namespace: str) -> None:
    where = WhereItRuns()
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace, plugins=[where]) as memory:
        recorder = RunRecorder(memory, strict=True, background=True)
        assert not recorder.background
        _run(recorder, "run-1", "Fix the failing login test")
        episode = recorder.finish_run("run-1")
        assert episode is not None
        assert episode.is_complete
    caller = threading.current_thread().name
    assert where.threads == {"step": caller, "complete": caller}


def test_close_makes_every_recorded_run_durable_and_learned(
    sqlite_url: str, namespace: str
) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, **SLOW_FLUSH)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        recorder = RunRecorder(memory, background=True)
        for i in range(20):
            _run(recorder, f"run-{i}", f"Fix the failing login test {i}", calls=3)
            recorder.finish_run(f"run-{i}", final_response="fixed")
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        assert store.count_episodes(namespace, completed=True) == 20
        assert store.unlearned_episode_ids(namespace) == []
        stored = store.list_episodes(namespace, EpisodeQuery(limit=None))
        assert sorted(len(e.steps) for e in stored) == [3] * 20
        assert {e.token_usage.llm_calls for e in stored if e.token_usage} == {3}
    finally:
        store.close()


def test_steps_of_a_run_in_flight_are_stored_before_it_ends(
    sqlite_url: str, namespace: str
) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, **SLOW_FLUSH)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        recorder = RunRecorder(memory, background=True)
        _run(recorder, "run-1", "Fix the failing login test")
        episode_id = recorder.episode_id("run-1")
        assert episode_id is not None
        memory.flush()  # waits for the queued steps, then writes them
        store = SQLAlchemyEpisodeStore(sqlite_url)
        try:
            in_flight = store.get_episode(namespace, episode_id)
            assert in_flight is not None
            assert not in_flight.is_complete
            assert len(in_flight.steps) == 2
        finally:
            store.close()
        recorder.finish_run("run-1")


def test_a_step_logged_by_hand_comes_after_the_recorded_ones(
    sqlite_url: str, namespace: str
) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        recorder = RunRecorder(memory, background=True)
        _run(recorder, "run-1", "Fix the failing login test")
        episode_id = recorder.episode_id("run-1")
        assert episode_id is not None
        memory.log_step(episode_id, ExecutionStep(tool="git", action="commit the fix"))
        recorder.finish_run("run-1")
        steps = memory.get_episode(episode_id).steps
        assert [(s.step_number, s.tool) for s in steps] == [
            (1, "pytest"),
            (2, "pytest"),
            (3, "git"),
        ]


def test_outcome_fn_sees_every_step_and_the_token_usage(sqlite_url: str, namespace: str) -> None:
    seen: list[RunSummary] = []

    def judge(summary: RunSummary) -> TaskOutcome:
        seen.append(summary)
        return TaskOutcome.partial_success(f"{len(summary.steps)} steps", ["tests"], ["docs"])

    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        recorder = RunRecorder(memory, outcome_fn=judge, background=True)
        _run(recorder, "run-1", "Fix the failing login test", calls=3)
        recorder.finish_run("run-1")
        [summary] = seen
        assert [s.tool for s in summary.steps] == ["pytest"] * 3
        assert summary.token_usage is not None
        assert summary.token_usage.llm_calls == 3
        episode = recorder.last_episode
        assert episode is not None
        assert episode.outcome is not None
        assert episode.outcome.verdict == "3 steps"


def test_errors_on_the_recording_thread_are_counted(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    memory = SyncSelfLearningMemory(config, namespace=namespace)
    recorder = RunRecorder(memory, background=True)
    _run(recorder, "run-1", "Fix the failing login test")
    memory.close()  # the queued steps are written first
    recorder.finish_run("run-1")  # too late: the memory is closed
    assert recorder.errors == 1
    assert "closed" in str(recorder.last_error)
    assert recorder.last_episode is None
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        [episode] = store.list_episodes(namespace, EpisodeQuery(limit=None))
        assert len(episode.steps) == 2
        assert not episode.is_complete
    finally:
        store.close()
