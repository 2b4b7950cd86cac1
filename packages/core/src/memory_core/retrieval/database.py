"""Episode search served by the database search index (PostgreSQL).

The database picks the candidates: the episodes of the namespace that hold at least one of
the query's selected terms, ordered by BM25 (with the namespace's own document frequencies
and lengths) plus reward and recency, best ``database_candidates`` first. With the default
BM25 knobs and no filters they are read from the impact-ordered postings
(`SearchIndex.ranked_candidates`): each selected term's ``database_scan_limit`` best
episodes, in index order, never the whole list of episodes holding a common term. Those are ranked
in-process by `EpisodeIndex` given the namespace's statistics (`CorpusStats`), so scores,
breakdowns, the relevance floor and diversity are computed by the one implementation the
in-memory index uses, with the idf and average length a full in-memory index would use.

Which terms select candidates: the rarest query terms, until the BM25 share the remaining
(common) terms could add is below the relevance floor even for a document holding each of
them infinitely often. An episode holding none of the selected terms would then fall below
the floor anyway, so leaving it out changes no result. Up to there the candidates are
exact; two things make them approximate, both to bound the work of one search:

- The order in which candidates are cut (at ``database_candidates``) leaves out context
  similarity, which weighs at most ``context_weight``.
- Postings: a term's postings past its ``database_scan_limit`` best are not read. The
  query returns a bound on what an episode none of whose postings was read can score
  (`DatabaseRanker.last_bound`); below the relevance floor, no such episode could have
  been a result.
- Otherwise, when the selected terms are common (their episodes would number more than
  ``database_scan_limit``), candidates must hold several of them (the fewest that brings
  the expected number of matches under the limit, of the four rarest terms), and at most
  ``database_scan_limit`` matching episodes are scored.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from uuid import UUID

from sqlalchemy.engine import Connection

from memory_core.config import RetrievalConfig
from memory_core.models import TaskContext
from memory_core.retrieval.context import context_terms
from memory_core.retrieval.filters import EpisodeFilters
from memory_core.retrieval.index import (
    EpisodeFields,
    EpisodeHit,
    EpisodeIndex,
    query_weights,
)
from memory_core.retrieval.lexical import FIELD_MARK, CorpusStats, LexicalIndex
from memory_core.retrieval.tokenize import tokenize
from memory_core.storage.browse import micros
from memory_core.storage.search_index import (
    IMPACT_B,
    IMPACT_FIELD_WEIGHT,
    IMPACT_K1,
    Candidate,
    CandidateOrder,
    CandidateQuery,
    NamespaceTotals,
    PostingQuery,
    QueryTerm,
    SearchIndex,
)

__all__ = ["DIVERSITY_TTL_S", "STATISTICS_CACHED_FROM", "STATISTICS_TTL_S", "DatabaseRanker"]

_SECONDS_PER_DAY = 86_400.0
_NO_FILTERS = EpisodeFilters()


@lru_cache(maxsize=4_096)
def _context(data: str) -> TaskContext:
    # contexts repeat across episodes; the index only reads them
    return TaskContext.model_validate_json(data)


STATISTICS_TTL_S = 5.0
"""How long a large namespace's statistics are reused (`DatabaseRanker`)."""
STATISTICS_CACHED_FROM = 100_000
"""Namespaces of at least this many episodes reuse their statistics for `STATISTICS_TTL_S`."""
DIVERSITY_TTL_S = 60.0
"""How long a large namespace's frequencies of terms only diversity reads (the candidates'
terms that are not query terms) are reused: they weigh how alike two results are, not how
relevant either is."""
_MAX_CACHED_TERMS = 100_000


