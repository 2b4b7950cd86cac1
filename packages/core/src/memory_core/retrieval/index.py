"""The in-memory episode index and the episode ranking formula.

Per episode it keeps only what ranking needs (BM25 postings and forward vectors, a few
numpy columns for context, reward, time and filters, optionally a normalised embedding),
never the episode itself. Ranking is vectorised over the candidate episodes; see the README
section "How retrieval ranks" for the formula.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import UUID

import numpy as np

from memory_core.config import RetrievalConfig
from memory_core.errors import ConfigurationError
from memory_core.models import Episode, OutcomeKind, TaskContext, TaskType
from memory_core.retrieval.columns import Column, Matrix, extended
from memory_core.retrieval.context import (
    COMPLEXITY_ORDER,
    ContextQuery,
    context_terms,
    domain_similarity,
)
from memory_core.retrieval.filters import EpisodeFilters
from memory_core.retrieval.lexical import CorpusStats, FloatArray, LexicalIndex
from memory_core.retrieval.tokenize import term_counts, tokenize

__all__ = [
    "EpisodeFields",
    "EpisodeHit",
    "EpisodeIndex",
    "episode_fields",
    "episode_terms",
    "episode_text",
    "query_weights",
]

_TASK_TYPES = {t: i for i, t in enumerate(TaskType)}
_OUTCOMES = {k: i for i, k in enumerate(get_args(OutcomeKind))}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY = 86_400.0


def _seconds(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # naive datetimes are taken as UTC
    return (value - _EPOCH).total_seconds()


def episode_text(episode: Episode) -> str:
    """The text an embedder sees for an episode: its description, tools and actions."""
    tools = " ".join(dict.fromkeys(step.tool for step in episode.steps))
    return f"{episode.task_description}\n{tools}".strip()


@dataclass(slots=True)
class EpisodeFields:
    """An episode's terms by field, before the configurable weights apply.

    Attributes:
        description: Occurrences of each description word.
        context: Occurrences of each context term (see `context_terms`).
        other: Tool, action (1 each), reflection and outcome (0.5 each) term counts.
    """

    description: dict[str, float]
    context: dict[str, float]
    other: dict[str, float]

    def weighted(self, description_boost: float, context_weight: float) -> dict[str, float]:
        """The weighted term counts `episode_terms` gives for these fields."""
        counts = {t: n * description_boost for t, n in self.description.items()}
        if context_weight > 0:
            for term, n in self.context.items():
                counts[term] = counts.get(term, 0.0) + n * context_weight
        for term, n in self.other.items():
            counts[term] = counts.get(term, 0.0) + n
        return counts


def episode_fields(episode: Episode) -> EpisodeFields:
    """The terms of an episode by field (the weights are applied by `EpisodeFields.weighted`)."""
    context: dict[str, float] = {}
    for term in context_terms(episode.context):
        context[term] = context.get(term, 0.0) + 1.0
    return EpisodeFields(
        description=term_counts(episode.task_description),
        context=context,
        other=_other_terms(episode),
    )


def episode_terms(
    episode: Episode, description_boost: float, context_weight: float = 1.0
) -> dict[str, float]:
    """Weighted term counts of an episode.

    The description counts ``description_boost`` per word; each context term (see
    `context_terms`) ``context_weight``; tools and actions 1; reflection and outcome text 0.5.
    """
    counts = term_counts(episode.task_description, description_boost)
    if context_weight > 0:
        for term in context_terms(episode.context):
            counts[term] = counts.get(term, 0.0) + context_weight
    return _other_terms(episode, counts)


def _other_terms(episode: Episode, counts: dict[str, float] | None = None) -> dict[str, float]:
    """Tool and action terms (1 each), reflection and outcome terms (0.5 each)."""
    counts = {} if counts is None else counts
    for step in episode.steps:
        term_counts(step.tool, 1.0, counts)
        term_counts(step.action, 1.0, counts)
    if episode.reflection is not None:
        for sentence in (
            *episode.reflection.successes,
            *episode.reflection.improvements,
            *episode.reflection.insights,
        ):
            term_counts(sentence, 0.5, counts)
    outcome = episode.outcome
    if outcome is not None:
        for text in (outcome.verdict, outcome.reason, outcome.error_details):
            if text:
                term_counts(text, 0.5, counts)
    return counts


def query_weights(
    terms: Sequence[str], context: TaskContext, config: RetrievalConfig
) -> dict[str, float]:
    """The weighted query of a search: its words, then its context terms (if weighted)."""
    query = dict.fromkeys(terms, config.description_boost)
    if config.context_term_weight > 0:
        for term in context_terms(context):
            query.setdefault(term, config.context_term_weight)
    return query


class _Vocab:
    """Strings <-> small integer ids."""

    __slots__ = ("ids", "names")

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def id(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = len(self.names)
            self.ids[name] = found
            self.names.append(name)
        return found


_MAX_PARTS = 256
"""Query domains whose similarity parts are kept (`_ContextGroups`)."""


class _ContextGroups:
    """Distinct contexts (domain, language, framework, complexity, tags) as numbered groups.

    Episodes share few distinct contexts, so context similarity is computed once per group
    and gathered per episode.
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[object, ...], int] = {}
        self._domains = _Vocab()
        self._languages = _Vocab()
        self._frameworks = _Vocab()
        self._tags = _Vocab()
        self._domain = Column(np.int32)
        self._language = Column(np.int32, -1)
        self._framework = Column(np.int32, -1)
        self._complexity = Column(np.int8)
        self._tag_count = Column(np.int16)
        self._tag_postings: list[array[int]] = []
        # per query complexity level / domain: that part of the similarity of every group
        # so far (extended when groups are added); queries repeat them a lot
        self._complexity_parts: dict[int, FloatArray] = {}
        self._domain_parts: dict[str, FloatArray] = {}

    def id(self, context: TaskContext) -> int:
        """The group of a context (created on first sight)."""
        language = context.language.lower() if context.language else None
        framework = context.framework.lower() if context.framework else None
        key = (context.domain.lower(), language, framework, context.complexity, *context.tags)
        found = self._ids.get(key)
        if found is not None:
            return found
        group = self._domain.size
        self._ids[key] = group
        self._domain.append(self._domains.id(context.domain.lower()))
        self._language.append(self._languages.id(language) if language else -1)
        self._framework.append(self._frameworks.id(framework) if framework else -1)
        self._complexity.append(COMPLEXITY_ORDER[context.complexity])
        self._tag_count.append(len(context.tags))
        for tag in context.tags:
            tag_id = self._tags.id(tag)
            if tag_id == len(self._tag_postings):
                self._tag_postings.append(array("i"))
            self._tag_postings[tag_id] = extended(self._tag_postings[tag_id], (group,))
        return group

    def with_domain(self, domain: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Mask of the groups of exactly this domain (case-insensitive)."""
        domain_id = self._domains.ids.get(domain.lower(), -2)
        mask: np.ndarray[Any, np.dtype[np.bool_]] = self._domain.values == domain_id
        return mask

    def similarity(self, query: ContextQuery) -> FloatArray:
        """Context similarity of every group to the query (see `context_similarity`)."""
        size = self._domain.size
        total = query.total_weight
        if total <= 0 or size == 0:
            return np.zeros(size, np.float32)
        level = query.complexity
        score = query.w_complexity * self._part(
            self._complexity_parts, level, lambda start: self._complexity_part(level, start)
        )
        if query.domain is not None:
            domain = query.domain
            score += query.w_domain * self._part(
                self._domain_parts, domain, lambda start: self._domain_part(domain, start)
            )
        if query.language is not None:
            lang = self._languages.ids.get(query.language, -2)
            score += query.w_language * (self._language.values == lang)
        if query.framework is not None:
            fw = self._frameworks.ids.get(query.framework, -2)
            score += query.w_framework * (self._framework.values == fw)
        if query.tags:
            shared = np.zeros(size, np.float32)
            for tag in query.tags:
                tag_id = self._tags.ids.get(tag)
                if tag_id is not None:
                    shared[np.frombuffer(self._tag_postings[tag_id], dtype=np.int32)] += 1.0
            union = len(query.tags) + self._tag_count.values - shared
            score += query.w_tags * shared / np.maximum(union, 1.0)
        result: FloatArray = (score / total).astype(np.float32)
        return result

    def _part(
        self, parts: dict[Any, FloatArray], key: Any, compute: Callable[[int], FloatArray]
    ) -> FloatArray:
        """``parts[key]`` covering every group, computing only the groups it lacks."""
        size = self._domain.size
        held = parts.get(key)
        if held is None or len(held) < size:
            if held is None and len(parts) >= _MAX_PARTS:
                parts.clear()  # many distinct query domains: start over
            start = 0 if held is None else len(held)
            fresh = compute(start)
            held = fresh if held is None else np.concatenate((held, fresh))
            parts[key] = held
        return held

    def _complexity_part(self, level: int, start: int) -> FloatArray:
        """Complexity similarity to query level ``level`` of the groups from ``start`` on."""
        complexity = self._complexity.values[start:].astype(np.float32)
        part: FloatArray = np.clip(1.0 - 0.5 * np.abs(complexity - level), 0.0, 1.0)
        return part

    def _domain_part(self, domain: str, start: int) -> FloatArray:
        """Domain similarity to query domain ``domain`` of the groups from ``start`` on."""
        table = np.array(
            [domain_similarity(domain, name) for name in self._domains.names], np.float32
        )
        part: FloatArray = table[self._domain.values[start:]]
        return part

    @property
    def nbytes(self) -> int:
        """Approximate bytes held."""
        columns = (self._domain, self._language, self._framework, self._complexity, self._tag_count)
        postings = sum(a.buffer_info()[1] * a.itemsize for a in self._tag_postings)
        return sum(c.nbytes for c in columns) + postings


@dataclass(frozen=True, slots=True)
class _Scored:
    """Candidate slots with their scores, relevance and score parts (aligned arrays)."""

    idx: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]
    relevance: np.ndarray[Any, Any]
    parts: dict[str, np.ndarray[Any, Any]]

    def subset(self, keep: np.ndarray[Any, Any]) -> _Scored:
        """Only the candidates where ``keep`` is true."""
        return _Scored(
            self.idx[keep],
            self.score[keep],
            self.relevance[keep],
            {k: v[keep] for k, v in self.parts.items()},
        )


@dataclass(slots=True)
class EpisodeHit:
    """One ranked episode (by slot/id) with its score breakdown."""

    episode_id: UUID
    score: float
    relevance: float
    below_floor: bool
    breakdown: dict[str, float] = field(default_factory=dict)


class EpisodeIndex:
    """Incremental index of the completed episodes of one namespace.

    Not thread-safe: the owner serialises calls.

    Args:
        config: Ranking knobs.
        corpus: Statistics of the whole namespace when this index holds only some of its
            episodes (candidates of a database search): they are then ranked as a full
            index would rank them.
    """

    def __init__(self, config: RetrievalConfig, corpus: CorpusStats | None = None) -> None:
        self.config = config
        self._lexical = LexicalIndex(
            config.bm25_k1,
            config.bm25_b,
            config.bm25_min_corpus,
            corpus=corpus,
            postings=corpus is None,  # candidates: indexed once, queried once
        )
        self._slots: dict[UUID, int] = {}
        self._ids: list[UUID | None] = []
        self._start_us = Column(np.int64)
        self._end_s = Column(np.float64)
        self._reward = Column(np.float32, np.nan)
        self._reward_score = Column(np.float32)  # reward / reward_scale, within [0, 1]
        self._group = Column(np.int32)
        self._task_type = Column(np.int8)
        self._outcome = Column(np.int8, -1)
        self._groups = _ContextGroups()
        self._vectors: Matrix | None = None

    # ------------------------------------------------------------ building

    def __len__(self) -> int:
        return self._lexical.live_count

    def __contains__(self, episode_id: object) -> bool:
        return episode_id in self._slots

    @property
    def dead_slots(self) -> int:
        """Slots of removed or replaced episodes (reclaimed only by a rebuild)."""
        return self._lexical.size - self._lexical.live_count

    def add(self, episode: Episode, vector: Sequence[float] | None = None) -> bool:
        """Index a completed episode (replacing an older version); False if incomplete."""
        if not episode.is_complete or episode.end_time is None:
            return False
        cfg = self.config
        self.add_entry(
            episode.episode_id,
            episode_terms(episode, cfg.description_boost, cfg.context_term_weight),
            start_us=int(_seconds(episode.start_time) * 1_000_000),
            end_s=_seconds(episode.end_time),
            reward=None if episode.reward is None else episode.reward.total,
            context=episode.context,
            task_type=episode.task_type,
            outcome_kind=episode.outcome.kind if episode.outcome else None,
            vector=vector,
        )
        return True

    def add_entry(
        self,
        episode_id: UUID,
        terms: dict[str, float],
        *,
        start_us: int,
        end_s: float,
        reward: float | None,
        context: TaskContext,
        task_type: TaskType | str,
        outcome_kind: str | None,
        vector: Sequence[float] | None = None,
    ) -> None:
        """Index what ranking needs of a completed episode (replacing an older version).

        Args:
            episode_id: The episode.
            terms: Its weighted term counts (`episode_terms`).
            start_us: Start time, microseconds since the epoch (UTC).
            end_s: End time, seconds since the epoch (UTC).
            reward: Its reward total, if scored.
            context: Its task context.
            task_type: Its task type.
            outcome_kind: How it ended.
            vector: Its embedding, if any.
        """
        self.remove(episode_id)
        slot = self._lexical.add(terms)
        self._slots[episode_id] = slot
        self._ids.append(episode_id)
        self._start_us.append(start_us)
        self._end_s.append(end_s)
        stored = np.float32(np.nan if reward is None else reward)
        self._reward.append(stored)
        scaled = stored / self.config.reward_scale  # float32, as over the column
        self._reward_score.append(0.0 if np.isnan(scaled) else min(max(scaled, 0.0), 1.0))
        self._group.append(self._groups.id(context))
        self._task_type.append(_TASK_TYPES[TaskType(task_type)])
        self._outcome.append(_OUTCOMES.get(outcome_kind, -1) if outcome_kind else -1)
        if vector is not None:
            self._put_vector(slot, vector)

    def _put_vector(self, slot: int, vector: Sequence[float]) -> None:
        row = np.asarray(vector, dtype=np.float32)
        if self._vectors is None:
            self._vectors = Matrix(len(row))
        if len(row) != self._vectors.width:
            raise ConfigurationError(
                f"the embedder returned a {len(row)}-dimensional vector but earlier vectors "
                f"have {self._vectors.width} dimensions; an embedder must return vectors of "
                "one fixed length"
            )
        norm = float(np.linalg.norm(row))
        if norm > 0:
            row = row / norm
        zero = np.zeros(self._vectors.width, np.float32)
        while self._vectors.size < slot:
            self._vectors.append(zero)
        self._vectors.append(row)

    def remove(self, episode_id: UUID) -> bool:
        """Forget an episode; False if it was not indexed."""
        slot = self._slots.pop(episode_id, None)
        if slot is None:
            return False
        self._lexical.remove(slot)
        self._ids[slot] = None
        return True

    @property
    def nbytes(self) -> int:
        """Approximate bytes of the index structures (excluding Python object overhead)."""
        columns = (
            self._start_us,
            self._end_s,
            self._reward,
            self._reward_score,
            self._group,
            self._task_type,
            self._outcome,
        )
        total = self._lexical.nbytes + sum(c.nbytes for c in columns)
        total += self._groups.nbytes
        if self._vectors is not None:
            total += self._vectors.nbytes
        return total

    # ------------------------------------------------------------- ranking

    def _filter_mask(self, filters: EpisodeFilters) -> np.ndarray[Any, np.dtype[np.bool_]]:
        mask = self._lexical.live.copy()
        if filters.domain is not None:
            mask &= self._groups.with_domain(filters.domain)[self._group.values]
        if filters.task_type is not None:
            mask &= self._task_type.values == _TASK_TYPES[TaskType(filters.task_type)]
        if filters.outcome_kind is not None:
            mask &= self._outcome.values == _OUTCOMES.get(filters.outcome_kind, -2)
        if filters.since is not None:
            mask &= self._start_us.values >= int(_seconds(filters.since) * 1_000_000)
        if filters.until is not None:
            mask &= self._start_us.values < int(_seconds(filters.until) * 1_000_000)
        if filters.min_reward is not None:
            with np.errstate(invalid="ignore"):
                mask &= self._reward.values >= filters.min_reward
        return mask

    def search(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        filters: EpisodeFilters,
        *,
        include_below_floor: bool = False,
        query_vector: Sequence[float] | None = None,
        semantic_enabled: bool = False,
        now: float | None = None,
        diversify: bool = True,
    ) -> list[EpisodeHit]:
        """Rank indexed episodes for a task, best first (see "How retrieval ranks").

        ``diversify=False`` skips the MMR re-ranking (near-copies stay, e.g. to count votes).
        """
        scored = self._score(
            task_description,
            context,
            self._filter_mask(filters),
            include_below_floor=include_below_floor,
            query_vector=query_vector,
            semantic_enabled=semantic_enabled,
            now=now,
        )
        if scored is None:
            return []
        return self._pick(scored, limit, diversify=diversify)

    def search_by_outcome(
        self,
        task_description: str,
        context: TaskContext,
        limit: int,
        outcomes: Sequence[OutcomeKind],
        *,
        query_vector: Sequence[float] | None = None,
        semantic_enabled: bool = False,
        now: float | None = None,
    ) -> list[EpisodeHit]:
        """The best ``limit`` relevant episodes of each outcome kind, kind after kind.

        One scoring pass; the same hits as one undiversified `search` per kind (filtered by
        ``outcome_kind``), concatenated in the order of ``outcomes``.
        """
        mask = self._filter_mask(EpisodeFilters())
        codes = [_OUTCOMES.get(kind, -2) for kind in outcomes]
        mask &= np.isin(self._outcome.values, codes)
        scored = self._score(
            task_description,
            context,
            mask,
            query_vector=query_vector,
            semantic_enabled=semantic_enabled,
            now=now,
        )
        if scored is None:
            return []
        hits: list[EpisodeHit] = []
        outcome = self._outcome.values[scored.idx]
        for code in codes:
            keep = outcome == code
            if keep.any():
                hits.extend(self._pick(scored.subset(keep), limit, diversify=False))
        return hits

    def _score(
        self,
        task_description: str,
        context: TaskContext,
        mask: np.ndarray[Any, np.dtype[np.bool_]],
        *,
        include_below_floor: bool = False,
        query_vector: Sequence[float] | None = None,
        semantic_enabled: bool = False,
        now: float | None = None,
    ) -> _Scored | None:
        """Score the episodes of ``mask`` (and above the floor unless asked); None if none."""
        cfg = self.config
        n = self._lexical.size
        if n == 0 or self._lexical.live_count == 0:
            return None
        terms = tokenize(task_description)
        qvec = None
        if query_vector is not None and self._vectors is not None:
            qvec = np.asarray(query_vector, np.float32)
            norm = float(np.linalg.norm(qvec))
            qvec = qvec / norm if norm > 0 else None
        has_text = bool(terms) or qvec is not None
        w_sem_cfg = cfg.semantic_weight if semantic_enabled else 0.0
        w_lex = cfg.lexical_weight if has_text else 0.0
        w_sem = w_sem_cfg if has_text and qvec is not None else 0.0
        w_ctx = cfg.context_weight + (0.0 if has_text else cfg.lexical_weight + w_sem_cfg)
        floor = cfg.min_relevance

        ctx_query = ContextQuery.of(context, cfg)
        ctx_table = self._groups.similarity(ctx_query)
        lexical = None
        if terms:
            lexical = self._lexical.scores(query_weights(terms, context, cfg))[0]
        semantic = None
        if qvec is not None and self._vectors is not None:
            vectors = self._vectors.values
            if vectors.shape[1] != len(qvec):
                raise ConfigurationError(
                    f"the query vector has {len(qvec)} dimensions but the stored episode "
                    f"vectors have {vectors.shape[1]}; use the same embedder for both"
                )
            semantic = np.zeros(n, np.float32)
            semantic[: len(vectors)] = np.clip(vectors @ qvec, 0.0, 1.0)
        text: np.ndarray[Any, Any] | None = None
        if has_text:
            lexical_all = lexical if lexical is not None else np.zeros(n, np.float32)
            if semantic is None:
                text = lexical_all
            else:
                text = (w_lex * lexical_all + w_sem * semantic) / (w_lex + w_sem)

        if not include_below_floor:
            if text is not None:
                mask &= text >= max(floor, 1e-6)
            elif floor > 0:
                mask &= (ctx_table >= floor)[self._group.values]
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return None

        ctx = ctx_table[self._group.values[idx]]
        share = cfg.context_relevance_share
        relevance: np.ndarray[Any, Any]
        if text is None:
            relevance = ctx
        elif ctx_query.stated:
            relevance = text[idx] * (1.0 - share + share * ctx)
        else:  # an unstated context counts as a half match, as if the context were unknown
            relevance = text[idx] * (1.0 - share / 2)
        if not include_below_floor:  # the rest is scored only for what stays
            keep = relevance >= floor
            if not keep.all():
                idx, ctx, relevance = idx[keep], ctx[keep], relevance[keep]
                if len(idx) == 0:
                    return None

        zeros = np.zeros(len(idx), np.float32)
        reward = self._reward_score.values[idx]
        age = np.maximum((time.time() if now is None else now) - self._end_s.values[idx], 0.0)
        recency = np.exp2(age * (-1.0 / (_SECONDS_PER_DAY * cfg.recency_half_life_days)))
        parts = {
            "lexical": w_lex * lexical[idx] if lexical is not None else zeros,
            "semantic": w_sem * semantic[idx] if semantic is not None else zeros,
            "context": w_ctx * ctx,
            "reward": cfg.reward_weight * reward,
            "recency": cfg.recency_weight * recency,
        }
        if w_sem_cfg == 0:
            del parts["semantic"]
        score = sum(parts.values())
        assert isinstance(score, np.ndarray)
        return _Scored(idx, score, relevance, parts)

    def _pick(self, scored: _Scored, limit: int, *, diversify: bool) -> list[EpisodeHit]:
        """The best ``limit`` of the scored episodes (diversified if asked), as hits."""
        cfg = self.config
        floor = cfg.min_relevance
        idx, score, relevance, parts = scored.idx, scored.score, scored.relevance, scored.parts
        pool_size = min(len(idx), max(cfg.mmr_pool, 3 * limit))
        if pool_size < len(idx):
            top = np.argpartition(-score, pool_size - 1)[:pool_size]
        else:
            top = np.arange(len(idx))
        top = top[np.lexsort((-idx[top], -score[top]))]
        weight = cfg.diversity_weight if diversify else 0.0
        picks = self._diversify(idx[top], score[top], limit, weight)
        hits = []
        for position, penalty in picks:
            j = int(top[position])
            breakdown = {k: float(v[j]) for k, v in parts.items()}
            breakdown["diversity"] = -penalty
            rel = float(relevance[j])
            episode_id = self._ids[int(idx[j])]
            assert episode_id is not None
            hits.append(
                EpisodeHit(
                    episode_id=episode_id,
                    score=math.fsum(breakdown.values()),
                    relevance=rel,
                    below_floor=rel < floor,
                    breakdown=breakdown,
                )
            )
        return hits

    def _diversify(
        self,
        slots: np.ndarray[Any, Any],
        score: np.ndarray[Any, Any],
        limit: int,
        weight: float,
    ) -> list[tuple[int, float]]:
        """Greedy MMR over score-sorted candidates.

        Each round picks the best score minus ``weight`` x the highest similarity to a result
        already picked. Returns (position in ``slots``, penalty) pairs.
        """
        count = min(limit, len(slots))
        if weight == 0 or len(slots) <= 1:
            return [(i, 0.0) for i in range(count)]
        sims = self._lexical.cosine_matrix(slots.astype(np.int64))
        closest = np.zeros(len(slots), np.float64)
        available = np.ones(len(slots), np.bool_)
        picks: list[tuple[int, float]] = []
        for _ in range(count):
            adjusted = np.where(available, score - weight * closest, -np.inf)
            best = int(np.argmax(adjusted))
            picks.append((best, float(weight * closest[best])))
            available[best] = False
            np.maximum(closest, sims[best], out=closest)
        return picks
