"""The database search index: maintained with the episodes, queried for search candidates.

PostgreSQL only. Every write that stores a completed episode, and every delete, updates the
index in the same transaction (so another process's completed episode is searchable as soon
as it commits): the episode's terms by field, the namespace's document frequencies and its
totals (see `memory_core.storage._search_schema`). Searches ask `SearchIndex.candidates` for
the best-matching episodes of one namespace (BM25 over the query terms, computed in SQL with
the namespace's own statistics, plus reward and recency); the caller ranks those with the
in-memory ranking (`memory_core.retrieval.database`).

Impact-ordered postings (``mc_search_postings``) let a search read each query term's best
episodes first. A posting's impact is the term's BM25 term-frequency factor in the episode,
``tf / (tf + k1 · (1 - b + b · length / impact_length))``, with the default ranking knobs
(`IMPACT_K1`, `IMPACT_B`, both field weights `IMPACT_FIELD_WEIGHT`) and the namespace's
``impact_length`` (its average weighted length when it was first indexed, then fixed, so
postings never need rewriting as the namespace grows), rounded up to a multiple of
`IMPACT_STEP`. With those knobs, an episode's true factor under the current average length
``avgdl`` is at most ``impact / (impact + rho · (1 - impact))`` with
``rho = min(1, impact_length / avgdl)``, which bounds what an episode not yet read can score
(`SearchIndex.ranked_candidates`).

A term's postings are read in the order of their ``weight`` (`posting_weight`): the
impact plus the episode's reward as the default weights count them in an episode's score
(``0.05 · impact + 0.15 · min(max(reward / 2, 0), 1)``), so each list starts with the
episodes that would rank best on that term, and the lists of a query's terms meet on the
well-rewarded episodes holding several of them. An unread posting of weight at most ``w``
has an impact of at most ``min(1, w / 0.05)``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from memory_core.errors import StorageError
from memory_core.models import Episode
from memory_core.storage.browse import micros

__all__ = [
    "IMPACT_B",
    "IMPACT_FIELD_WEIGHT",
    "IMPACT_K1",
    "IMPACT_STEP",
    "WEIGHT_IMPACT",
    "MAX_TERM_LENGTH",
    "Candidate",
    "CandidateOrder",
    "CandidateQuery",
    "NamespaceTotals",
    "PostingQuery",
    "QueryTerm",
    "SearchIndex",
    "backfill_postings",
    "posting_weight",
    "posting_key",
    "namespace_key",
]

MAX_TERM_LENGTH = 256
"""Longer terms (rare, and never typed in a query) are left out of the index."""

_CHUNK = 1_000

IMPACT_K1 = 1.2
"""BM25 ``k1`` of the postings' impacts (the default `RetrievalConfig.bm25_k1`)."""
IMPACT_B = 0.75
"""BM25 ``b`` of the postings' impacts (the default `RetrievalConfig.bm25_b`)."""
IMPACT_FIELD_WEIGHT = 2.0
"""What one occurrence among an episode's ``words`` counts in the impacts (the default
description boost and context term weight)."""
IMPACT_STEP = 1.0 / 16.0
"""Impacts are rounded up to a multiple of this (a power of two: exact in any float)."""
WEIGHT_IMPACT = 0.05
"""`posting_weight`: what a unit of impact counts (the default lexical weight times a
typical term's share of a query)."""
_WEIGHT_REWARD = 0.15
"""`posting_weight`: weight of ``reward / 2`` (the default reward weight and scale)."""
_WEIGHT_SLACK = 1e-6
"""Weights recomputed (to delete postings) match stored (single-precision) ones within this
share."""


def posting_weight(impact: float, reward_total: float | None) -> float:
    """The order of a term's postings (higher first): impact, then the episode's reward."""
    return WEIGHT_IMPACT * impact + _reward_weight(reward_total)


def _reward_weight(reward_total: float | None) -> float:
    """The reward's part of `posting_weight` (the same for all of an episode's postings)."""
    return _WEIGHT_REWARD * min(max((reward_total or 0.0) / 2.0, 0.0), 1.0)


def namespace_key(namespace: str) -> str:
    """The prefix of a namespace's lexemes (8 hex digits of a hash, then ``:``).

    Two namespaces sharing a key would only share GIN postings: every query also filters
    on the namespace column.
    """
    return hashlib.blake2b(namespace.encode(), digest_size=4).hexdigest() + ":"


