"""The four built-in extractors, keyword matching and error signatures."""

from __future__ import annotations

from collections.abc import Callable
from uuid import NAMESPACE_URL, uuid5

import pytest

from memory_core import (
    ContextPattern,
    DecisionPoint,
    Episode,
    ErrorRecovery,
    LearningConfig,
    TaskContext,
    TaskOutcome,
    ToolSequence,
)
from memory_core.learning import (
    ContextPatternExtractor,
    DecisionPointExtractor,
    ErrorRecoveryExtractor,
    ToolSequenceExtractor,
    default_extractors,
    error_signature,
    extract_patterns,
)
from memory_core.learning.extractors import name_uuid
from memory_core.learning.heuristics import heuristic_candidates, heuristic_key
from memory_core.learning.similarity import similarity_key
from memory_core.learning.text import is_decision

BuildEpisode = Callable[..., Episode]
CONFIG = LearningConfig()


def test_error_then_success_yields_an_error_recovery(build: BuildEpisode) -> None:
    episode = build(
        [("pytest", "run", False), ("editor", "fix expiry", True), ("pytest", "rerun", True)],
        errors=["AssertionError: expected 200, got 401"],
    )
    [pattern] = [
        p
        for p in extract_patterns(episode, CONFIG, default_extractors())
        if isinstance(p, ErrorRecovery)
    ]
    assert pattern.error_type == "assertionerror: expected <n>, got <n>"
    assert pattern.recovery_steps == ["editor: fix expiry"]
    assert pattern.success_rate == 1.0
    assert pattern.evidence == [episode.episode_id]
    assert pattern.context == episode.context


def test_error_recoveries_group_by_signature(build: BuildEpisode) -> None:
    errors = [
        "FileNotFoundError: '/tmp/a1.txt' (errno 2)",
        "FileNotFoundError: '/var/data/b.txt' (errno 2)",
        "KeyError: 0xdeadbeef",
    ]
    steps = [
        ("open", "open file", False),
        ("mkdir", "create it", True),
        ("open", "open other", False),
        ("touch", "create file", True),
        ("lookup", "read key", False),
        ("cache", "warm cache", True),
    ]
    patterns = ErrorRecoveryExtractor().extract(build(steps, errors=errors), CONFIG)
    by_error = {p.error_type: p.recovery_steps for p in patterns if isinstance(p, ErrorRecovery)}
    assert by_error == {
        "filenotfounderror: <str> (errno <n>)": ["mkdir: create it", "touch: create file"],
        "keyerror: <id>": ["cache: warm cache"],
    }


@pytest.mark.parametrize(
    ("message", "signature"),
    [
        ("Timeout after 30s connecting to 10.0.0.7:5432", "timeout after <n>s connecting to <n>"),
        (
            "ValueError: bad id 3f2a9c1d7e41 in /srv/app/main.py",
            "valueerror: bad id <id> in <path>",
        ),
        ("  ", "unknown error"),
        ('KeyError: "user_42"', "keyerror: <str>"),
        ("see https://example.org/x?id=4", "see <url>"),
        ("object 123e4567-e89b-12d3-a456-426614174000 gone", "object <id> gone"),
    ],
)
def test_error_signature(message: str, signature: str) -> None:
    assert error_signature(message) == signature


@pytest.mark.parametrize(
    ("action", "decision"),
    [
        ("check if the token expired", True),
        ("Verifying the output", True),
        ("validate schema", True),
        ("is the cache warm", True),
        ("when tests fail, bisect", True),
        ("run analysis", False),  # "is" inside "analysis" is not a keyword
        ("this works", False),
        ("rehash the index", False),
        ("precheck-free run", False),
    ],
)
def test_decision_keywords_match_whole_words_or_prefixes(action: str, decision: bool) -> None:
    assert is_decision(action) is decision


def test_decision_points(build: BuildEpisode) -> None:
    steps = [
        ("shell", "run analysis", True),
        ("http", "check if the service is up", True),
        ("editor", "write code", True),
    ]
    [pattern] = DecisionPointExtractor().extract(build(steps), CONFIG)
    assert isinstance(pattern, DecisionPoint)
    assert (pattern.condition, pattern.action) == ("check if the service is up", "http")
    assert pattern.outcome_stats.success_count == pattern.outcome_stats.total_count == 1


def test_tool_sequence(build: BuildEpisode) -> None:
    steps = [(f"t{i}", "do", True) for i in range(7)]
    [pattern] = ToolSequenceExtractor().extract(build(steps), CONFIG)
    assert isinstance(pattern, ToolSequence)
    assert pattern.tools == ["t0", "t1", "t2", "t3", "t4"]
    assert pattern.success_rate == 1.0
    assert pattern.occurrence_count == 1


