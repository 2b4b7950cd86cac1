"""Learning from completed episodes: reward, reflection, pattern extraction, effectiveness.

`LearningService` is what the memory runs for every completed episode, and what
`learn_pending` (``memory-core learn``) runs over episodes stored by ``external`` memories.
The pieces are usable on their own: `RewardScorer`, `Reflector`, the `PatternExtractor`
protocol and the four built-in extractors, `PatternMerger` (write-time merging) and `quality_score`.
`LearningService.relearn` learns stored episodes again (idempotent; see
`memory_core.learning.relearn`).
"""

from memory_core.learning.extractors import (
    ContextPatternExtractor,
    DecisionPointExtractor,
    ErrorRecoveryExtractor,
    PatternExtractor,
    ToolSequenceExtractor,
    default_extractors,
    extract_patterns,
)
from memory_core.learning.heuristics import heuristic_candidates, rank_heuristics
from memory_core.learning.learner import LearnReport, follow
from memory_core.learning.merging import PatternMerger, merge_into
from memory_core.learning.quality import quality_score
from memory_core.learning.reflection import Reflector
from memory_core.learning.relearn import RelearnProgress
from memory_core.learning.reward import RewardScorer
from memory_core.learning.service import LearningService
from memory_core.learning.similarity import pattern_similarity, similarity_key
from memory_core.learning.text import error_signature

__all__ = [
    "ContextPatternExtractor",
    "DecisionPointExtractor",
    "ErrorRecoveryExtractor",
    "LearnReport",
    "LearningService",
    "PatternExtractor",
    "PatternMerger",
    "Reflector",
    "RelearnProgress",
    "RewardScorer",
    "ToolSequenceExtractor",
    "default_extractors",
    "error_signature",
    "extract_patterns",
    "follow",
    "heuristic_candidates",
    "merge_into",
    "pattern_similarity",
    "quality_score",
    "rank_heuristics",
    "similarity_key",
]
