"""Plugins: hooks called with inline plugin classes, registered and unregistered per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from memory_core import (
    ConfigurationError,
    DecisionPoint,
    Episode,
    EpisodeNotFoundError,
    ExecutionResult,
    ExecutionStep,
    LearningConfig,
    MemoryConfig,
    OutcomeStats,
    Pattern,
    PluginError,
    RetrievedEpisode,
    RewardScore,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    hookimpl,
    make_plugin_manager,
)


def _run_episode(
    memory: SyncSelfLearningMemory, task: str = "Fix the login bug", slow: bool = False
) -> Episode:
    eid = memory.start_episode(task, TaskContext(domain="web", language="python"))
    latency = 2_500.0 if slow else 10.0
    for tool in ("grep", "editor", "pytest"):
        memory.log_step(
            eid,
            ExecutionStep(
                tool=tool,
                action=f"use {tool}",
                result=ExecutionResult.success("ok"),
                latency_ms=latency,
            ),
        )
    episode = memory.complete_episode(eid, TaskOutcome.success("fixed"))
    memory.wait_for_learning()
    return episode


class Observer:
    """Counts lifecycle events."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.learned: list[list[Pattern]] = []

    @hookimpl
    def episode_started(self, episode: Episode, namespace: str) -> None:
        self.events.append("started")

    @hookimpl
    def step_logged(self, episode_id: UUID, step: ExecutionStep, namespace: str) -> None:
        self.events.append(f"step:{step.step_number}")

    @hookimpl
    def episode_completed(self, episode: Episode, namespace: str) -> None:
        self.events.append("completed")

    @hookimpl
    def patterns_learned(
        self, episode: Episode, patterns: Sequence[Pattern], namespace: str
    ) -> None:
        self.events.append("learned")
        self.learned.append(list(patterns))


class MarkerExtractor:
    name = "test.marker"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        return [
            DecisionPoint(
                condition=f"marker for {episode.context.domain}",
                action="use the marker",
                context=episode.context,
                evidence=[episode.episode_id],
                outcome_stats=OutcomeStats(success_count=1, total_count=1),
            )
        ]


class ExtractorPlugin:
    def __init__(self, *extractors: Any) -> None:
        self.extractors = extractors

    @hookimpl
    def register_pattern_extractors(self, register: Callable[[Any], None]) -> None:
        for extractor in self.extractors:
            register(extractor)


class BrokenExtractor:
    name = "test.broken"

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        raise RuntimeError("extractor exploded")


@pytest.fixture
def plain_config(sqlite_url: str) -> MemoryConfig:
    return MemoryConfig(database_url=sqlite_url, load_plugins=False)


@pytest.fixture
def mem(plain_config: MemoryConfig) -> Iterator[SyncSelfLearningMemory]:
    with SyncSelfLearningMemory(plain_config) as memory:
        yield memory


def test_builtins_are_plugins() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    assert pm.get_plugin("memory_core.builtins") is not None
    hooks = {
        name
        for name in (
            "make_episode_store",
            "compute_reward",
            "register_pattern_extractors",
            "rerank_episodes",
        )
        if getattr(pm.hook, name).get_hookimpls()
    }
    assert hooks == {
        "make_episode_store",
        "compute_reward",
        "register_pattern_extractors",
        "rerank_episodes",
    }


def test_builtin_extractors_come_through_the_hook(mem: SyncSelfLearningMemory) -> None:
    names = [e.name for e in mem.engine.plugins.extractors()]
    assert len(names) >= 4
    assert len(set(names)) == len(names)


def test_misspelt_hook_fails_loudly_with_plugin_name() -> None:
    class Typo:
        @hookimpl
        def episode_startd(self, episode: Episode) -> None:  # misspelt on purpose
            pass

    with pytest.raises(PluginError, match="Typo") as info:
        make_plugin_manager(load_entrypoints=False, plugins=[Typo()])
    assert "episode_startd" in str(info.value)


def test_misspelt_hook_in_memory_plugins_fails(sqlite_url: str) -> None:
    class Typo:
        @hookimpl
        def episode_complete(self, episode: Episode) -> None:  # misspelt on purpose
            pass

    config = MemoryConfig(database_url=sqlite_url, load_plugins=False)
    with pytest.raises(PluginError, match="episode_complete"):
        SyncSelfLearningMemory(config, plugins=[Typo()])


