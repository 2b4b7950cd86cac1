"""The typed domain model of memory-core (pydantic v2, JSON round-trip exact)."""

from memory_core.models.context import ComplexityLevel, TaskContext, TaskType, normalize_tags
from memory_core.models.episode import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    OutcomeKind,
    ResultKind,
    TaskOutcome,
    TokenUsage,
    utcnow,
)
from memory_core.models.patterns import (
    MAX_EVIDENCE,
    ContextPattern,
    DecisionPoint,
    ErrorRecovery,
    Heuristic,
    OutcomeStats,
    Pattern,
    PatternEffectiveness,
    PatternKind,
    ToolSequence,
)
from memory_core.models.results import (
    LearningStats,
    MemoryStats,
    PlanStep,
    RecommendedPlan,
    RelearnReport,
    RetrievedEpisode,
    RetrievedPattern,
)
from memory_core.models.scores import Reflection, RewardScore

__all__ = [
    "MAX_EVIDENCE",
    "ComplexityLevel",
    "ContextPattern",
    "DecisionPoint",
    "Episode",
    "ErrorRecovery",
    "ExecutionResult",
    "ExecutionStep",
    "Heuristic",
    "LearningStats",
    "MemoryStats",
    "OutcomeKind",
    "OutcomeStats",
    "Pattern",
    "PatternEffectiveness",
    "PatternKind",
    "PlanStep",
    "RecommendedPlan",
    "Reflection",
    "RelearnReport",
    "ResultKind",
    "RetrievedEpisode",
    "RetrievedPattern",
    "RewardScore",
    "TaskContext",
    "TaskOutcome",
    "TaskType",
    "TokenUsage",
    "ToolSequence",
    "normalize_tags",
    "utcnow",
]
