"""Property tests over random valid episodes: ranges, determinism, storage round-trips."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_core import (
    ComplexityLevel,
    ContextPattern,
    DecisionPoint,
    Episode,
    ExecutionResult,
    ExecutionStep,
    LearningConfig,
    Pattern,
    SQLAlchemyEpisodeStore,
    TaskContext,
    TaskOutcome,
    TaskType,
    ToolSequence,
)
from memory_core.learning import (
    Reflector,
    RewardScorer,
    default_extractors,
    extract_patterns,
    heuristic_candidates,
)
from memory_core.learning.similarity import (
    pattern_shape,
    pattern_similarity,
    shape_bound,
    similarity_key,
)
from memory_core.models import utcnow

TOOLS = ["pytest", "editor", "shell", "http", "db", "grep", "git"]
ACTIONS = [
    "check if the build passes",
    "run analysis",
    "verify the fix",
    "apply the patch",
    "read 'config.yaml'",
    "validate input 42",
    "is the port open",
    "write tests",
]
ERRORS = [
    "AssertionError: expected 200, got 401",
    "FileNotFoundError: '/tmp/x1.txt'",
    "TimeoutError after 30 s",
    "KeyError: 0xbeef",
]

results = st.one_of(
    st.none(),
    st.builds(ExecutionResult.success, st.sampled_from(["ok", "done", ""])),
    st.builds(ExecutionResult.error, st.sampled_from(ERRORS)),
    st.just(ExecutionResult.timeout()),
)
steps = st.lists(
    st.tuples(
        st.sampled_from(TOOLS),
        st.sampled_from(ACTIONS),
        results,
        st.floats(0, 20_000),
        st.one_of(st.none(), st.integers(0, 5_000)),
    ),
    max_size=40,
)
outcomes = st.one_of(
    st.builds(
        TaskOutcome.success,
        st.just("done"),
        st.lists(st.sampled_from(["a.py", "test_a.py"]), max_size=4),
    ),
    st.builds(
        TaskOutcome.partial_success,
        st.just("half"),
        st.lists(st.just("x"), max_size=3),
        st.lists(st.just("y"), max_size=3),
    ),
    st.builds(TaskOutcome.failure, st.just("broken")),
    st.builds(TaskOutcome.abstained, st.just("infeasible"), st.integers(0, 20)),
)
contexts = st.builds(
    TaskContext,
    language=st.sampled_from([None, "python", "rust"]),
    framework=st.sampled_from([None, "fastapi"]),
    domain=st.sampled_from(["web-api", "data", "general"]),
    complexity=st.sampled_from(list(ComplexityLevel)),
    tags=st.lists(st.sampled_from(["auth", "db", "ci", "perf"]), max_size=3, unique=True),
)


@st.composite
def episodes(draw: st.DrawFn) -> Episode:
    start = utcnow()
    raw = draw(steps)
    metadata = draw(
        st.dictionaries(
            st.sampled_from(["test_coverage", "clippy_warnings", "note"]),
            st.sampled_from(["0", "55", "61", "80", "99.5", "n/a"]),
            max_size=2,
        )
    )
    return Episode(
        episode_id=draw(st.uuids(version=4)),
        task_type=draw(st.sampled_from(list(TaskType))),
        task_description="property task",
        context=draw(contexts),
        start_time=start,
        end_time=start + timedelta(seconds=draw(st.floats(0, 5_000))),
        steps=[
            ExecutionStep(
                step_number=i, tool=t, action=a, result=r, latency_ms=lat, tokens_used=tok
            )
            for i, (t, a, r, lat, tok) in enumerate(raw, 1)
        ],
        outcome=draw(outcomes),
        metadata=metadata,
    )


@given(episodes())
def test_reward_components_stay_in_range(episode: Episode) -> None:
    score = RewardScorer().score(episode)
    assert 0.0 <= score.base <= 1.0
    assert -0.3 <= score.abstention_score <= 0.5
    assert 0.5 <= score.efficiency <= 1.5
    assert score.complexity_bonus in (1.0, 1.1, 1.2)
    assert 0.5 <= score.quality_multiplier <= 1.5
    assert 0.0 <= score.learning_bonus <= 0.5
    assert 0.0 <= score.total <= 1.5 * 1.5 * 1.2 * 1.5 + 0.5
    if episode.outcome is not None and episode.outcome.kind == "failure":
        assert score.total <= 0.5


@given(episodes())
def test_extraction_and_reflection_are_deterministic(episode: Episode) -> None:
    config = LearningConfig()
    patterns = extract_patterns(episode, config, default_extractors())
    assert patterns == extract_patterns(episode.model_copy(deep=True), config, default_extractors())
    assert heuristic_candidates(episode) == heuristic_candidates(episode.model_copy(deep=True))
    reflection = Reflector().reflect(episode)
    assert reflection == Reflector().reflect(episode.model_copy(deep=True))
    assert all(
        len(items) <= 5
        for items in (reflection.successes, reflection.improvements, reflection.insights)
    )
    for pattern in patterns:
        assert 0.0 <= pattern.success_rate <= 1.0
        assert pattern.evidence == [episode.episode_id]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(episodes())
def test_every_pattern_round_trips_through_the_store(
    store: SQLAlchemyEpisodeStore, episode: Episode
) -> None:
    namespace = f"p-{uuid.uuid4().hex[:12]}"
    patterns = extract_patterns(episode, LearningConfig(), default_extractors())
    stored = store.merge_patterns(namespace, None, patterns, lambda new, known: None)
    assert stored == patterns
    read = {
        p.pattern_id: p for p in store.get_patterns(namespace, [p.pattern_id for p in patterns])
    }
    assert read == {p.pattern_id: p for p in patterns}
    listed = store.list_patterns(namespace)
    assert sorted(listed, key=lambda p: str(p.pattern_id)) == sorted(
        patterns, key=lambda p: str(p.pattern_id)
    )
    heuristics = heuristic_candidates(episode)
    assert store.merge_heuristics(namespace, heuristics, lambda new, known: None) == heuristics
    assert sorted(store.list_heuristics(namespace), key=lambda h: str(h.heuristic_id)) == sorted(
        heuristics, key=lambda h: str(h.heuristic_id)
    )


def test_all_four_kinds_round_trip(store: SQLAlchemyEpisodeStore, namespace: str) -> None:
    start = utcnow()
    episode = Episode(
        task_description="all kinds",
        context=TaskContext(language="python", tags=["auth"]),
        start_time=start,
        end_time=start + timedelta(seconds=3),
        steps=[
            ExecutionStep(
                step_number=1, tool="pytest", action="run", result=ExecutionResult.error("E: 1")
            ),
            ExecutionStep(
                step_number=2,
                tool="editor",
                action="check if fixed",
                result=ExecutionResult.success("ok"),
            ),
            ExecutionStep(
                step_number=3, tool="pytest", action="rerun", result=ExecutionResult.success("ok")
            ),
            ExecutionStep(
                step_number=4, tool="git", action="commit", result=ExecutionResult.success("ok")
            ),
        ],
        outcome=TaskOutcome.success("ok"),
    )
    patterns = extract_patterns(episode, LearningConfig(), default_extractors())
    assert {p.kind for p in patterns} == {
        "tool_sequence",
        "decision_point",
        "error_recovery",
        "context_pattern",
    }
    store.merge_patterns(namespace, episode.episode_id, patterns, lambda new, known: None)
    for pattern in patterns:
        assert store.get_pattern(namespace, pattern.pattern_id) == pattern


_same_context = st.sampled_from(
    [TaskContext(domain="web", language="python", tags=["ab", "cd"]), TaskContext(domain="web")]
)
_words = st.text(alphabet="abc ", min_size=1, max_size=12).filter(str.strip)
tool_sequences = st.builds(
    ToolSequence,
    tools=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=7),
    success_rate=st.just(1.0),
    context=_same_context,
)
decision_points = st.builds(DecisionPoint, condition=_words, action=_words, context=_same_context)
context_patterns = st.builds(
    ContextPattern,
    context_features=st.lists(st.sampled_from(["f1", "f2", "f3", "f4"]), min_size=1),
    recommended_approach=_words,
    success_rate=st.just(1.0),
    context=_same_context,
)


@settings(max_examples=300)
@given(
    st.one_of(
        st.tuples(tool_sequences, tool_sequences),
        st.tuples(decision_points, decision_points),
        st.tuples(context_patterns, context_patterns),
    )
)
def test_shape_bound_never_undercuts_the_similarity(pair: tuple[Pattern, Pattern]) -> None:
    """Merging skips candidates by `shape_bound`: it must be an upper bound, always, and
    below a floor only when the similarity is too."""
    a, b = pair
    differ = similarity_key(a) != similarity_key(b)
    similarity = pattern_similarity(a, b)
    for floor in (0.0, 0.5, 0.85, 1.0):
        bound = shape_bound(
            a.kind, pattern_shape(a), pattern_shape(b), keys_differ=differ, floor=floor
        )
        assert bound >= similarity - 1e-9