def test_inline_plugin_observes_lifecycle(mem: SyncSelfLearningMemory) -> None:
    observer = Observer()
    mem.plugin_manager.register(observer, name="observer")
    try:
        _run_episode(mem)
    finally:
        mem.plugin_manager.unregister(name="observer")
    assert observer.events[:5] == ["started", "step:1", "step:2", "step:3", "completed"]
    assert observer.events[-1] == "learned"
    assert observer.learned
    assert all(p.pattern_id for p in observer.learned[0])
    _run_episode(mem, "Another task")
    assert observer.events.count("started") == 1  # unregistered: no more events


def test_plugins_are_per_memory(plain_config: MemoryConfig) -> None:
    observer = Observer()
    with (
        SyncSelfLearningMemory(plain_config, namespace="a", plugins=[observer]) as with_plugin,
        SyncSelfLearningMemory(plain_config, namespace="b") as without,
    ):
        _run_episode(without)
        assert observer.events == []
        _run_episode(with_plugin)
        assert "completed" in observer.events


def test_custom_extractor_patterns_stored_and_retrieved(mem: SyncSelfLearningMemory) -> None:
    plugin = ExtractorPlugin(MarkerExtractor())
    mem.plugin_manager.register(plugin, name="marker")
    try:
        episode = _run_episode(mem)
    finally:
        mem.plugin_manager.unregister(name="marker")
    markers = [
        p for p in mem.list_patterns(kind="decision_point") if p.condition == "marker for web"
    ]
    assert len(markers) == 1
    assert episode.episode_id in markers[0].evidence
    retrieved = mem.retrieve_relevant_patterns(
        TaskContext(domain="web", language="python"), limit=50
    )
    assert markers[0].pattern_id in {p.pattern_id for p in retrieved}
    assert markers[0].pattern_id in mem.get_episode(episode.episode_id).pattern_ids


def test_raising_extractor_is_isolated_and_counted(mem: SyncSelfLearningMemory) -> None:
    mem.plugin_manager.register(ExtractorPlugin(BrokenExtractor(), MarkerExtractor()), name="mixed")
    try:
        episode = _run_episode(mem)
    finally:
        mem.plugin_manager.unregister(name="mixed")
    stored = mem.get_episode(episode.episode_id)
    assert stored.is_complete
    assert any(getattr(p, "condition", "") == "marker for web" for p in mem.list_patterns())
    assert mem.engine.learning.extractor_errors == {"test.broken": 1}
    assert mem.stats().learning.failed == 0


def test_raising_reward_wrapper_names_plugin_and_stores_nothing(
    mem: SyncSelfLearningMemory,
) -> None:
    class BadReward:
        @hookimpl(wrapper=True)
        def compute_reward(self, episode: Episode, config: MemoryConfig) -> Any:
            yield
            raise ValueError("bad reward maths")

    mem.plugin_manager.register(BadReward(), name="bad-reward")
    try:
        eid = mem.start_episode("Some task")
        mem.log_step(eid, ExecutionStep(tool="t", action="a", result=ExecutionResult.success("ok")))
        with pytest.raises(PluginError, match="bad-reward") as info:
            mem.complete_episode(eid, TaskOutcome.success("ok"))
        assert "bad reward maths" in str(info.value)
        assert not mem.get_episode(eid).is_complete
        assert mem.list_episodes(completed=True) == []
    finally:
        mem.plugin_manager.unregister(name="bad-reward")
    assert mem.complete_episode(eid, TaskOutcome.success("ok")).is_complete


def test_reward_wrapper_adjusts_reward(mem: SyncSelfLearningMemory) -> None:
    class Double:
        @hookimpl(wrapper=True)
        def compute_reward(self, episode: Episode, config: MemoryConfig) -> Any:
            reward: RewardScore = yield
            return reward.model_copy(
                update={"total": reward.total * 2, "effective_reward": reward.total * 2}
            )

    plain = _run_episode(mem, "Baseline task")
    mem.plugin_manager.register(Double(), name="double")
    try:
        doubled = _run_episode(mem, "Baseline task")
    finally:
        mem.plugin_manager.unregister(name="double")
    assert plain.reward is not None
    assert doubled.reward is not None
    assert doubled.reward.total == pytest.approx(2 * plain.reward.total, rel=0.05)


def test_reflection_items_are_added(mem: SyncSelfLearningMemory) -> None:
    class Extra:
        @hookimpl
        def reflection_items(self, episode: Episode) -> dict[str, list[str]]:
            return {"insights": [f"Plugin insight for {episode.context.domain}."]}

    mem.plugin_manager.register(Extra(), name="extra")
    try:
        episode = _run_episode(mem)
    finally:
        mem.plugin_manager.unregister(name="extra")
    assert episode.reflection is not None
    assert "Plugin insight for web." in episode.reflection.insights


