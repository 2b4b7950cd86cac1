"""Pattern ranking (no database)."""

from __future__ import annotations

import math
from datetime import timedelta

from memory_core import (
    ContextPattern,
    DecisionPoint,
    ErrorRecovery,
    OutcomeStats,
    PatternEffectiveness,
    RetrievalConfig,
    TaskContext,
    ToolSequence,
)
from memory_core.models import utcnow
from memory_core.retrieval import PatternRanker

PY = TaskContext(language="python", domain="web-api", framework="fastapi", tags=["auth"])
RUST = TaskContext(language="rust", domain="embedded")


def rank(patterns, context=PY, description=None, limit=10):
    return PatternRanker(patterns, RetrievalConfig()).rank(context, description, limit)


def test_success_confidence_and_context_order_patterns() -> None:
    strong = ToolSequence(
        tools=["pytest", "editor"], success_rate=0.9, occurrence_count=12, context=PY
    )
    weak = ToolSequence(tools=["pytest", "git"], success_rate=0.4, occurrence_count=12, context=PY)
    rare = ToolSequence(tools=["pytest", "black"], success_rate=0.9, occurrence_count=1, context=PY)
    elsewhere = ToolSequence(tools=["cargo"], success_rate=0.9, occurrence_count=12, context=RUST)
    order = [h.pattern.pattern_id for h in rank([weak, rare, elsewhere, strong])]
    assert order[0] == strong.pattern_id
    assert order.index(strong.pattern_id) < order.index(rare.pattern_id)
    assert order.index(strong.pattern_id) < order.index(weak.pattern_id)
    assert order.index(strong.pattern_id) < order.index(elsewhere.pattern_id)


def test_breakdown_sums_to_score_and_has_every_component() -> None:
    patterns = [
        ToolSequence(tools=["a"], success_rate=0.5, context=PY),
        DecisionPoint(
            condition="test fails",
            action="rerun",
            outcome_stats=OutcomeStats(success_count=3, total_count=4),
        ),
        ErrorRecovery(
            error_type="TimeoutError", recovery_steps=["retry"], success_rate=0.7, context=RUST
        ),
        ContextPattern(
            context_features=["language:python"],
            recommended_approach="use pytest",
            success_rate=1.0,
        ),
    ]
    for description in (None, "pytest timeout retry"):
        hits = rank(patterns, description=description)
        assert len(hits) == 4
        for hit in hits:
            assert math.isclose(sum(hit.breakdown.values()), hit.score, abs_tol=1e-12)
            expected = {"success", "confidence", "context", "effectiveness", "recency"}
            assert set(hit.breakdown) == (expected | {"text"} if description else expected)


def test_task_description_boosts_matching_patterns() -> None:
    timeout = ErrorRecovery(
        error_type="TimeoutError",
        recovery_steps=["increase the timeout"],
        success_rate=0.6,
        context=PY,
    )
    other = ErrorRecovery(
        error_type="KeyError", recovery_steps=["check the dict key"], success_rate=0.7, context=PY
    )
    assert rank([timeout, other])[0].pattern.pattern_id == other.pattern_id
    assert (
        rank([timeout, other], description="request timeout errors")[0].pattern.pattern_id
        == timeout.pattern_id
    )


def test_effectiveness_and_recency_count() -> None:
    proven = ToolSequence(
        tools=["pytest"],
        success_rate=0.8,
        context=PY,
        effectiveness=PatternEffectiveness(
            times_applied=10, success_when_applied=10, times_retrieved=12
        ),
    )
    unproven = ToolSequence(tools=["nose"], success_rate=0.8, context=PY)
    assert rank([unproven, proven])[0].pattern.pattern_id == proven.pattern_id
    old = utcnow() - timedelta(days=120)
    stale = ToolSequence(
        tools=["tox"], success_rate=0.8, context=PY, updated_at=old, created_at=old
    )
    fresh = ToolSequence(tools=["nox"], success_rate=0.8, context=PY)
    assert rank([stale, fresh])[0].pattern.pattern_id == fresh.pattern_id


def test_duplicates_are_returned_once() -> None:
    first = ToolSequence(tools=["pytest", "editor"], success_rate=0.9, context=PY)
    copy = ToolSequence(tools=["pytest", "editor"], success_rate=0.5, context=PY)
    hits = rank([copy, first])
    assert [h.pattern.pattern_id for h in hits] == [first.pattern_id]


def test_limit_and_empty() -> None:
    patterns = [ToolSequence(tools=[f"t{i}"], success_rate=0.5) for i in range(20)]
    assert len(rank(patterns, limit=7)) == 7
    assert rank([]) == []
    # a pattern without context gets a neutral context similarity
    assert rank(patterns[:1])[0].breakdown["context"] == 0.25 * 0.3