def test_tool_sequence_needs_mostly_successful_steps(build: BuildEpisode) -> None:
    steps = [("a", "x", True), ("b", "y", False), ("c", "z", False)]
    assert ToolSequenceExtractor().extract(build(steps), CONFIG) == []


def test_tool_sequence_of_a_failed_task_has_zero_success(build: BuildEpisode) -> None:
    episode = build([("a", "x", True), ("b", "y", True)], TaskOutcome.failure("wrong answer"))
    [pattern] = ToolSequenceExtractor().extract(episode, CONFIG)
    assert isinstance(pattern, ToolSequence)
    assert pattern.success_rate == 0.0


def test_context_pattern_includes_tags(build: BuildEpisode) -> None:
    context = TaskContext(
        language="Python", framework="FastAPI", domain="web-api", tags=["b-tag", "auth"]
    )
    [pattern] = ContextPatternExtractor().extract(
        build([("a", "x", True)], context=context), CONFIG
    )
    assert isinstance(pattern, ContextPattern)
    assert pattern.context_features == [
        "language:python",
        "framework:fastapi",
        "domain:web-api",
        "complexity:moderate",
        "tag:auth",
        "tag:b-tag",
    ]
    assert pattern.recommended_approach == "debugging"


def test_incomplete_episode_yields_nothing(build: BuildEpisode) -> None:
    episode = build([("a", "x", True)]).model_copy(update={"outcome": None, "end_time": None})
    assert extract_patterns(episode, CONFIG, default_extractors()) == []


def test_extraction_is_deterministic_and_folds_duplicates(build: BuildEpisode) -> None:
    steps = [("http", "check status", True), ("http", "check status", True), ("db", "query", True)]
    episode = build(steps)
    first = extract_patterns(episode, CONFIG, default_extractors())
    assert first == extract_patterns(episode, CONFIG, default_extractors())
    [decision] = [p for p in first if isinstance(p, DecisionPoint)]
    assert decision.occurrence_count == 2
    assert decision.outcome_stats.total_count == 2
    assert decision.evidence == [episode.episode_id]


def test_failing_extractor_is_reported_and_others_kept(build: BuildEpisode) -> None:
    class Broken:
        name = "broken"

        def extract(self, episode: Episode, config: LearningConfig) -> list[ToolSequence]:
            raise RuntimeError("bug")

    seen: list[str] = []
    patterns = extract_patterns(
        build([("a", "x", True)]),
        CONFIG,
        [Broken(), *default_extractors()],  # type: ignore[list-item]
        on_error=lambda extractor, exc: seen.append(extractor.name),
    )
    assert seen == ["broken"]
    assert {p.kind for p in patterns} == {"tool_sequence", "context_pattern"}
    with pytest.raises(RuntimeError, match="bug"):
        extract_patterns(build([("a", "x", True)]), CONFIG, [Broken()])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["", "a", "memory-core:x:tool_seq:a→b:web-api", "é" * 300])
def test_name_uuid_is_the_standard_version_5_uuid(name: str) -> None:
    assert name_uuid(name) == uuid5(NAMESPACE_URL, name)
    assert name_uuid(name).version == 5


def test_extracted_ids_are_the_documented_version_5_uuids(build: BuildEpisode) -> None:
    steps = [("http", "check status", True), ("db", "query", False), ("db", "retry", True)]
    steps.append(("git", "commit", True))
    episode = build(steps, errors=["KeyError: 'user_42'"])
    eid = episode.episode_id
    patterns = extract_patterns(episode, CONFIG, default_extractors())
    assert len(patterns) == 4
    for pattern in patterns:
        key = similarity_key(pattern)
        assert pattern.pattern_id == uuid5(NAMESPACE_URL, f"memory-core:{eid}:{key}")
        assert pattern.created_at == pattern.updated_at == episode.end_time
        assert pattern.effectiveness.created_at == episode.end_time
    heuristics = heuristic_candidates(episode)
    assert heuristics
    for heuristic in heuristics:
        key = heuristic_key(heuristic)
        name = f"memory-core:heuristic:{eid}:{key}"
        assert heuristic.heuristic_id == uuid5(NAMESPACE_URL, name)


def test_decision_matching_answers_the_same_when_asked_again() -> None:
    for _ in range(2):
        assert is_decision("Check if the token expired")
        assert not is_decision("run analysis of the logs")
