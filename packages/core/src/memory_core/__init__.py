"""memory-core: a self-learning episodic memory for AI agents.

Record a task run as an *episode* (task, context, steps, outcome); when it completes the
memory scores it, reflects on it and mines reusable patterns; when a new task starts, ask
for the most relevant past episodes and patterns. Deterministic and rule-based: no LLM.
"""

from memory_core.config import (
    LearningConfig,
    LimitsConfig,
    MemoryConfig,
    RetrievalConfig,
    RewardConfig,
)
from memory_core.embeddings import Embedder
from memory_core.errors import (
    ConfigurationError,
    EpisodeAlreadyCompletedError,
    EpisodeNotFoundError,
    EpisodeQualityError,
    InvalidInputError,
    LearningQueueError,
    LearningQueueFullError,
    MemoryCoreError,
    MissingDependencyError,
    PatternNotFoundError,
    PayloadTooLargeError,
    PluginError,
    StepOrderError,
    StorageError,
)
from memory_core.formatting import (
    episode_metadata,
    format_episode,
    format_pattern,
    pattern_metadata,
)
from memory_core.hookspecs import hookimpl
from memory_core.learning import PatternExtractor
from memory_core.memory import SelfLearningMemory, SyncSelfLearningMemory
from memory_core.models import (
    ComplexityLevel,
    ContextPattern,
    DecisionPoint,
    Episode,
    ErrorRecovery,
    ExecutionResult,
    ExecutionStep,
    Heuristic,
    LearningStats,
    MemoryStats,
    OutcomeKind,
    OutcomeStats,
    Pattern,
    PatternEffectiveness,
    Reflection,
    RelearnReport,
    RetrievedEpisode,
    RetrievedPattern,
    RewardScore,
    TaskContext,
    TaskOutcome,
    TaskType,
    TokenUsage,
    ToolSequence,
)
from memory_core.plugins import make_plugin_manager
from memory_core.storage import EpisodeStore, SQLAlchemyEpisodeStore

__version__ = "0.1.0"

__all__ = [
    "ComplexityLevel",
    "ConfigurationError",
    "ContextPattern",
    "DecisionPoint",
    "Embedder",
    "Episode",
    "EpisodeAlreadyCompletedError",
    "EpisodeNotFoundError",
    "EpisodeQualityError",
    "EpisodeStore",
    "ErrorRecovery",
    "ExecutionResult",
    "ExecutionStep",
    "Heuristic",
    "InvalidInputError",
    "LearningConfig",
    "LearningQueueError",
    "LearningQueueFullError",
    "LearningStats",
    "LimitsConfig",
    "MemoryConfig",
    "MemoryCoreError",
    "MemoryStats",
    "MissingDependencyError",
    "OutcomeKind",
    "OutcomeStats",
    "Pattern",
    "PatternEffectiveness",
    "PatternExtractor",
    "PatternNotFoundError",
    "PayloadTooLargeError",
    "PluginError",
    "Reflection",
    "RelearnReport",
    "RetrievalConfig",
    "RetrievedEpisode",
    "RetrievedPattern",
    "RewardConfig",
    "RewardScore",
    "SQLAlchemyEpisodeStore",
    "SelfLearningMemory",
    "StepOrderError",
    "StorageError",
    "SyncSelfLearningMemory",
    "TaskContext",
    "TaskOutcome",
    "TaskType",
    "TokenUsage",
    "ToolSequence",
    "__version__",
    "episode_metadata",
    "format_episode",
    "format_pattern",
    "hookimpl",
    "make_plugin_manager",
    "pattern_metadata",
]
