"""The database search index: maintained with the episodes, queried for search candidates.

PostgreSQL only. Every write that stores a completed episode, and every delete, updates the
index in the same transaction (so another process's completed episode is searchable as soon
as it commits): the episode's terms by field, the namespace's document frequencies and its
totals (see `memory_core.storage._search_schema`). Searches ask `SearchIndex.candidates` for
the best-matching episodes of one namespace (BM25 over the query terms, computed in SQL with
the namespace's own statistics, plus reward and recency); the caller ranks those with the
in-memory ranking (`memory_core.retrieval.database`).

Terms longer than `MAX_TERM_LENGTH` characters are not indexed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from memory_core.errors import StorageError
from memory_core.models import Episode
from memory_core.storage.browse import micros

__all__ = [
    "MAX_TERM_LENGTH",
    "Candidate",
    "CandidateQuery",
    "NamespaceTotals",
    "QueryTerm",
    "SearchIndex",
    "namespace_key",
]

MAX_TERM_LENGTH = 256
"""Longer terms (rare, and never typed in a query) are left out of the index."""

_CHUNK = 1_000


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
        min_lexical: Candidates must score at least this (0: no floor).
        lexical_weight: Weight of the BM25 score in the candidate order.
        reward_weight: Weight of ``reward / reward_scale`` (capped to [0, 1]).
        reward_scale: Reward total that counts as 1.
        recency_weight: Weight of ``0.5 ** (age / half_life)``.
        half_life_us: Recency half-life in microseconds.
        now_us: "Now" for recency, microseconds since the epoch.
        limit: Most candidates returned.
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
    min_lexical: float
    lexical_weight: float
    reward_weight: float
    reward_scale: float
    recency_weight: float
    half_life_us: float
    now_us: int
    limit: int
    domain: str | None = None
    task_type: str | None = None
    outcome_kind: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    min_reward: float | None = None


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
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(_COPY_DOCS) as copy:
        for row in rows:
            copy.write_row(tuple(row[c] for c in _DOC_COLUMNS))


def _quote(lexeme: str) -> str:
    """A lexeme quoted for tsvector/tsquery input (taken as-is, no parser involved)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsvector(lexemes: Iterable[str]) -> str:
    """The input text of a tsvector of the lexemes."""
    return " ".join(_quote(t) for t in sorted(lexemes))


