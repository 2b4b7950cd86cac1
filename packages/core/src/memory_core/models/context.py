"""What a task is about: its type, complexity and context."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ComplexityLevel", "TaskContext", "TaskType", "normalize_tags"]

_TAG_RE = re.compile(r"^[a-z0-9_-]{2,100}$")


class TaskType(StrEnum):
    """The kind of work an episode records."""

    CODE_GENERATION = "code_generation"
    DEBUGGING = "debugging"
    REFACTORING = "refactoring"
    TESTING = "testing"
    ANALYSIS = "analysis"
    DOCUMENTATION = "documentation"
    OTHER = "other"


class ComplexityLevel(StrEnum):
    """How hard a task is; scales the reward (Simple 1.0, Moderate 1.1, Complex 1.2)."""

    SIMPLE = "simple"
    MODERATE = "moderate"
    COMPLEX = "complex"


def normalize_tags(tags: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Trim and lowercase tags, drop duplicates (keeping first-seen order) and validate them.

    Args:
        tags: Raw tags.

    Returns:
        The normalised tags.

    Raises:
        ValueError: If a tag is not 2-100 characters of letters, digits, ``-`` or ``_``.
    """
    seen: dict[str, None] = {}
    for raw in tags:
        tag = raw.strip().lower()
        if not _TAG_RE.match(tag):
            raise ValueError(
                f"invalid tag {raw!r}: tags must be 2-100 characters of letters, digits, "
                "'-' or '_' (e.g. 'rust', 'async-io')"
            )
        seen.setdefault(tag, None)
    return list(seen)


class TaskContext(BaseModel):
    """The circumstances of a task, used to find similar past episodes.

    Attributes:
        language: Programming language, if any (``"python"``).
        framework: Framework or library, if any (``"fastapi"``).
        domain: Problem domain; ``"general"`` when unknown.
        complexity: How hard the task is.
        tags: Free-form labels, normalised to lowercase.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str | None = None
    framework: str | None = None
    domain: str = Field(default="general", min_length=1, max_length=200)
    complexity: ComplexityLevel = ComplexityLevel.MODERATE
    tags: list[str] = Field(default_factory=list)

    @field_validator("language", "framework")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @field_validator("domain")
    @classmethod
    def _strip_domain(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("domain must not be blank; use 'general' when unknown")
        return value

    @field_validator("tags")
    @classmethod
    def _normalize_tags(cls, value: list[str]) -> list[str]:
        return normalize_tags(value)