@dataclass(frozen=True, slots=True)
class NamespaceTotals:
    """What the index holds for a namespace: episodes and total length per field."""

    doc_count: int
    description_length: float
    context_length: float
    other_length: float
    impact_length: float | None = None
    """The average weighted length the postings' impacts assume (None: no postings)."""


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One query term as the SQL ranking uses it.

    Attributes:
        term: The term.
        field: True for a context term (found only among the ``words`` of a document).
        weight: What one occurrence in ``words`` counts (the description boost, or the
            context term weight); occurrences in ``other`` count as stored.
        coefficient: ``idf · (k1 + 1) / reference``: the term's share of the normalised
            BM25 score of a document is ``coefficient · tf / (tf + norm)``.
    """

    term: str
    field: bool
    weight: float
    coefficient: float


@dataclass(frozen=True, slots=True)
class CandidateOrder:
    """How a candidate query orders and cuts its candidates.

    Attributes:
        min_lexical: Candidates whose normalised BM25 score cannot reach this are left
            out (0: no floor).
        lexical_weight: Weight of the BM25 score in the candidate order.
        reward_weight: Weight of ``reward / reward_scale`` (capped to [0, 1]).
        reward_scale: Reward total that counts as 1.
        recency_weight: Weight of ``0.5 ** (age / half_life)``.
        half_life_us: Recency half-life in microseconds.
        now_us: "Now" for recency, microseconds since the epoch.
        limit: Most candidates returned.
    """

    min_lexical: float
    lexical_weight: float
    reward_weight: float
    reward_scale: float
    recency_weight: float
    half_life_us: float
    now_us: int
    limit: int

    def params(self) -> dict[str, Any]:
        """The SQL parameters of the order (``min_lexical`` is each query's own)."""
        return {
            "w_lexical": self.lexical_weight,
            "w_reward": self.reward_weight,
            "reward_scale": self.reward_scale,
            "w_recency": self.recency_weight,
            "half_life_us": self.half_life_us,
            "now_us": self.now_us,
            "limit": self.limit,
        }


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """A candidate search of one namespace.

    Attributes:
        match: Terms a candidate must hold (none: any episode).
        at_least: How many of the ``match`` terms it must hold (1: any of them).
        scan_limit: Most matching episodes read and scored (in no particular order).
        scored: Terms of the BM25 score.
        k_base: ``k1 · (1 - b)``.
        k_description: ``k1 · b / avgdl`` times the description boost.
        k_context: ``k1 · b / avgdl`` times the context term weight.
        k_other: ``k1 · b / avgdl``.
        order: How candidates are ordered and cut.
        domain: Only this domain (lower-cased).
        task_type: Only this task type.
        outcome_kind: Only this outcome.
        since_us: Only episodes started at or after this.
        until_us: Only episodes started before this.
        min_reward: Only episodes with at least this reward.
    """

    match: Sequence[str]
    at_least: int
    scan_limit: int
    scored: Sequence[QueryTerm]
    k_base: float
    k_description: float
    k_context: float
    k_other: float
    order: CandidateOrder
    domain: str | None = None
    task_type: str | None = None
    outcome_kind: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    min_reward: float | None = None


@dataclass(frozen=True, slots=True)
class PostingQuery:
    """A candidate search of one namespace read from the impact-ordered postings.

    Attributes:
        terms: The terms whose postings are read, best impact first.
        coefficients: Each term's share of the normalised BM25 score per unit of impact
            (`QueryTerm.coefficient`), aligned with ``terms``.
        unread: Most the other query terms can add to an episode's normalised BM25 score.
        depth: Most postings read per term.
        rho: ``min(1, impact_length / avgdl)``: the slack of the impacts' bound.
        order: How candidates are ordered and cut (the BM25 score is the one estimated
            from the impacts, and ``min_lexical`` applies to its upper bound).
        absent: Terms the caller takes for absent from the namespace (from statistics it
            reused): their document frequencies are read too.
        frequencies: Whether to read the document frequencies of the candidates' terms
            (False when the caller has most of them already and looks up the rest).
    """

    terms: Sequence[str]
    coefficients: Sequence[float]
    unread: float
    depth: int
    rho: float
    order: CandidateOrder
    absent: Sequence[str] = ()
    frequencies: bool = True


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate episode: what the in-memory ranking needs of it."""

    episode_id: str
    words: dict[str, float]
    other: dict[str, float]
    context: str
    task_type: str
    outcome_kind: str | None
    start_us: int
    end_us: int
    reward_total: float | None


def _fields(episode: Episode) -> tuple[dict[str, float], dict[str, float]]:
    from memory_core.retrieval.index import episode_fields  # retrieval imports storage

    fields = episode_fields(episode)
    words = {
        t: n
        for t, n in (*fields.description.items(), *fields.context.items())
        if len(t) <= MAX_TERM_LENGTH
    }
    other = {t: n for t, n in fields.other.items() if len(t) <= MAX_TERM_LENGTH}
    return words, other


def _tsquery(terms: Sequence[str], at_least: int) -> str:
    """A tsquery matching ``at_least`` of the (already prefixed) lexemes, quoted as they are."""
    quoted = [_quote(t) for t in terms]
    if at_least <= 1:
        return " | ".join(quoted)
    return " | ".join(
        "(" + " & ".join(group) + ")" for group in itertools.combinations(quoted, at_least)
    )


_DOC_COLUMNS = (
    "namespace",
    "episode_id",
    "words",
    "other",
    "description_length",
    "context_length",
    "other_length",
    "context",
    "domain",
    "task_type",
    "outcome_kind",
    "start_us",
    "end_us",
    "reward_total",
    "lexemes",
)
_COPY_DOCS = f"COPY mc_search_docs ({', '.join(_DOC_COLUMNS)}) FROM STDIN"


def _copy_docs(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert document rows with one ``COPY`` (a bulk import writes thousands at once)."""
    _copy(
        connection,
        _COPY_DOCS,
        "".join(_copy_line(tuple(row[c] for c in _DOC_COLUMNS)) for row in rows),
    )


_COPY_POSTINGS = (
    "COPY mc_search_postings (namespace_key, term, weight, impact, episode_id, reward_total, "
    "end_us) FROM STDIN"
)

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A text value escaped for ``COPY``'s text format."""
    return value.translate(_COPY_ESCAPES)


def _copy_line(row: Sequence[Any]) -> str:
    """One row in ``COPY``'s text format (None is NULL; text escaped)."""
    return (
        "\t".join(
            "\\N"
            if v is None
            else v.translate(_COPY_ESCAPES)
            if isinstance(v, str)
            else repr(v)
            if isinstance(v, float)
            else str(v)
            for v in row
        )
        + "\n"
    )


def _copy(connection: Connection, sql: str, data: str) -> None:
    """Insert rows (``COPY`` text, `_copy_line`) with one ``COPY`` on the driver connection.

    Formatting the rows here and sending them as one block costs a fraction of writing
    them one by one through the driver (a bulk import sends tens of thousands).
    """
    if not data:
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(data)


def _impact_doc_length(words: Mapping[str, float], other: Mapping[str, float]) -> float:
    """An episode's weighted length as the impacts count it."""
    return IMPACT_FIELD_WEIGHT * sum(words.values()) + sum(other.values())


def _impacts(
    words: Mapping[str, float], other: Mapping[str, float], impact_length: float
) -> list[tuple[str, float]]:
    """Each term of an episode with its impact (see the module docstring)."""
    norm = IMPACT_K1 * (
        1.0 - IMPACT_B + IMPACT_B * _impact_doc_length(words, other) / impact_length
    )
    out = []
    for term in words.keys() | other.keys():
        tf = IMPACT_FIELD_WEIGHT * words.get(term, 0.0) + other.get(term, 0.0)
        out.append((term, math.ceil(tf / (tf + norm) / IMPACT_STEP) * IMPACT_STEP))
    return out


_BACKFILL_LENGTH = text(
    "UPDATE mc_search_stats SET impact_length = greatest((:w * (description_length "
    "+ context_length) + other_length) / doc_count, 1) "
    "WHERE doc_count > 0 AND impact_length IS NULL"
)
_BACKFILL_POSTINGS = text(
    "INSERT INTO mc_search_postings (namespace_key, term, weight, impact, episode_id, "
    "reward_total, end_us) "
    "SELECT :key, i.term, :weight_impact * i.impact + :weight_reward * least(greatest("
    "coalesce(i.reward_total, 0) / 2.0, 0), 1), i.impact, CAST(i.episode_id AS uuid), "
    "i.reward_total, i.end_us FROM (SELECT t.term, d.episode_id, d.reward_total, d.end_us, "
    "ceil(t.tf / (t.tf + :k1 * (1 - :b + :b * (:w * "
    "(d.description_length + d.context_length) + d.other_length) / s.impact_length)) "
    "/ :step) * :step AS impact "
    "FROM mc_search_docs d JOIN mc_search_stats s ON s.namespace = d.namespace "
    "CROSS JOIN LATERAL (SELECT u.term, sum(u.n) AS tf FROM ("
    "SELECT key AS term, :w * CAST(value AS float8) AS n FROM jsonb_each_text(d.words) "
    "UNION ALL SELECT key, CAST(value AS float8) FROM jsonb_each_text(d.other)) u "
    "GROUP BY u.term) t "
    "WHERE d.namespace = :namespace AND s.impact_length IS NOT NULL) i"
)


def backfill_postings(connection: Connection) -> None:
    """Fill in the postings of the episodes indexed before there were postings (PostgreSQL)."""
    params = {
        "k1": IMPACT_K1,
        "b": IMPACT_B,
        "w": IMPACT_FIELD_WEIGHT,
        "step": IMPACT_STEP,
        "weight_impact": WEIGHT_IMPACT,
        "weight_reward": _WEIGHT_REWARD,
    }
    connection.execute(_BACKFILL_LENGTH, {"w": IMPACT_FIELD_WEIGHT})
    namespaces = connection.execute(
        text("SELECT namespace FROM mc_search_stats WHERE impact_length IS NOT NULL")
    ).scalars()
    for namespace in list(namespaces):
        key = {"namespace": namespace, "key": posting_key(namespace)}
        connection.execute(_BACKFILL_POSTINGS, {**params, **key})


def _quote(lexeme: str) -> str:
    """A lexeme quoted for tsvector/tsquery input (taken as-is, no parser involved)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


_DELETE_DOCS = text(
    "DELETE FROM mc_search_docs WHERE namespace = :namespace AND episode_id = ANY(:ids) "
    "RETURNING episode_id, words, other, description_length, context_length, other_length, "
    "reward_total"
)
_DELETE_POSTINGS = text(
    "DELETE FROM mc_search_postings p USING unnest(CAST(:terms AS text[]), "
    "CAST(:impacts AS real[]), CAST(:weights AS float8[]), CAST(:ids AS uuid[])) "
    "AS x(term, impact, weight, episode_id) "
    "WHERE p.namespace_key = :key AND p.term = x.term AND p.impact = x.impact "
    "AND p.weight BETWEEN x.weight * (1 - :slack) - 1e-12 AND x.weight * (1 + :slack) + 1e-12 "
    "AND p.episode_id = x.episode_id"
)
_IMPACT_LENGTH = text("SELECT impact_length FROM mc_search_stats WHERE namespace = :namespace")
_ADD_TERMS = text(
    "INSERT INTO mc_search_terms (namespace, term, df) "
    "SELECT :namespace, t.term, t.n FROM unnest(CAST(:terms AS text[]), CAST(:counts AS int[])) "
    "AS t(term, n) ORDER BY t.term "
    "ON CONFLICT (namespace, term) DO UPDATE SET df = mc_search_terms.df + EXCLUDED.df"
)
_ADD_TOTALS = text(
    "INSERT INTO mc_search_stats (namespace, doc_count, description_length, context_length, "
    "other_length, impact_length) "
    "VALUES (:namespace, :docs, :description, :context, :other, :impact_length) "
    "ON CONFLICT (namespace) DO UPDATE SET "
    "impact_length = coalesce(mc_search_stats.impact_length, EXCLUDED.impact_length), "
    "doc_count = mc_search_stats.doc_count + EXCLUDED.doc_count, "
    "description_length = mc_search_stats.description_length + EXCLUDED.description_length, "
    "context_length = mc_search_stats.context_length + EXCLUDED.context_length, "
    "other_length = mc_search_stats.other_length + EXCLUDED.other_length"
)
_TOTALS = text(
    "SELECT doc_count, description_length, context_length, other_length, impact_length "
    "FROM mc_search_stats WHERE namespace = :namespace"
)
_FREQUENCIES = text(
    "SELECT term, df FROM mc_search_terms WHERE namespace = :namespace AND term = ANY(:terms)"
)
_STATISTICS = text(
    "SELECT NULL, doc_count, description_length, context_length, other_length, impact_length "
    "FROM mc_search_stats WHERE namespace = :namespace UNION ALL "
    "SELECT term, df, 0, 0, 0, NULL FROM mc_search_terms WHERE namespace = :namespace "
    "AND term = ANY(:terms)"
)
_UNINDEXED = text(
    "SELECT e.episode_id FROM mc_episodes e WHERE e.namespace = :namespace "
    "AND e.end_us IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mc_search_docs d "
    "WHERE d.namespace = e.namespace AND d.episode_id = e.episode_id)"
)
_COMPLETED = text(
    "SELECT count(*) FROM mc_episodes WHERE namespace = :namespace AND end_us IS NOT NULL"
)


class SearchIndex:
    """Maintains and queries the search index tables of a PostgreSQL store.

    The maintenance methods run inside the caller's write transaction (``connection``);
    the query methods take a connection from `reading` (one transaction per search).

    Args:
        engine: The store's SQLAlchemy engine.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Reads in autocommit: at READ COMMITTED each statement sees its own snapshot in a
        # transaction too, so a BEGIN and a COMMIT would only add two round trips.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for the query methods (they only read).

        Raises:
            StorageError: If the database fails.
        """
        try:
            with self._reader.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StorageError(f"search index query failed: {exc}") from exc

    def index(self, namespace: str, episodes: Sequence[Episode]) -> None:
        """Index (or re-index) stored episodes in a transaction of their own.

        Used to catch up with episodes stored before the index existed; serialised per
        namespace with the other writers that take the namespace's lock.

        Raises:
            StorageError: If the database fails.
        """
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(namespace)}
                )
                self.episodes_stored(connection, namespace, episodes)
        except SQLAlchemyError as exc:
            raise StorageError(f"search index update failed: {exc}") from exc

    # ------------------------------------------------------------- maintenance

    def episodes_stored(
        self,
        connection: Connection,
        namespace: str,
        episodes: Sequence[Episode],
        *,
        fresh: bool = False,
    ) -> None:
        """Index the completed ones of ``episodes`` (replacing what was indexed for them).

        Args:
            connection: The caller's write transaction.
            namespace: The episodes' namespace.
            episodes: The episodes just stored.
            fresh: True when none of them was stored before this transaction (an import of
                new episodes): there is nothing indexed to replace.
        """
        complete = {str(e.episode_id): e for e in episodes if e.is_complete and e.end_time}
        if not complete:
            return
        df: Counter[str] = Counter()
        totals = [0, 0.0, 0.0, 0.0]
        impact_length = self._impact_length(connection, namespace)
        if not fresh:
            self._forget(connection, namespace, list(complete), df, totals, impact_length)
        key = namespace_key(namespace)
        rows: list[dict[str, Any]] = []
        fields = {episode_id: _fields(e) for episode_id, e in complete.items()}
        if impact_length is None:  # the namespace's first episodes: their average length
            lengths = [_impact_doc_length(w, o) for w, o in fields.values()]
            impact_length = max(sum(lengths) / len(lengths), 1.0)
        postings: list[str] = []
        posting_of = posting_key(namespace)
        lexemes: dict[str, tuple[str, str]] = {}

        def lexeme(term: str) -> tuple[str, str]:
            """A term's posting row start (``COPY`` text) and its quoted lexeme, made once."""
            found = lexemes.get(term)
            if found is None:
                found = lexemes[term] = (f"{posting_of}\t{_copy_text(term)}", _quote(key + term))
            return found

        for episode_id, episode in complete.items():
            words, other = fields[episode_id]
            terms = words.keys() | other.keys()
            df.update(terms)
            context_length = sum(n for t, n in words.items() if t[:1] == _FIELD_MARK)
            description_length = sum(words.values()) - context_length
            other_length = sum(other.values())
            totals[0] += 1
            totals[1] += description_length
            totals[2] += context_length
            totals[3] += other_length
            assert episode.end_time is not None
            rows.append(
                {
                    "namespace": namespace,
                    "episode_id": episode_id,
                    "words": json.dumps(words),
                    "other": json.dumps(other),
                    "description_length": description_length,
                    "context_length": context_length,
                    "other_length": other_length,
                    "context": episode.context.model_dump_json(),
                    "domain": episode.context.domain.lower(),
                    "task_type": episode.task_type.value,
                    "outcome_kind": episode.outcome.kind if episode.outcome else None,
                    "start_us": micros(episode.start_time),
                    "end_us": micros(episode.end_time),
                    "reward_total": episode.reward.total if episode.reward else None,
                    "lexemes": " ".join(sorted(lexeme(t)[1] for t in terms)),
                }
            )
            reward = episode.reward.total if episode.reward else None
            end_us = micros(episode.end_time)
            tail = _copy_line((episode_id, reward, end_us))
            reward_weight = _reward_weight(reward)  # posting_weight, one term at a time:
            postings += [
                f"{lexeme(term)[0]}\t{WEIGHT_IMPACT * i + reward_weight!r}\t{i!r}\t{tail}"
                for term, i in _impacts(words, other, impact_length)
            ]
        _copy_docs(connection, rows)
        postings.sort()  # by term: a term's postings arrive together, on neighbouring pages
        _copy(connection, _COPY_POSTINGS, "".join(postings))
        self._count(connection, namespace, df, totals, impact_length)

    def episodes_deleted(self, connection: Connection, namespace: str, ids: Sequence[str]) -> None:
        """Forget deleted episodes (call before deleting them)."""
        if not ids:
            return
        df: Counter[str] = Counter()
        totals = [0, 0.0, 0.0, 0.0]
        impact_length = self._impact_length(connection, namespace)
        self._forget(connection, namespace, list(ids), df, totals, impact_length)
        self._count(connection, namespace, df, totals)

    @staticmethod
    def namespace_deleted(connection: Connection, namespace: str) -> None:
        """Forget every posting of a namespace whose other rows are being deleted."""
        connection.execute(
            text("DELETE FROM mc_search_postings WHERE namespace_key = :key"),
            {"key": posting_key(namespace)},
        )

    @staticmethod
    def _impact_length(connection: Connection, namespace: str) -> float | None:
        """The namespace's ``impact_length`` (None before its first indexed episode)."""
        found = connection.execute(_IMPACT_LENGTH, {"namespace": namespace}).scalar()
        return None if found is None else float(found)

    @staticmethod
    def _forget(
        connection: Connection,
        namespace: str,
        ids: list[str],
        df: Counter[str],
        totals: list[Any],
        impact_length: float | None,
    ) -> None:
        """Delete the documents of ``ids`` and their postings (updating ``df``, ``totals``)."""
        for start in range(0, len(ids), _CHUNK):
            removed = connection.execute(
                _DELETE_DOCS, {"namespace": namespace, "ids": ids[start : start + _CHUNK]}
            )
            postings: list[tuple[str, float, float, str]] = []
            for episode_id, words, other, description, context, rest, reward in removed:
                df.subtract(words.keys() | other.keys())
                totals[0] -= 1
                totals[1] -= description
                totals[2] -= context
                totals[3] -= rest
                if impact_length is not None:
                    postings += [
                        (term, impact, posting_weight(impact, reward), episode_id)
                        for term, impact in _impacts(words, other, impact_length)
                    ]
            for first in range(0, len(postings), 10 * _CHUNK):
                chunk = postings[first : first + 10 * _CHUNK]
                connection.execute(
                    _DELETE_POSTINGS,
                    {
                        "key": posting_key(namespace),
                        "terms": [t for t, _, _, _ in chunk],
                        "impacts": [i for _, i, _, _ in chunk],
                        "weights": [w for _, _, w, _ in chunk],
                        "ids": [e for _, _, _, e in chunk],
                        "slack": _WEIGHT_SLACK,
                    },
                )

    @staticmethod
    def _count(
        connection: Connection,
        namespace: str,
        df: Counter[str],
        totals: list[Any],
        impact_length: float | None = None,
    ) -> None:
        """Apply document-frequency and total deltas (terms in one order: no deadlocks).

        ``impact_length`` is recorded if the namespace has none yet.
        """
        changed = sorted((t, n) for t, n in df.items() if n)
        if changed:
            connection.execute(
                _ADD_TERMS,
                {
                    "namespace": namespace,
                    "terms": [t for t, _ in changed],
                    "counts": [n for _, n in changed],
                },
            )
        if totals[0] or changed:
            connection.execute(
                _ADD_TOTALS,
                {
                    "namespace": namespace,
                    "docs": totals[0],
                    "description": totals[1],
                    "context": totals[2],
                    "other": totals[3],
                    "impact_length": impact_length,
                },
            )

    def unindexed(self, connection: Connection, namespace: str) -> list[str]:
        """Completed episodes of the namespace missing from the index (stored before it).

        Cheap when nothing is missing: the index's count is compared with the episodes'
        first.
        """
        totals = self.totals(connection, namespace)
        completed = int(connection.execute(_COMPLETED, {"namespace": namespace}).scalar_one())
        if completed == (totals.doc_count if totals else 0):
            return []
        return list(connection.execute(_UNINDEXED, {"namespace": namespace}).scalars())

    # ----------------------------------------------------------------- queries

    @staticmethod
    def totals(connection: Connection, namespace: str) -> NamespaceTotals | None:
        """The namespace's totals, or None when nothing of it was ever indexed."""
        row = connection.execute(_TOTALS, {"namespace": namespace}).first()
        if row is None:
            return None
        return NamespaceTotals(
            int(row[0]),
            float(row[1]),
            float(row[2]),
            float(row[3]),
            None if row[4] is None else float(row[4]),
        )

    @staticmethod
    def statistics(
        connection: Connection, namespace: str, terms: Sequence[str]
    ) -> tuple[NamespaceTotals | None, dict[str, int]]:
        """The namespace's totals and the document frequencies of ``terms`` (one query)."""
        wanted = [t for t in dict.fromkeys(terms) if len(t) <= MAX_TERM_LENGTH][:_CHUNK]
        totals, found = None, {}
        for term, count, description, context, other, impact_length in connection.execute(
            _STATISTICS, {"namespace": namespace, "terms": wanted}
        ):
            if term is None:
                totals = NamespaceTotals(
                    int(count),
                    float(description),
                    float(context),
                    float(other),
                    None if impact_length is None else float(impact_length),
                )
            else:
                found[str(term)] = int(count)
        return totals, found

    @staticmethod
    def frequencies(connection: Connection, namespace: str, terms: Sequence[str]) -> dict[str, int]:
        """Document frequencies of ``terms`` in the namespace (absent terms are left out)."""
        found: dict[str, int] = {}
        wanted = [t for t in dict.fromkeys(terms) if len(t) <= MAX_TERM_LENGTH]
        for start in range(0, len(wanted), _CHUNK):
            rows = connection.execute(
                _FREQUENCIES, {"namespace": namespace, "terms": wanted[start : start + _CHUNK]}
            )
            found.update((str(t), int(n)) for t, n in rows)
        return found

    @staticmethod
    def candidates(
        connection: Connection, namespace: str, query: CandidateQuery
    ) -> list[Candidate]:
        """The best candidates of the namespace for ``query``, best first."""
        sql, params = _candidate_sql(namespace, query)
        return [_candidate(r) for r in connection.execute(text(sql), params)]

    @staticmethod
    def ranked_candidates(
        connection: Connection, namespace: str, query: PostingQuery
    ) -> tuple[list[Candidate], float, dict[str, int]]:
        """The best candidates read from the impact-ordered postings, best first.

        Reads the ``depth`` best postings of each term. An episode none of whose postings
        was read scores at most the returned bound (from each term's last impact read, or
        nothing for a term read to its end, plus ``unread``); an episode read is left out
        when even its upper bound is below ``min_lexical``. Candidates are ordered by the
        impact-estimated BM25 score plus reward and recency.

        Returns:
            (the candidates, the bound on the normalised BM25 score of an episode not read,
            the document frequencies of ``query.absent`` and, with ``query.frequencies``, of
            the candidates' terms, so ranking them needs no other query; terms absent from
            the namespace left out).
        """
        if not query.terms:
            return [], query.unread, {}
        params = {
            "namespace": namespace,
            "key": posting_key(namespace),
            "terms": list(query.terms),
            "coefficients": list(query.coefficients),
            "unread": query.unread,
            "depth": query.depth,
            "rho": query.rho,
            "min_lexical": query.order.min_lexical,
            **query.order.params(),
            "weight_impact": WEIGHT_IMPACT,
            "absent": list(query.absent),
            "frequencies": query.frequencies,
        }
        bound, found, frequencies = connection.execute(_POSTING_CANDIDATES, params).one()
        # decoded here, as text: pydantic-core's parser is about 2.5x faster than json's
        rows = from_json(found) if found else ()
        return [_candidate(r) for r in rows], float(bound), frequencies or {}


def _candidate(row: Sequence[Any]) -> Candidate:
    """A candidate from the first nine columns of a candidate query's row."""
    return Candidate(
        episode_id=row[0],
        words=row[1],
        other=row[2],
        context=row[3],
        task_type=row[4],
        outcome_kind=row[5],
        start_us=int(row[6]),
        end_us=int(row[7]),
        reward_total=row[8],
    )


def _bounded(impact: str) -> str:
    """SQL of the upper bound of the true BM25 factor of a posting of ``impact``."""
    return f"{impact} / ({impact} + :rho * (1 - {impact}))"


# Each term's best postings (index order); its frontier (the last impact read, 0 when the
# term was read to its end); per episode the estimated score (impacts read) and what it
# gains over the frontiers; the best episodes by estimate, reward and recency whose upper
# bound reaches the floor. One row: the bound, their documents as one JSON array (one
# value to move and decode, not a row of typed columns per candidate), and the document
# frequencies of the terms the caller takes for absent and, if asked, of their terms (looked
# up term by term: as ``IN (subquery)`` the planner may read all of the namespace's terms).
_POSTING_CANDIDATES = text(
    f"""
WITH q AS (
  SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:coefficients AS float8[])) AS q(term, c)
), p AS (
  SELECT q.term, q.c, x.episode_id, x.weight, x.impact, x.reward_total, x.end_us
  FROM q CROSS JOIN LATERAL (
    SELECT s.episode_id, s.weight, s.impact, s.reward_total, s.end_us
    FROM mc_search_postings s
    WHERE s.namespace_key = :key AND s.term = q.term
    ORDER BY s.weight DESC, s.impact DESC, s.episode_id DESC LIMIT :depth
  ) x
), f AS (
  SELECT p.term,
         CASE WHEN count(*) < :depth THEN 0.0
              ELSE least(min(p.weight) / :weight_impact, 1) END AS frontier
  FROM p GROUP BY p.term
), b AS (
  SELECT :unread + coalesce(sum(q.c * {_bounded("f.frontier")}), 0) AS unseen
  FROM q JOIN f ON f.term = q.term
), e AS (
  SELECT p.episode_id, max(p.reward_total) AS reward_total, max(p.end_us) AS end_us,
         sum(p.c * p.impact) AS estimate,
         sum(p.c * ({_bounded("p.impact")} - {_bounded("f.frontier")})) AS gain
  FROM p JOIN f ON f.term = p.term GROUP BY p.episode_id
), top AS (
  SELECT e.episode_id,
         :w_lexical * least(e.estimate, 1)
         + :w_reward * least(greatest(coalesce(e.reward_total, 0) / :reward_scale, 0), 1)
         + :w_recency * power(2.0, -CAST(greatest(:now_us - e.end_us, 0) AS float8)
                                   / :half_life_us) AS score
  FROM e, b
  WHERE b.unseen + e.gain >= :min_lexical
  ORDER BY score DESC, e.episode_id
  LIMIT :limit
), docs AS MATERIALIZED (
  SELECT d.episode_id, d.words, d.other, d.context, d.task_type, d.outcome_kind,
         d.start_us, d.end_us, d.reward_total, top.score
  FROM top JOIN mc_search_docs d
    ON d.namespace = :namespace AND d.episode_id = CAST(top.episode_id AS text)
)
SELECT (SELECT unseen FROM b),
       (SELECT CAST(json_agg(json_build_array(episode_id, words, other, context, task_type,
                                              outcome_kind, start_us, end_us, reward_total)
                             ORDER BY score DESC, episode_id) AS text) FROM docs),
       (SELECT json_object_agg(t.term, t.df) FROM mc_search_terms t
        WHERE t.namespace = :namespace AND t.term = ANY(ARRAY(
          SELECT jsonb_object_keys(words) FROM docs WHERE :frequencies
          UNION SELECT jsonb_object_keys(other) FROM docs WHERE :frequencies
          UNION SELECT unnest(CAST(:absent AS text[])))))
"""
)


def posting_key(namespace: str) -> int:
    """The key of a namespace's postings: 64 bits of a hash of its name.

    Candidates are joined to their documents by namespace, so namespaces stay apart even
    if two keys collided.
    """
    return _lock_key(namespace)


def _lock_key(namespace: str) -> int:
    """The store's advisory lock key of a namespace (see ``_lock_namespace``)."""
    digest = hashlib.blake2b(namespace.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_FIELD_MARK = "\x1f"  # memory_core.retrieval.lexical.FIELD_MARK (retrieval imports storage)


def _candidate_sql(namespace: str, query: CandidateQuery) -> tuple[str, Mapping[str, Any]]:
    params: dict[str, Any] = {
        "namespace": namespace,
        "scan_limit": query.scan_limit,
        "k_base": query.k_base,
        "k_description": query.k_description,
        "k_context": query.k_context,
        "k_other": query.k_other,
        **query.order.params(),
    }
    where = ["d.namespace = :namespace"]
    if query.match:
        key = namespace_key(namespace)
        params["match"] = _tsquery([key + t for t in query.match], query.at_least)
        where.append("d.lexemes @@ CAST(:match AS tsquery)")
    for column, value in (
        ("domain", query.domain),
        ("task_type", query.task_type),
        ("outcome_kind", query.outcome_kind),
    ):
        if value is not None:
            params[column] = value
            where.append(f"d.{column} = :{column}")
    if query.since_us is not None:
        params["since_us"] = query.since_us
        where.append("d.start_us >= :since_us")
    if query.until_us is not None:
        params["until_us"] = query.until_us
        where.append("d.start_us < :until_us")
    if query.min_reward is not None:
        params["min_reward"] = query.min_reward
        where.append("d.reward_total >= :min_reward")
    tfs, parts = [], []
    for i, term in enumerate(query.scored):
        params[f"t{i}"], params[f"w{i}"], params[f"c{i}"] = term.term, term.weight, term.coefficient
        tf = f"coalesce(CAST(d.words ->> :t{i} AS float8), 0) * :w{i}"
        if not term.field:
            tf += f" + coalesce(CAST(d.other ->> :t{i} AS float8), 0)"
        tfs.append(f", {tf} AS tf{i}")
        parts.append(f":c{i} * f.tf{i} / (f.tf{i} + f.norm)")
    floor = ""
    if query.order.min_lexical > 0:
        params["min_lexical"] = query.order.min_lexical
        floor = "WHERE r.lexical >= :min_lexical"
    # OFFSET 0 keeps each level from being inlined: every term frequency is read once
    sql = f"""
SELECT r.episode_id, r.words, r.other, r.context, r.task_type, r.outcome_kind,
       r.start_us, r.end_us, r.reward_total
FROM (
  SELECT f.*, least({" + ".join(parts) if parts else "0"}, 1) AS lexical
  FROM (
    SELECT d.episode_id, d.words, d.other, d.context, d.task_type, d.outcome_kind,
           d.start_us, d.end_us, d.reward_total,
           :k_base + :k_description * d.description_length + :k_context * d.context_length
             + :k_other * d.other_length AS norm{"".join(tfs)}
    FROM mc_search_docs d
    WHERE {" AND ".join(where)}
    LIMIT :scan_limit
  ) f
  OFFSET 0
) r
{floor}
ORDER BY :w_lexical * r.lexical
  + :w_reward * least(greatest(coalesce(r.reward_total, 0) / :reward_scale, 0), 1)
  + :w_recency * power(2.0, -CAST(greatest(:now_us - r.end_us, 0) AS float8) / :half_life_us)
  DESC, r.episode_id
LIMIT :limit
"""
    return sql, params