class _Statistics:
    """A large namespace's totals and document frequencies, reused for a short while.

    One episode more or less moves the idf of a namespace of 100,000 episodes by a few
    millionths; reusing the figures saves a round trip per search. Each figure is reused
    for ``ttl_s`` seconds after it was read, or ``diversity_ttl_s`` when only diversity
    reads it (`known`). A query term the figures take for absent is
    checked by the candidate query itself (`PostingQuery.absent`): if it is there now, the
    search runs again with fresh figures, so an episode holding a term new to the namespace
    is found at once.
    """

    def __init__(self, ttl_s: float, cached_from: int, diversity_ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._diversity_ttl_s = max(diversity_ttl_s, ttl_s)
        self._cached_from = cached_from
        self._lock = threading.Lock()
        self._totals: tuple[NamespaceTotals, float] | None = None
        self._df: dict[str, tuple[int, float]] = {}

    def get(self, terms: Sequence[str]) -> tuple[NamespaceTotals, dict[str, int]] | None:
        """The totals and the frequencies of ``terms``, if all were read recently enough."""
        since = time.monotonic() - self._ttl_s
        with self._lock:
            if self._totals is None or self._totals[1] < since:
                return None
            found = {}
            for term in terms:
                cached = self._df.get(term)
                if cached is None or cached[1] < since:
                    return None
                found[term] = cached[0]
            return self._totals[0], found

    @property
    def active(self) -> bool:
        """Whether figures are kept (the namespace was large when last read)."""
        return self._totals is not None

    def known(self, terms: Sequence[str]) -> dict[str, int]:
        """The frequencies among ``terms`` recent enough for diversity (of terms present)."""
        since = time.monotonic() - self._diversity_ttl_s
        with self._lock:
            cached = [(t, self._df.get(t)) for t in terms]
        return {t: c[0] for t, c in cached if c is not None and c[1] >= since and c[0] > 0}

    def put(self, totals: NamespaceTotals | None, df: Mapping[str, int]) -> None:
        """Remember fresh figures (of a large namespace)."""
        if totals is None or totals.doc_count < self._cached_from:
            return
        with self._lock:
            self._totals = (totals, time.monotonic())
        self.add(df)

    def add(self, df: Mapping[str, int]) -> None:
        """Remember fresh document frequencies."""
        now = time.monotonic()
        with self._lock:
            if self._totals is None:
                return
            if len(self._df) + len(df) > _MAX_CACHED_TERMS:
                self._df.clear()
            for term, count in df.items():
                self._df[term] = (count, now)

    def clear(self) -> None:
        """Forget everything (a term taken for absent was found)."""
        with self._lock:
            self._totals = None
            self._df.clear()


class DatabaseRanker:
    """Ranks the completed episodes of one namespace from the database search index.

    Thread-safe: every search runs in its own read transaction. In a namespace of at least
    ``statistics_cached_from`` episodes, the totals and document frequencies a search reads
    are reused for ``statistics_ttl_s`` seconds: the candidates are always read fresh (an
    episode completed by any process is found at once), their idf may lag that long. The
    frequencies of the candidates' other terms, which only diversity reads, are reused for
    `DIVERSITY_TTL_S`.

    Args:
        config: Ranking knobs.
        index: The store's search index.
        namespace: The namespace searched.
        statistics_ttl_s: How long a large namespace's statistics are reused (0: never).
        statistics_cached_from: How many episodes make a namespace large for that.
    """

    def __init__(
        self,
        config: RetrievalConfig,
        index: SearchIndex,
        namespace: str,
        statistics_ttl_s: float = STATISTICS_TTL_S,
        statistics_cached_from: int = STATISTICS_CACHED_FROM,
    ) -> None:
        self.config = config
        self._index = index
        self._namespace = namespace
        self._statistics = (
            _Statistics(statistics_ttl_s, statistics_cached_from, DIVERSITY_TTL_S)
            if statistics_ttl_s > 0
            else None
        )
        self.last_bound: float | None = None
        """After a search from the postings: the most an episode not read could score
        (normalised BM25); None after a search that did not read postings."""

    def totals(self) -> NamespaceTotals | None:
        """What the index holds for the namespace (None: nothing yet)."""
        with self._index.reading() as connection:
            return self._index.totals(connection, self._namespace)

    def total_length(self, totals: NamespaceTotals) -> float:
        """Sum of the weighted lengths of the namespace's episodes."""
        cfg = self.config
        context = totals.context_length * cfg.context_term_weight
        return totals.description_length * cfg.description_boost + context + totals.other_length

    def search(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        filters: EpisodeFilters,
        *,
        include_below_floor: bool = False,
        now: float | None = None,
        diversify: bool = True,
    ) -> list[EpisodeHit]:
        """Rank the namespace's episodes for a task, best first (as `EpisodeIndex.search`)."""
        for reuse in (True, False):
            hits = self._search(
                task_description,
                context,
                limit,
                filters,
                include_below_floor=include_below_floor,
                now=now,
                diversify=diversify,
                reuse=reuse,
            )
            if hits is not None:
                return hits
        raise AssertionError("a search with fresh statistics always answers")  # pragma: no cover

    def _search(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        filters: EpisodeFilters,
        *,
        include_below_floor: bool,
        now: float | None,
        diversify: bool,
        reuse: bool,
    ) -> list[EpisodeHit] | None:
        """`search`; None when reused statistics took a term for absent that is not."""
        cfg = self.config
        index, namespace = self._index, self._namespace
        words = tokenize(task_description)
        query = query_weights(words, context, cfg) if words else {}
        if not query and cfg.context_term_weight > 0:
            # no words: candidates are the episodes sharing a context term
            query = dict.fromkeys(context_terms(context), cfg.context_term_weight)
        now_s = time.time() if now is None else now
        with index.reading() as connection:
            totals, df, absent = self._read_statistics(connection, list(query), reuse)
            if totals is None or totals.doc_count <= 0:
                return None if absent else []

            def fetch(terms: Sequence[str]) -> dict[str, int]:
                cache = self._statistics
                found = cache.known(terms) if cache is not None else {}
                missing = [t for t in terms if t not in found]
                if missing:
                    read = index.frequencies(connection, namespace, missing)
                    if cache is not None:
                        cache.add(read)
                    found.update(read)
                return found

            corpus = CorpusStats(
                doc_count=totals.doc_count,
                total_length=self.total_length(totals),
                df={t: df.get(t, 0) for t in query},
                fetch=fetch,
            )
            lexical = LexicalIndex(cfg.bm25_k1, cfg.bm25_b, cfg.bm25_min_corpus, corpus=corpus)
            idf = {t: lexical.idf(t) for t in query}
            reference = sum(idf[t] * lexical.saturation(w) for t, w in query.items())
            scale = (cfg.bm25_k1 + 1.0) / reference if reference > 0 else 0.0
            scored = [
                QueryTerm(
                    term=t,
                    field=t.startswith(FIELD_MARK),
                    weight=cfg.context_term_weight
                    if t.startswith(FIELD_MARK)
                    else cfg.description_boost,
                    coefficient=idf[t] * scale,
                )
                for t, w in query.items()
                if corpus.df[t] > 0
            ]
            floor = max(cfg.min_relevance, 1e-6) if words and not include_below_floor else 0.0
            match = _selected(scored, corpus.df, floor)
            if floor > 0 and not match:
                return None if absent else []  # no episode can reach the floor
            if not match and not include_below_floor:
                return None if absent else []  # neither words nor context terms to go by
            pool = max(cfg.mmr_pool, 3 * limit)
            order = CandidateOrder(
                min_lexical=max(floor - 1e-6, 0.0),
                lexical_weight=cfg.lexical_weight,
                reward_weight=cfg.reward_weight,
                reward_scale=cfg.reward_scale,
                recency_weight=cfg.recency_weight,
                half_life_us=cfg.recency_half_life_days * _SECONDS_PER_DAY * 1e6,
                now_us=int(now_s * 1_000_000),
                limit=max(cfg.database_candidates, pool),
            )
            self.last_bound = None
            if match and filters == _NO_FILTERS and self._impacts_apply(totals):
                assert totals.impact_length is not None
                chosen = set(match)
                coefficient = {t.term: t.coefficient for t in scored}
                candidates, self.last_bound, found = index.ranked_candidates(
                    connection,
                    namespace,
                    PostingQuery(
                        terms=match,
                        coefficients=[coefficient[t] for t in match],
                        unread=sum(t.coefficient for t in scored if t.term not in chosen),
                        depth=max(cfg.database_scan_limit // len(match), 1),
                        rho=min(1.0, totals.impact_length / lexical.average_length) * (1 - 1e-9),
                        order=order,
                        absent=absent,
                        # reused statistics know most of the candidates' terms: look up the
                        # rest (`fetch`) rather than all of them
                        frequencies=not self._reusing(),
                    ),
                )
                if any(found.get(t, 0) > 0 for t in absent):
                    if self._statistics is not None:
                        self._statistics.clear()  # a term new to the namespace: read again
                    return None
                if self._statistics is not None:
                    self._statistics.add(found)
                for term, count in found.items():  # the candidates' terms, for diversity
                    corpus.df.setdefault(term, count)
            elif absent:
                return None  # reused statistics are checked by the postings query only
            else:
                match, at_least = _narrowed(
                    match, corpus.df, totals.doc_count, cfg.database_scan_limit
                )
                k_len = cfg.bm25_k1 * cfg.bm25_b / lexical.average_length
                candidates = index.candidates(
                    connection,
                    namespace,
                    CandidateQuery(
                        match=match,
                        at_least=at_least,
                        scan_limit=cfg.database_scan_limit,
                        scored=scored,
                        k_base=cfg.bm25_k1 * (1.0 - cfg.bm25_b),
                        k_description=k_len * cfg.description_boost,
                        k_context=k_len * cfg.context_term_weight,
                        k_other=k_len,
                        order=order,
                        domain=None if filters.domain is None else filters.domain.lower(),
                        task_type=None
                        if filters.task_type is None
                        else str(filters.task_type.value),
                        outcome_kind=filters.outcome_kind,
                        since_us=None if filters.since is None else micros(filters.since),
                        until_us=None if filters.until is None else micros(filters.until),
                        min_reward=filters.min_reward,
                    ),
                )
            return self._rank(
                candidates,
                corpus,
                task_description,
                context,
                limit,
                filters,
                include_below_floor=include_below_floor,
                now=now_s,
                diversify=diversify,
            )

    def _read_statistics(
        self, connection: Connection, terms: list[str], reuse: bool
    ) -> tuple[NamespaceTotals | None, dict[str, int], list[str]]:
        """The namespace's totals and the document frequencies of ``terms``.

        Also, when they are reused, the terms they take for absent (for the candidate query
        to check).
        """
        cache = self._statistics
        cached = cache.get(terms) if cache is not None and reuse else None
        if cached is not None:
            return cached[0], cached[1], [t for t in terms if cached[1][t] == 0]
        totals, df = self._index.statistics(connection, self._namespace, terms)
        if cache is not None:
            cache.put(totals, {t: df.get(t, 0) for t in terms})
        return totals, df, []

    def _reusing(self) -> bool:
        """Whether this namespace's statistics are reused (it is large)."""
        return self._statistics is not None and self._statistics.active

    def _impacts_apply(self, totals: NamespaceTotals) -> bool:
        """Whether the postings' impacts bound this configuration's scores."""
        cfg = self.config
        return (
            totals.impact_length is not None
            and cfg.bm25_k1 == IMPACT_K1
            and cfg.bm25_b == IMPACT_B
            and cfg.description_boost == IMPACT_FIELD_WEIGHT
            and cfg.context_term_weight == IMPACT_FIELD_WEIGHT
        )

    def _rank(
        self,
        candidates: Sequence[Candidate],
        corpus: CorpusStats,
        task_description: str,
        context: TaskContext,
        limit: int,
        filters: EpisodeFilters,
        *,
        include_below_floor: bool,
        now: float,
        diversify: bool,
    ) -> list[EpisodeHit]:
        """Rank the candidates in-process with the namespace's statistics."""
        if not candidates:
            return []
        ranked = self._ranking_index(candidates, corpus)
        return ranked.search(
            task_description,
            context,
            limit,
            filters,
            include_below_floor=include_below_floor,
            now=now,
            diversify=diversify,
        )

    def _ranking_index(self, candidates: Sequence[Candidate], corpus: CorpusStats) -> EpisodeIndex:
        """An in-memory index of the candidates that ranks with the namespace's statistics."""
        cfg = self.config
        ranking = EpisodeIndex(cfg, corpus=corpus)
        boost = cfg.description_boost
        for found in candidates:
            if cfg.context_term_weight == boost:  # one weight for all words (the default)
                counts = {t: n * boost for t, n in found.words.items()}
                for term, n in found.other.items():
                    counts[term] = counts.get(term, 0.0) + n
            else:
                counts = EpisodeFields(
                    description={t: n for t, n in found.words.items() if t[:1] != FIELD_MARK},
                    context={t: n for t, n in found.words.items() if t[:1] == FIELD_MARK},
                    other=found.other,
                ).weighted(boost, cfg.context_term_weight)
            ranking.add_entry(
                UUID(found.episode_id),
                counts,
                start_us=found.start_us,
                end_s=found.end_us / 1_000_000,
                reward=found.reward_total,
                context=_context(found.context),
                task_type=found.task_type,
                outcome_kind=found.outcome_kind,
            )
        return ranking


def _selected(scored: Sequence[QueryTerm], df: dict[str, int], floor: float) -> list[str]:
    """The rarest terms, until the others together cannot lift an episode to ``floor``.

    A term adds at most ``coefficient`` to the normalised BM25 score (its tf/(tf + norm)
    is below 1). With no floor, every term selects.
    """
    rarest = sorted(scored, key=lambda t: (df[t.term], t.term))
    if floor <= 0:
        return [t.term for t in rarest]
    remaining = sum(t.coefficient for t in rarest)
    chosen: list[str] = []
    for term in rarest:
        if remaining < floor:
            break
        chosen.append(term.term)
        remaining -= term.coefficient
    return chosen


_MAX_NARROWING_TERMS = 4


def _narrowed(
    match: list[str], df: dict[str, int], doc_count: int, limit: int
) -> tuple[list[str], int]:
    """The terms and how many of them a candidate must hold to expect at most ``limit``.

    Expected matches assume the terms occur independently (a Poisson-binomial tail).
    """
    if sum(df[t] for t in match) <= limit or len(match) < 2:
        return match, 1
    terms = sorted(match, key=lambda t: (df[t], t))[:_MAX_NARROWING_TERMS]
    probabilities = [min(df[t] / max(doc_count, 1), 1.0) for t in terms]
    exactly = [1.0] + [0.0] * len(terms)  # P(exactly j of the terms so far)
    for p in probabilities:
        for j in range(len(terms), 0, -1):
            exactly[j] = exactly[j] * (1 - p) + exactly[j - 1] * p
        exactly[0] *= 1 - p
    tail = list(itertools.accumulate(reversed(exactly)))[::-1]  # P(at least j)
    for at_least in range(1, len(terms) + 1):
        if tail[at_least] * doc_count <= limit:
            return terms, at_least
    return terms, len(terms)
