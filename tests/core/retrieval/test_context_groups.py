"""Context similarity per group of the episode index against the per-context reference."""

from __future__ import annotations

import random

import numpy as np

from memory_core import ComplexityLevel, RetrievalConfig, TaskContext
from memory_core.retrieval import index as index_module
from memory_core.retrieval.context import ContextQuery, context_similarity
from memory_core.retrieval.index import _ContextGroups

_DOMAINS = ["web-api", "api", "billing", "data-pipeline", "ml", "web"]
_LANGUAGES = [None, "python", "go", "TypeScript"]
_TAGS = ["auth", "db", "flaky", "cache", "perf"]


def _context(rng: random.Random, domains: list[str] = _DOMAINS) -> TaskContext:
    return TaskContext(
        domain=rng.choice(domains),
        language=rng.choice(_LANGUAGES),
        framework=rng.choice([None, "django", "gin"]),
        complexity=rng.choice(list(ComplexityLevel)),
        tags=rng.sample(_TAGS, rng.randint(0, 3)),
    )


def _check(groups: _ContextGroups, contexts: list[TaskContext], query: ContextQuery) -> None:
    expected = [context_similarity(query, c) for c in contexts]
    np.testing.assert_allclose(groups.similarity(query), expected, rtol=1e-6, atol=1e-7)


def test_similarities_stay_exact_as_groups_are_added_between_queries() -> None:
    # Parts of the similarity are kept per query complexity and domain, and extended
    # when groups are added: every answer must equal a computation from scratch.
    rng = random.Random(5)
    config = RetrievalConfig()
    groups = _ContextGroups()
    contexts: list[TaskContext] = []
    queries = [ContextQuery.of(_context(rng), config) for _ in range(12)]
    for _ in range(30):
        for _ in range(rng.randint(1, 6)):
            context = _context(rng, [*_DOMAINS, f"new-{rng.randrange(50)}"])
            if groups.id(context) == len(contexts):
                contexts.append(context)
        for query in rng.sample(queries, 4):
            _check(groups, contexts, query)


def test_many_distinct_query_domains_keep_a_bounded_cache(monkeypatch) -> None:
    monkeypatch.setattr(index_module, "_MAX_PARTS", 8)
    rng = random.Random(2)
    config = RetrievalConfig()
    groups = _ContextGroups()
    contexts: list[TaskContext] = []
    for _ in range(40):
        context = _context(rng)
        if groups.id(context) == len(contexts):
            contexts.append(context)
    for number in range(30):
        query = ContextQuery.of(TaskContext(domain=f"team-{number} api", tags=["db"]), config)
        _check(groups, contexts, query)
        assert len(groups._domain_parts) <= 8
