"""Rule-based reflection: readable, bounded, deterministic."""

from __future__ import annotations

from collections.abc import Callable

from memory_core import Episode, TaskOutcome, TokenUsage
from memory_core.learning import Reflector

BuildEpisode = Callable[..., Episode]


def _sentences(items: list[str]) -> None:
    for item in items:
        assert item[0].isupper() or item[0].isdigit(), item
        assert item.endswith("."), item


def test_failed_episode_yields_improvements(build: BuildEpisode) -> None:
    steps = [("pytest", "run tests", False), ("pytest", "run tests again", False)]
    episode = build(
        steps, TaskOutcome.failure("tests keep failing"), errors=["AssertionError: 1 != 2"]
    )
    reflection = Reflector().reflect(episode)
    assert reflection.improvements
    assert reflection.improvements[0] == "The task failed: tests keep failing."
    assert "Reduce failed steps (2 of 2 failed)." in reflection.improvements
    assert "The tool pytest failed 2 times; check its inputs or try another tool." in (
        reflection.improvements
    )
    assert any("same error repeated 2 times" in i for i in reflection.improvements)
    _sentences(reflection.improvements)


def test_failure_without_steps_still_has_an_improvement(build: BuildEpisode) -> None:
    reflection = Reflector().reflect(build([], TaskOutcome.failure("nothing worked")))
    assert reflection.improvements == ["The task failed: nothing worked."]


def test_successful_episode(build: BuildEpisode) -> None:
    steps = [("read", "read", True), ("edit", "fix", True), ("test", "run", True)]
    reflection = Reflector().reflect(build(steps, TaskOutcome.success("done", ["patch.diff"])))
    assert reflection.successes[0] == "Completed the task: done (1 artifact produced)."
    assert "Effective tool sequence: read → edit → test." in reflection.successes
    assert reflection.improvements == []
    assert "Task in the web-api domain with moderate complexity." in reflection.insights
    _sentences(reflection.successes + reflection.insights)


def test_lists_are_capped_at_five(build: BuildEpisode) -> None:
    steps = [(f"tool{i % 7}", f"action {i}", i % 3 != 0) for i in range(60)]
    episode = build(steps, TaskOutcome.partial_success("some", ["a"], ["b", "c"]), seconds=900)
    episode.token_usage = TokenUsage(total_tokens=50_000)
    reflection = Reflector().reflect(episode)
    for items in (reflection.successes, reflection.improvements, reflection.insights):
        assert 0 < len(items) <= 5
        assert len(set(items)) == len(items)


def test_reflection_is_deterministic(build: BuildEpisode) -> None:
    episode = build([("a", "x", False), ("b", "y", True), ("b", "z", True)])
    assert Reflector().reflect(episode) == Reflector().reflect(episode)
    assert Reflector().reflect(episode).generated_at == episode.end_time


def test_abstention_is_explained(build: BuildEpisode) -> None:
    episode = build(
        [("probe", "check access", True)],
        TaskOutcome.abstained("no credentials", 1, ["401 on every endpoint"]),
    )
    insight = Reflector().reflect(episode).insights[0]
    assert insight == "Stopped at step 1: no credentials (signals: 401 on every endpoint)."
