"""Context similarity with partial credit (domain, language, framework, complexity, tags).

Only the fields the query states count: a query without a language neither rewards nor
penalises languages, and the default domain ``"general"`` counts as "no domain". The
result is the weighted mean of the stated fields' similarities, in [0, 1]. Complexity
counts only next to another stated field; a query stating nothing has similarity 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from memory_core.config import RetrievalConfig
from memory_core.models import ComplexityLevel, TaskContext
from memory_core.retrieval.lexical import FIELD_MARK

__all__ = [
    "COMPLEXITY_ORDER",
    "ContextQuery",
    "complexity_similarity",
    "context_similarity",
    "context_terms",
    "domain_similarity",
]

COMPLEXITY_ORDER = {
    ComplexityLevel.SIMPLE: 0,
    ComplexityLevel.MODERATE: 1,
    ComplexityLevel.COMPLEX: 2,
}
"""Complexity levels as integers (adjacent levels get half credit)."""

_SPLIT = re.compile(r"[^a-z0-9]+")
UNSTATED_DOMAIN = "general"


def _words(value: str) -> frozenset[str]:
    return frozenset(w for w in _SPLIT.split(value.lower()) if w)


@lru_cache(maxsize=16_384)
def domain_similarity(a: str, b: str) -> float:
    """1.0 for equal domains, else the Jaccard overlap of their words (``web-api`` ~ ``api``)."""
    if a.lower() == b.lower():
        return 1.0
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def complexity_similarity(a: int, b: int) -> float:
    """1.0 for the same level, 0.5 for adjacent levels, 0.0 otherwise."""
    return max(0.0, 1.0 - 0.5 * abs(a - b))


@dataclass(frozen=True, slots=True)
class ContextQuery:
    """The stated fields of a query context and their weights (private to retrieval)."""

    domain: str | None
    language: str | None
    framework: str | None
    complexity: int
    tags: frozenset[str]
    w_domain: float
    w_language: float
    w_framework: float
    w_complexity: float
    w_tags: float

    @classmethod
    def of(cls, context: TaskContext, config: RetrievalConfig) -> ContextQuery:
        """Weights of unstated fields are zero."""
        domain = None if context.domain.lower() == UNSTATED_DOMAIN else context.domain
        language = context.language.lower() if context.language else None
        framework = context.framework.lower() if context.framework else None
        tags = frozenset(context.tags)
        return cls(
            domain=domain,
            language=language,
            framework=framework,
            complexity=COMPLEXITY_ORDER[context.complexity],
            tags=tags,
            w_domain=config.domain_weight if domain else 0.0,
            w_language=config.language_weight if language else 0.0,
            w_framework=config.framework_weight if framework else 0.0,
            w_complexity=config.complexity_weight,
            w_tags=config.tags_weight if tags else 0.0,
        )

    @property
    def stated(self) -> bool:
        """True if the query states a domain, language, framework or tags.

        Complexity always has a value, so alone it does not count as a stated context.
        """
        return bool(self.w_domain or self.w_language or self.w_framework or self.w_tags)

    @property
    def total_weight(self) -> float:
        """Sum of the stated fields' weights (0 when no field is stated)."""
        if not self.stated:
            return 0.0
        return self.w_domain + self.w_language + self.w_framework + self.w_complexity + self.w_tags


def _jaccard(a: frozenset[str], b: Sequence[str]) -> float:
    other = set(b)
    union = len(a | other)
    return len(a & other) / union if union else 0.0


def context_similarity(query: ContextQuery, other: TaskContext) -> float:
    """Weighted similarity in [0, 1] of a stored context to the query's stated fields."""
    total = query.total_weight
    if total <= 0:
        return 0.0
    score = query.w_complexity * complexity_similarity(
        query.complexity, COMPLEXITY_ORDER[other.complexity]
    )
    if query.domain is not None:
        score += query.w_domain * domain_similarity(query.domain, other.domain)
    if query.language is not None and other.language:
        score += query.w_language * (query.language == other.language.lower())
    if query.framework is not None and other.framework:
        score += query.w_framework * (query.framework == other.framework.lower())
    if query.tags:
        score += query.w_tags * _jaccard(query.tags, other.tags)
    return score / total


def context_terms(context: TaskContext) -> list[str]:
    """The context as lexical terms (domain, language, framework and each tag).

    They are indexed with an episode's words as a field of their own (marked with
    `FIELD_MARK`, so they never match a description word), so a rare tag shared by a query
    and an episode weighs as much as a rare word does, and a tag everyone carries as
    little. The unstated domain adds nothing.
    """
    terms = []
    domain = context.domain.lower()
    if domain != UNSTATED_DOMAIN:
        terms.append(f"{FIELD_MARK}domain={domain}")
    if context.language:
        terms.append(f"{FIELD_MARK}language={context.language.lower()}")
    if context.framework:
        terms.append(f"{FIELD_MARK}framework={context.framework.lower()}")
    terms.extend(f"{FIELD_MARK}tag={tag.lower()}" for tag in context.tags)
    return terms
