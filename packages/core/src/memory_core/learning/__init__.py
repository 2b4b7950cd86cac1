"""Learning from completed episodes: reward, reflection, pattern extraction, effectiveness."""

from memory_core.learning.service import LearningService

__all__ = ["LearningService"]