_DELETE_DOCS = text(
    "DELETE FROM mc_search_docs WHERE namespace = :namespace AND episode_id = ANY(:ids) "
    "RETURNING words, other, description_length, context_length, other_length"
)
_ADD_TERMS = text(
    "INSERT INTO mc_search_terms (namespace, term, df) "
    "SELECT :namespace, t.term, t.n FROM unnest(CAST(:terms AS text[]), CAST(:counts AS int[])) "
    "AS t(term, n) ORDER BY t.term "
    "ON CONFLICT (namespace, term) DO UPDATE SET df = mc_search_terms.df + EXCLUDED.df"
)
_ADD_TOTALS = text(
    "INSERT INTO mc_search_stats (namespace, doc_count, description_length, context_length, "
    "other_length) VALUES (:namespace, :docs, :description, :context, :other) "
    "ON CONFLICT (namespace) DO UPDATE SET "
    "doc_count = mc_search_stats.doc_count + EXCLUDED.doc_count, "
    "description_length = mc_search_stats.description_length + EXCLUDED.description_length, "
    "context_length = mc_search_stats.context_length + EXCLUDED.context_length, "
    "other_length = mc_search_stats.other_length + EXCLUDED.other_length"
)
_TOTALS = text(
    "SELECT doc_count, description_length, context_length, other_length "
    "FROM mc_search_stats WHERE namespace = :namespace"
)
_FREQUENCIES = text(
    "SELECT term, df FROM mc_search_terms WHERE namespace = :namespace AND term = ANY(:terms)"
)
_STATISTICS = text(
    "SELECT NULL, doc_count, description_length, context_length, other_length "
    "FROM mc_search_stats WHERE namespace = :namespace UNION ALL "
    "SELECT term, df, 0, 0, 0 FROM mc_search_terms WHERE namespace = :namespace "
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

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in a read transaction, for the query methods.

        Raises:
            StorageError: If the database fails.
        """
        try:
            with self._engine.connect() as connection, connection.begin():
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
        self, connection: Connection, namespace: str, episodes: Sequence[Episode]
    ) -> None:
        """Index the completed ones of ``episodes`` (replacing what was indexed for them)."""
        complete = {str(e.episode_id): e for e in episodes if e.is_complete and e.end_time}
        if not complete:
            return
        df: Counter[str] = Counter()
        totals = [0, 0.0, 0.0, 0.0]
        self._forget(connection, namespace, list(complete), df, totals)
        key = namespace_key(namespace)
        rows: list[dict[str, Any]] = []
        for episode_id, episode in complete.items():
            words, other = _fields(episode)
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
                    "lexemes": _tsvector(key + t for t in terms),
                }
            )
        _copy_docs(connection, rows)
        self._count(connection, namespace, df, totals)

    def episodes_deleted(self, connection: Connection, namespace: str, ids: Sequence[str]) -> None:
        """Forget deleted episodes (call before deleting them)."""
        if not ids:
            return
        df: Counter[str] = Counter()
        totals = [0, 0.0, 0.0, 0.0]
        self._forget(connection, namespace, list(ids), df, totals)
        self._count(connection, namespace, df, totals)

    @staticmethod
    def _forget(
        connection: Connection,
        namespace: str,
        ids: list[str],
        df: Counter[str],
        totals: list[Any],
    ) -> None:
        """Delete the documents of ``ids``, subtracting them from ``df`` and ``totals``."""
        for start in range(0, len(ids), _CHUNK):
            removed = connection.execute(
                _DELETE_DOCS, {"namespace": namespace, "ids": ids[start : start + _CHUNK]}
            )
            for words, other, description, context, rest in removed:
                df.subtract(words.keys() | other.keys())
                totals[0] -= 1
                totals[1] -= description
                totals[2] -= context
                totals[3] -= rest

    @staticmethod
    def _count(connection: Connection, namespace: str, df: Counter[str], totals: list[Any]) -> None:
        """Apply document-frequency and total deltas (terms in one order: no deadlocks)."""
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
        return NamespaceTotals(int(row[0]), float(row[1]), float(row[2]), float(row[3]))

    @staticmethod
    def statistics(
        connection: Connection, namespace: str, terms: Sequence[str]
    ) -> tuple[NamespaceTotals | None, dict[str, int]]:
        """The namespace's totals and the document frequencies of ``terms`` (one query)."""
        wanted = [t for t in dict.fromkeys(terms) if len(t) <= MAX_TERM_LENGTH][:_CHUNK]
        totals, found = None, {}
        for term, count, description, context, other in connection.execute(
            _STATISTICS, {"namespace": namespace, "terms": wanted}
        ):
            if term is None:
                totals = NamespaceTotals(
                    int(count), float(description), float(context), float(other)
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
        rows = connection.execute(text(sql), params)
        return [
            Candidate(
                episode_id=r[0],
                words=r[1],
                other=r[2],
                context=r[3],
                task_type=r[4],
                outcome_kind=r[5],
                start_us=int(r[6]),
                end_us=int(r[7]),
                reward_total=r[8],
            )
            for r in rows
        ]


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
        "w_lexical": query.lexical_weight,
        "w_reward": query.reward_weight,
        "reward_scale": query.reward_scale,
        "w_recency": query.recency_weight,
        "half_life_us": query.half_life_us,
        "now_us": query.now_us,
        "limit": query.limit,
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
    if query.min_lexical > 0:
        params["min_lexical"] = query.min_lexical
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
