"""`RunRecorder`: the framework-neutral run -> episode state machine both adapters drive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from memory_core import (
    LESSONS_HEADER,
    ExecutionResult,
    InvalidInputError,
    LimitsConfig,
    MemoryConfig,
    RunRecorder,
    RunSummary,
    SelfLearningMemory,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
    clip_bytes,
    format_episode,
    format_lessons,
    format_pattern,
)


def _usage(inp: int, out: int) -> TokenUsage:
    return TokenUsage(input_tokens=inp, output_tokens=out, total_tokens=inp + out, llm_calls=1)


def test_a_run_becomes_one_episode(memory: SyncSelfLearningMemory) -> None:
    recorder = RunRecorder(memory, context={"domain": "web-api"}, task_type="debugging")

    episode_id = recorder.start_run("run-1", "Fix the login test", metadata={"source": "test"})
    assert episode_id is not None
    assert recorder.is_open("run-1")
    assert recorder.episode_id("run-1") == episode_id
    assert recorder.open_runs() == ["run-1"]
    assert recorder.open_episodes() == [episode_id]
    recorder.start_call("run-1", "c1", "pytest", "run the suite", {"path": "tests"}, {"id": "c1"})
    assert recorder.has_call("c1")
    recorder.end_call("c1", error=AssertionError("expected 200, got 401"))
    assert not recorder.has_call("c1")
    recorder.add_usage("run-1", _usage(10, 2))
    recorder.start_call("run-1", "c2", "editor")
    recorder.end_call("c2", "patched")
    recorder.add_usage("run-1", _usage(5, 1))

    episode = recorder.finish_run("run-1", final_response="  the test passes  ")

    assert episode is not None
    assert episode.episode_id == episode_id
    assert episode == memory.get_episode(episode_id)
    assert episode.task_description == "Fix the login test"
    assert episode.context.domain == "web-api"
    assert episode.task_type is TaskType.DEBUGGING
    assert episode.metadata == {"source": "test"}
    failed, fixed = episode.steps
    assert (failed.tool, failed.action, failed.parameters) == (
        "pytest",
        "run the suite",
        {"path": "tests"},
    )
    assert failed.error_message == "AssertionError: expected 200, got 401"
    assert failed.metadata == {"id": "c1"}
    assert (fixed.tool, fixed.action, fixed.result) == (
        "editor",
        "call editor",
        ExecutionResult.success("patched"),
    )
    assert [s.step_number for s in episode.steps] == [1, 2]
    assert all(s.latency_ms >= 0 for s in episode.steps)
    assert episode.token_usage == TokenUsage(
        input_tokens=15, output_tokens=3, total_tokens=18, llm_calls=2
    )
    assert episode.outcome == TaskOutcome.success("the test passes")
    assert recorder.last_episode == episode
    assert recorder.completed_episodes == [episode_id]
    assert recorder.open_runs() == []
    assert recorder.errors == 0
    # a finished run is forgotten: late events are ignored, a second finish is a no-op
    recorder.start_call("run-1", "late", "pytest")
    recorder.end_call("late", "ignored")
    recorder.add_usage("run-1", _usage(1, 1))
    assert recorder.finish_run("run-1") is None
    assert memory.get_episode(episode_id).steps == episode.steps


def test_calls_finishing_out_of_order_are_logged_in_start_order(
    memory: SyncSelfLearningMemory,
) -> None:
    recorder = RunRecorder(memory)
    episode_id = recorder.start_run(1, "run three tools in parallel")
    assert episode_id is not None
    for n in (1, 2, 3):
        recorder.start_call(1, f"call-{n}", f"tool-{n}", parameters={"n": n})

    recorder.end_call("call-3", "three")
    recorder.end_call("call-2", "two")
    assert memory.get_episode(episode_id).steps == []  # held back until call-1 is done
    recorder.end_call("call-1", "one")
    in_flight = memory.get_episode(episode_id)
    assert [s.tool for s in in_flight.steps] == ["tool-1", "tool-2", "tool-3"]

    recorder.start_call(1, "call-4", "tool-4")
    recorder.start_call(1, "call-5", "tool-5")
    recorder.end_call("call-5", "five")  # call-4 never finishes
    episode = recorder.finish_run(1, final_response="done")

    assert episode is not None
    assert [(s.tool, s.step_number) for s in episode.steps] == [
        ("tool-1", 1),
        ("tool-2", 2),
        ("tool-3", 3),
        ("tool-4", 4),
        ("tool-5", 5),
    ]
    assert [s.result.output if s.result else None for s in episode.steps[:3]] == [
        "one",
        "two",
        "three",
    ]
    assert [s.timestamp for s in episode.steps] == sorted(s.timestamp for s in episode.steps)
    assert episode.steps[3].error_message == "did not finish before the run ended"
    assert episode.steps[4].result == ExecutionResult.success("five")
    assert recorder.errors == 0


def test_concurrent_runs_from_threads_stay_separate(memory: SyncSelfLearningMemory) -> None:
    recorder = RunRecorder(memory)
    runs, calls = 6, 15
    barrier = threading.Barrier(runs)
    failures: list[BaseException] = []

    def agent(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            recorder.start_run(("run", n), f"concurrent task {n}", metadata={"n": str(n)})
            barrier.wait(timeout=30)  # every run is open before any call starts
            for i in range(calls):
                recorder.start_call(("run", n), (n, i), "add", parameters={"run": n, "i": i})
                recorder.add_usage(("run", n), _usage(n, i))
            for i in reversed(range(calls)):  # finish the calls last-started first
                recorder.end_call((n, i), str(n * 100 + i))
            recorder.finish_run(("run", n), final_response=f"answer {n}")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert recorder.errors == 0
    assert recorder.open_runs() == []
    assert len(recorder.completed_episodes) == runs
    for episode_id in recorder.completed_episodes:
        episode = memory.get_episode(episode_id)
        n = int(episode.metadata["n"])
        assert episode.task_description == f"concurrent task {n}"
        assert [s.parameters for s in episode.steps] == [{"run": n, "i": i} for i in range(calls)]
        assert [s.result.output if s.result else None for s in episode.steps] == [
            str(n * 100 + i) for i in range(calls)
        ]
        assert episode.token_usage is not None
        assert episode.token_usage.llm_calls == calls
        assert episode.token_usage.input_tokens == n * calls
        assert episode.token_usage.output_tokens == sum(range(calls))
        assert episode.outcome == TaskOutcome.success(f"answer {n}")


def test_outcome_precedence(memory: SyncSelfLearningMemory) -> None:
    seen: list[RunSummary] = []

    def judge(summary: RunSummary) -> TaskOutcome | None:
        seen.append(summary)
        if summary.final_response == "wrong":
            return TaskOutcome.failure("the answer is wrong")
        return None

    recorder = RunRecorder(memory, outcome_fn=judge)

    def run(key: str, **finish: Any) -> TaskOutcome | None:
        recorder.start_run(key, f"task {key}")
        recorder.start_call(key, f"{key}-call", "search")
        recorder.end_call(f"{key}-call", "found it")
        episode = recorder.finish_run(key, **finish)
        assert episode is not None
        return episode.outcome

    assert run("default", final_response="right") == TaskOutcome.success("right")
    assert run("judged", output={"raw": 1}, final_response="wrong") == TaskOutcome.failure(
        "the answer is wrong"
    )
    summary = seen[-1]
    assert summary.run_id == "judged"
    assert summary.task_description == "task judged"
    assert summary.output == {"raw": 1}
    assert [s.tool for s in summary.steps] == ["search"]
    assert summary.error is None
    assert not summary.cancelled
    calls = len(seen)
    adapter_verdict = TaskOutcome.failure("tool reported an error")
    assert run("adapter", final_response="wrong", outcome=adapter_verdict) == adapter_verdict
    assert len(seen) == calls  # an adapter's own verdict is not second-guessed

    recorder.start_run("override", "task override")
    with pytest.raises(InvalidInputError, match="not a valid outcome"):
        recorder.set_outcome({"kind": "success"})
    recorder.set_outcome({"kind": "abstained", "reason": "out of scope", "stopped_at_step": 0})
    episode = recorder.finish_run("override", final_response="wrong", outcome=adapter_verdict)
    assert episode is not None
    assert episode.outcome == TaskOutcome.abstained("out of scope", stopped_at_step=0)

    recorder.start_run("a", "task a")
    recorder.start_run("b", "task b")
    with pytest.raises(InvalidInputError, match="2 runs are being recorded"):
        recorder.set_outcome(TaskOutcome.success("which one?"))
    recorder.set_outcome(TaskOutcome.success("b is fine"), run_id="b")
    with pytest.raises(InvalidInputError, match="'nope' is not being recorded"):
        recorder.set_outcome(TaskOutcome.success("x"), run_id="nope")
    recorder.finish_run("a")
    recorder.finish_run("b")
    with pytest.raises(InvalidInputError, match="0 runs are being recorded"):
        recorder.set_outcome(TaskOutcome.success("too late"))
    assert memory.get_episode(recorder.completed_episodes[-1]).outcome == TaskOutcome.success(
        "b is fine"
    )


def test_failed_and_cancelled_runs(memory: SyncSelfLearningMemory) -> None:
    recorder = RunRecorder(memory)
    recorder.start_run("failed", "a run that raises")
    recorder.start_call("failed", "c1", "fetch")
    recorder.end_call("c1", error=TimeoutError())
    error = ValueError("boom(hi) failed")
    failed = recorder.finish_run("failed", error=error, final_response="ignored")

    assert failed is not None
    assert failed.outcome == TaskOutcome.failure(
        "ValueError: boom(hi) failed", error_details=repr(error)
    )
    assert failed.steps[0].error_message == "TimeoutError"

    recorder.start_run("cancelled", "a run that is cancelled")
    cancelled = recorder.finish_run("cancelled", cancelled=True)
    assert cancelled is not None
    assert cancelled.outcome == TaskOutcome.failure("the run was cancelled before it finished")

    recorder.start_run("silent", "a run without an answer")
    silent = recorder.finish_run("silent", final_response="   ")
    assert silent is not None
    assert silent.outcome == TaskOutcome.success("the run finished")
    assert silent.token_usage is None
    assert recorder.errors == 0


@pytest.fixture
def small_memory(sqlite_url: str, namespace: str) -> Iterator[SyncSelfLearningMemory]:
    """A memory with tiny size limits."""
    limits = LimitsConfig(
        max_description_bytes=60,
        max_step_output_bytes=80,
        max_parameters_bytes=200,
        max_steps_per_episode=3,
    )
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, limits=limits)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        yield memory


def test_everything_is_clipped_to_the_memory_limits(
    small_memory: SyncSelfLearningMemory,
) -> None:
    recorder = RunRecorder(small_memory)
    assert recorder.max_output_bytes == 80
    episode_id = recorder.start_run("long", "é" * 100)
    assert episode_id is not None
    recorder.start_call("long", 1, "t" * 600, "  ", {"blob": "x" * 1000})
    recorder.start_call("long", 2, "", parameters={"ok": 1})
    recorder.start_call("long", 3, "error")
    for n in range(4, 8):
        recorder.start_call("long", n, f"extra-{n}")
    recorder.end_call(1, "y" * 500)
    recorder.end_call(2, ExecutionResult.success("z" * 500))
    recorder.end_call(3, error=RuntimeError("w" * 500))
    for n in range(4, 8):
        recorder.end_call(n, "beyond the step limit")
    episode = recorder.finish_run("long", final_response="v" * 5000)

    assert recorder.errors == 0
    assert episode is not None
    assert len(episode.task_description.encode()) <= 60
    assert episode.task_description.endswith("[truncated]")
    first, second, third = episode.steps
    assert first.tool == "t" * 500
    assert first.action == f"call {'t' * 500}"
    assert list(first.parameters) == ["truncated"]  # the clipped JSON of the parameters
    assert first.parameters["truncated"].startswith('{"blob":"xxx')
    assert second.tool == "unknown-tool"
    assert second.parameters == {"ok": 1}
    for step in episode.steps:
        text = (step.result.output or step.result.message) if step.result else None
        assert text is not None
        assert len(text.encode()) <= 80
        assert text.endswith("[truncated]")
    assert third.error_message is not None
    assert third.error_message.startswith("RuntimeError: www")
    assert episode.metadata["dropped_steps"] == "4"
    assert episode.outcome is not None
    assert episode.outcome.verdict is not None
    assert len(episode.outcome.verdict.encode()) <= 1000


def test_recording_errors_are_counted_never_raised(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    memory = SyncSelfLearningMemory(config, namespace=namespace)
    recorder = RunRecorder(memory, outcome_fn=lambda summary: 1 / 0)  # type: ignore[arg-type, return-value]
    recorder.start_run("judged", "the outcome function fails")
    episode = recorder.finish_run("judged", final_response="fine")
    assert episode is not None
    assert episode.outcome == TaskOutcome.success("fine")  # the default is used
    assert recorder.errors == 1
    assert isinstance(recorder.last_error, ZeroDivisionError)

    recorder.start_run("open", "in flight when the memory closes")
    recorder.start_call("open", "c1", "tool")
    assert recorder.start_run("open", "the same run twice") is None
    assert recorder.errors == 2
    memory.close()
    recorder.end_call("c1", "the step cannot be logged")
    assert recorder.finish_run("open") is None
    assert recorder.start_run("next", "cannot start") is None
    assert recorder.errors == 6  # the step, outcome_fn again, the completion, the start
    assert isinstance(recorder.last_error, InvalidInputError)
    assert "closed" in str(recorder.last_error)
    first = recorder.take_first_error()
    assert isinstance(first, ZeroDivisionError)
    assert recorder.take_first_error() is None
    assert recorder.completed_episodes == [episode.episode_id]

    adapter_error = KeyError("a conversion failed")
    recorder.failed(adapter_error, "on_tool_end")
    assert recorder.errors == 7
    assert recorder.last_error is adapter_error


def test_strict_recorder_raises_after_completing(memory: SyncSelfLearningMemory) -> None:
    def broken(summary: RunSummary) -> TaskOutcome:
        raise RuntimeError("outcome function is broken")

    recorder = RunRecorder(memory, outcome_fn=broken, strict=True)
    recorder.start_run("run", "strict run")
    with pytest.raises(RuntimeError, match="outcome function is broken") as raised:
        recorder.finish_run("run", final_response="fine")
    assert recorder.errors == 1
    [episode_id] = recorder.completed_episodes  # the episode was completed before raising
    assert memory.get_episode(episode_id).outcome == TaskOutcome.success("fine")

    # an adapter guard handing the re-raised error back does not count it twice
    with pytest.raises(RuntimeError):
        recorder.failed(raised.value, "adapter guard")
    assert recorder.errors == 1
    with pytest.raises(KeyError):
        recorder.failed(KeyError("new"), "adapter guard")
    assert recorder.errors == 2


def test_either_facade_and_bad_arguments(sqlite_url: str, namespace: str) -> None:
    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    memory = SelfLearningMemory(config, namespace=namespace)
    try:
        recorder = RunRecorder(memory, context=TaskContext(language="python"))
        assert isinstance(recorder.memory, SyncSelfLearningMemory)
        recorder.start_run("r", "async facade", context={"domain": "cli"}, task_type="testing")
        recorder.start_run("w", "another run", metadata={"run_id": "workflow-7"})
        assert recorder.find_run("run_id", "workflow-7") == "w"
        assert recorder.find_run("run_id", "unknown") is None
        episode = recorder.finish_run("r")
        assert episode is not None
        assert episode.context.domain == "cli"
        assert episode.context.language is None  # a run's own context replaces the default
        assert episode.task_type is TaskType.TESTING
        assert recorder.finish_run("w") is not None
    finally:
        memory.sync.close()

    with pytest.raises(InvalidInputError, match="SelfLearningMemory"):
        RunRecorder(object())  # type: ignore[arg-type]
    with SyncSelfLearningMemory(config, namespace=namespace) as sync:
        with pytest.raises(InvalidInputError, match="context or task type"):
            RunRecorder(sync, context={"complexity": "galactic"})
        with pytest.raises(InvalidInputError, match="context or task type"):
            RunRecorder(sync, task_type="juggling")


def test_format_lessons_and_clip_bytes(memory: SyncSelfLearningMemory) -> None:
    assert format_lessons([], []) == ""
    recorder = RunRecorder(memory, context={"domain": "math"})
    recorder.start_run("r", "add 2 and 3")
    recorder.start_call("r", "c", "add", parameters={"a": 2, "b": 3})
    recorder.end_call("c", "5")
    episode = recorder.finish_run("r", final_response="5")
    assert episode is not None
    memory.wait_for_learning()
    found = memory.search_episodes("add 2 and 3", {"domain": "math"}, 1)
    patterns = memory.search_patterns({"domain": "math"}, 2)
    assert found
    assert patterns

    text = format_lessons(found, patterns)

    assert text.startswith(LESSONS_HEADER + "\n\n[1] Past task (other): add 2 and 3")
    assert f"[1] {format_episode(episode)}" in text
    lines = "\n".join(f"- {format_pattern(r.pattern)}" for r in patterns)
    assert text.endswith(f"\n\nLearned patterns:\n{lines}")
    assert format_lessons([episode], [r.pattern for r in patterns]) == text
    assert format_lessons([], patterns[:1]) == (
        f"{LESSONS_HEADER}\n\nLearned patterns:\n- {format_pattern(patterns[0].pattern)}"
    )

    assert clip_bytes("short", 10) == "short"
    clipped = clip_bytes("é" * 100, 40)
    assert len(clipped.encode()) <= 40
    assert clipped.endswith(" …[truncated]")
    assert clip_bytes("abcdef", 4) == "abcd"
