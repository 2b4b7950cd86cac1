"""Pattern ranking: success, confidence, context, effectiveness, recency and text match.

``score = Σ weight · component`` with every component in [0, 1]:

* success — the pattern's success rate;
* confidence — ``n / (n + pattern_confidence_k)`` for sample size ``n``;
* context — context similarity to the query (0.3 for a pattern without context);
* effectiveness — ``effectiveness_score / 2`` capped at 1 (0.25 when never applied);
* recency — ``0.5 ** (days since last update or use / recency_half_life_days)``;
* text — BM25 match of the pattern's text with the task description (only when given).

Patterns with the same dedup key (kind, content, domain) are returned once (the best).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from memory_core.config import RetrievalConfig
from memory_core.models import Pattern, TaskContext
from memory_core.retrieval.context import ContextQuery, context_similarity
from memory_core.retrieval.lexical import LexicalIndex
from memory_core.retrieval.tokenize import term_counts, tokenize

__all__ = ["NO_CONTEXT_SIMILARITY", "PatternHit", "PatternRanker", "pattern_key", "pattern_text"]

NO_CONTEXT_SIMILARITY = 0.3
"""Context similarity given to a pattern that has no context."""


def pattern_text(pattern: Pattern) -> str:
    """The searchable text of a pattern."""
    match pattern.kind:
        case "tool_sequence":
            return " ".join(pattern.tools)
        case "decision_point":
            return f"{pattern.condition} {pattern.action}"
        case "error_recovery":
            return f"{pattern.error_type} {' '.join(pattern.recovery_steps)}"
        case "context_pattern":
            return f"{' '.join(pattern.context_features)} {pattern.recommended_approach}"


def pattern_key(pattern: Pattern) -> str:
    """Exact dedup key: kind, content and domain."""
    domain = pattern.domain or ""
    match pattern.kind:
        case "tool_sequence":
            return f"tool_seq:{'>'.join(pattern.tools)}:{domain}"
        case "decision_point":
            return f"decision:{pattern.condition}:{pattern.action}:{domain}"
        case "error_recovery":
            return (
                f"error_recovery:{pattern.error_type}:{'>'.join(pattern.recovery_steps)}:{domain}"
            )
        case "context_pattern":
            features = ",".join(sorted(pattern.context_features))
            return f"context:{features}:{pattern.recommended_approach}:{domain}"


@dataclass(slots=True)
class PatternHit:
    """A ranked pattern with its score breakdown (contributions sum to ``score``)."""

    pattern: Pattern
    score: float
    breakdown: dict[str, float]


def _context_key(context: TaskContext) -> tuple[object, ...]:
    return (
        context.domain,
        context.language,
        context.framework,
        context.complexity,
        tuple(context.tags),
    )


class PatternRanker:
    """Ranks a set of patterns; rebuild it (cheap) when the patterns change."""

    def __init__(self, patterns: Iterable[Pattern], config: RetrievalConfig) -> None:
        self.config = config
        self.patterns: list[Pattern] = list(patterns)
        self._lexical: LexicalIndex | None = None

    def _text_index(self) -> LexicalIndex:
        if self._lexical is None:
            index = LexicalIndex(
                self.config.bm25_k1, self.config.bm25_b, self.config.bm25_min_corpus
            )
            for pattern in self.patterns:
                index.add(term_counts(pattern_text(pattern)))
            self._lexical = index
        return self._lexical

    def rank(
        self,
        context: TaskContext,
        task_description: str | None,
        limit: int,
        *,
        now: float | None = None,
    ) -> list[PatternHit]:
        """The best ``limit`` patterns for a context (and task), deduplicated, best first."""
        if not self.patterns:
            return []
        cfg = self.config
        current = time.time() if now is None else now
        query = ContextQuery.of(context, cfg)
        terms = tokenize(task_description or "")
        text: Sequence[float] = [0.0] * len(self.patterns)
        if terms:
            text = self._text_index().scores(terms)[0].tolist()
        contexts: dict[tuple[object, ...], float] = {}
        scored: list[tuple[float, int, dict[str, float]]] = []
        for i, pattern in enumerate(self.patterns):
            if pattern.context is None:
                ctx = NO_CONTEXT_SIMILARITY
            else:
                ctx_key = _context_key(pattern.context)
                ctx = contexts.get(ctx_key, -1.0)
                if ctx < 0:
                    ctx = context_similarity(query, pattern.context)
                    contexts[ctx_key] = ctx
            effectiveness = pattern.effectiveness
            last = pattern.updated_at
            if effectiveness.last_used is not None and effectiveness.last_used > last:
                last = effectiveness.last_used
            age_days = max(current - last.timestamp(), 0.0) / 86_400.0
            size = pattern.sample_size
            breakdown = {
                "success": cfg.pattern_success_weight * pattern.success_rate,
                "confidence": cfg.pattern_confidence_weight
                * (size / (size + cfg.pattern_confidence_k)),
                "context": cfg.pattern_context_weight * ctx,
                "effectiveness": cfg.pattern_effectiveness_weight
                * min(max(effectiveness.effectiveness_score / 2.0, 0.0), 1.0),
                "recency": cfg.pattern_recency_weight
                * math.exp2(-age_days / cfg.recency_half_life_days),
            }
            if terms:
                breakdown["text"] = cfg.pattern_text_weight * float(text[i])
            scored.append((math.fsum(breakdown.values()), i, breakdown))
        order = np.argsort([-s for s, _, _ in scored], kind="stable")
        seen: set[str] = set()
        hits: list[PatternHit] = []
        for position in order:
            score, i, breakdown = scored[int(position)]
            pattern = self.patterns[i]
            key = pattern_key(pattern)
            if key in seen:
                continue
            seen.add(key)
            hits.append(PatternHit(pattern=pattern, score=score, breakdown=breakdown))
            if len(hits) == limit:
                break
        return hits