def test_rerank_wrapper_reorders_results(mem: SyncSelfLearningMemory) -> None:
    for task in ("Fix the login bug", "Fix the logout bug", "Fix the signup bug"):
        _run_episode(mem, task)
    context = TaskContext(domain="web", language="python")
    baseline = [r.episode.episode_id for r in mem.search_episodes("Fix the bug", context, limit=3)]
    assert len(baseline) >= 2

    class Reverse:
        @hookimpl(wrapper=True)
        def rerank_episodes(self, task_description: str, context: TaskContext, results: Any) -> Any:
            ranked: list[RetrievedEpisode] = yield
            return list(reversed(ranked))

    mem.plugin_manager.register(Reverse(), name="reverse")
    try:
        reranked = [
            r.episode.episode_id for r in mem.search_episodes("Fix the bug", context, limit=3)
        ]
    finally:
        mem.plugin_manager.unregister(name="reverse")
    assert reranked == list(reversed(baseline))


def test_failing_observer_does_not_break_memory(mem: SyncSelfLearningMemory) -> None:
    class Exploding:
        @hookimpl
        def episode_completed(self, episode: Episode, namespace: str) -> None:
            raise RuntimeError("observer bug")

    observer = Observer()
    mem.plugin_manager.register(Exploding(), name="exploding")
    mem.plugin_manager.register(observer, name="observer")
    try:
        episode = _run_episode(mem)
    finally:
        mem.plugin_manager.unregister(name="exploding")
        mem.plugin_manager.unregister(name="observer")
    assert mem.get_episode(episode.episode_id).is_complete
    assert "completed" in observer.events
    assert mem.engine.plugins.errors == {"exploding": 1}


class SchemeStorePlugin:
    """Serves ``myscheme://NAME`` from a SQLite file NAME.db in a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.opened: list[str] = []

    @hookimpl
    def make_episode_store(self, url: str, config: MemoryConfig) -> SQLAlchemyEpisodeStore | None:
        if not url.startswith("myscheme://"):
            return None
        self.opened.append(url)
        name = url.removeprefix("myscheme://")
        return SQLAlchemyEpisodeStore(f"sqlite:///{self.directory / name}.db")


def test_plugin_store_selected_by_url_scheme(tmp_path: Path) -> None:
    plugin = SchemeStorePlugin(tmp_path)
    config = MemoryConfig(database_url="myscheme://teamdb", load_plugins=False)
    with SyncSelfLearningMemory(config, plugins=[plugin]) as memory:
        episode = _run_episode(memory)
    assert plugin.opened == ["myscheme://teamdb"]
    assert (tmp_path / "teamdb.db").exists()
    with SyncSelfLearningMemory(
        MemoryConfig(database_url=f"sqlite:///{tmp_path / 'teamdb.db'}")
    ) as again:
        assert again.get_episode(episode.episode_id).is_complete


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="nosuch"):
        SyncSelfLearningMemory(MemoryConfig(database_url="nosuch://x", load_plugins=False))


class HashEmbedder:
    name = "test-hash"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(len(t) % 7), float(sum(map(ord, t)) % 11), 1.0] for t in texts]


def test_embedder_registered_by_plugin_and_selected_by_name(sqlite_url: str) -> None:
    created: list[HashEmbedder] = []

    class EmbedderPlugin:
        @hookimpl
        def register_embedders(self, register: Callable[[str, Callable[[], Any]], None]) -> None:
            def factory() -> HashEmbedder:
                created.append(HashEmbedder())
                return created[-1]

            register("hash", factory)

    config = MemoryConfig(database_url=sqlite_url, load_plugins=False, embedder="hash")
    with SyncSelfLearningMemory(config, plugins=[EmbedderPlugin()]) as memory:
        _run_episode(memory)
    assert len(created) == 1
    with pytest.raises(ConfigurationError, match="no embedder named 'missing'"):
        SyncSelfLearningMemory(
            MemoryConfig(database_url=sqlite_url, load_plugins=False, embedder="missing"),
            plugins=[EmbedderPlugin()],
        )


def test_namespace_unknown_episode_still_raises_with_plugins(mem: SyncSelfLearningMemory) -> None:
    mem.plugin_manager.register(Observer(), name="observer")
    try:
        with pytest.raises(EpisodeNotFoundError):
            mem.get_episode(UUID(int=1))
    finally:
        mem.plugin_manager.unregister(name="observer")
