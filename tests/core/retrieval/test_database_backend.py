"""The database search backend (PostgreSQL) against the in-memory index, on real databases.

The seeded corpus is stored through the store (which maintains the search index); the same
episodes go into an in-memory `EpisodeIndex`; both rank the same queries with the same
"now", and must agree on the results, their breakdowns and the relevance floor.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, event, make_url, text
from tests.conftest import postgres_url
from tests.support.corpus import (
    FAMILIES,
    NOW,
    generate_corpus,
    held_out_queries,
    unknown_queries,
)

from memory_core import (
    ExecutionStep,
    MemoryConfig,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
)
from memory_core.errors import ConfigurationError
from memory_core.evaluation import MemoryCoreAdvisor, ScriptedAgent, TaskWorld, run_stream
from memory_core.retrieval import EpisodeFilters, EpisodeIndex, RetrievalEngine
from memory_core.retrieval.database import DatabaseRanker, _narrowed
from memory_core.retrieval.index import episode_fields, episode_terms, query_weights
from memory_core.retrieval.lexical import FIELD_MARK
from memory_core.retrieval.tokenize import tokenize
from memory_core.storage import WriteBatch
from memory_core.storage.search_index import _FIELD_MARK, namespace_key, posting_key

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pg_store() -> Iterator[SQLAlchemyEpisodeStore]:
    """A store on the test PostgreSQL server."""
    url = postgres_url()
    store = SQLAlchemyEpisodeStore(url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def seeded(pg_store: SQLAlchemyEpisodeStore) -> tuple[str, EpisodeIndex, list]:
    """A namespace of 600 corpus episodes, and an in-memory index of the same episodes."""
    namespace = f"db-{uuid4().hex[:12]}"
    episodes = generate_corpus(600, seed=11)
    for start in range(0, len(episodes), 200):
        pg_store.write(namespace, WriteBatch(new_episodes=episodes[start : start + 200]))
    index = EpisodeIndex(MemoryConfig().retrieval)
    for episode in episodes:
        index.add(episode)
    return namespace, index, episodes


def _queries() -> list[tuple[str, TaskContext]]:
    found = [(q.description, TaskContext()) for q in held_out_queries(seed=3, per_family=1)]
    found += [(q.description, q.context) for q in unknown_queries()[:10]]
    found += [
        (q.description, f.context())
        for q, f in zip(held_out_queries(seed=4), FAMILIES, strict=False)
    ]
    found += [("", f.context()) for f in FAMILIES[:5]]
    return found


def _same(memory: list, database: list) -> None:
    assert [h.episode_id for h in database] == [h.episode_id for h in memory]
    for mine, theirs in zip(memory, database, strict=True):
        assert theirs.score == pytest.approx(mine.score, abs=1e-5)
        assert theirs.relevance == pytest.approx(mine.relevance, abs=1e-5)
        assert theirs.below_floor == mine.below_floor
        assert theirs.breakdown.keys() == mine.breakdown.keys()
        for key, value in mine.breakdown.items():
            assert theirs.breakdown[key] == pytest.approx(value, abs=1e-5), key


def test_field_terms_recompose_the_weighted_terms() -> None:
    assert _FIELD_MARK == FIELD_MARK
    config = MemoryConfig().retrieval
    for episode in generate_corpus(50, seed=5):
        fields = episode_fields(episode)
        for boost, weight in ((2.0, 2.0), (1.5, 0.0), (3.0, 0.5)):
            assert fields.weighted(boost, weight) == episode_terms(episode, boost, weight)
        assert fields.weighted(config.description_boost, config.context_term_weight)


@pytest.mark.parametrize("reused", [False, True], ids=["fresh-statistics", "reused-statistics"])
def test_results_breakdowns_and_floor_agree_with_the_memory_index(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list], reused: bool
) -> None:
    """Reused statistics (a large namespace's) look up the candidates' terms they lack."""
    namespace, index, _ = seeded
    assert pg_store.search_index is not None
    config = MemoryConfig().retrieval
    ranker = (
        DatabaseRanker(config, pg_store.search_index, namespace, 600.0, statistics_cached_from=1)
        if reused
        else DatabaseRanker(config, pg_store.search_index, namespace)
    )
    now = NOW.timestamp()
    compared = 0
    for description, context in _queries():
        for limit, diversify in ((5, True), (10, False)):
            memory = index.search(
                description, context, limit, EpisodeFilters(), now=now, diversify=diversify
            )
            database = ranker.search(
                description, context, limit, EpisodeFilters(), now=now, diversify=diversify
            )
            _same(memory, database)
            compared += len(memory)
    assert compared > 100  # the queries do find things


def test_below_floor_results_and_filters_agree(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list]
) -> None:
    namespace, index, _ = seeded
    assert pg_store.search_index is not None
    ranker = DatabaseRanker(MemoryConfig().retrieval, pg_store.search_index, namespace)
    now = NOW.timestamp()
    family = FAMILIES[0]
    filters = [
        EpisodeFilters(outcome_kind="success"),
        EpisodeFilters(outcome_kind="failure"),
        EpisodeFilters(domain=family.domain.upper()),
        EpisodeFilters(task_type=family.task_type),
        EpisodeFilters(min_reward=1.2),
        EpisodeFilters(since=NOW - timedelta(days=30, seconds=0.5)),
    ]
    for description, context in _queries()[:25]:
        for only in filters:
            memory = index.search(description, context, 5, only, now=now)
            _same(memory, ranker.search(description, context, 5, only, now=now))
        # below the floor: the unknown families' queries match little, so the floor matters
        below = index.search(
            description, context, 5, EpisodeFilters(), now=now, include_below_floor=True
        )
        found = ranker.search(
            description, context, 5, EpisodeFilters(), now=now, include_below_floor=True
        )
        if all(h.relevance > 0 for h in below):
            _same(below, found)


def test_every_candidate_query_stays_in_its_namespace(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list]
) -> None:
    namespace, _, episodes = seeded
    other = f"db-{uuid4().hex[:12]}"
    # the other tenant holds the same texts: only the namespace tells them apart
    copies = [e.model_copy(update={"episode_id": uuid4()}) for e in episodes[:100]]
    pg_store.write(other, WriteBatch(new_episodes=copies))
    assert pg_store.search_index is not None
    config = MemoryConfig().retrieval
    ours = {str(e.episode_id) for e in episodes}
    theirs = {str(e.episode_id) for e in copies}
    for ns, allowed in ((namespace, ours), (other, theirs)):
        ranker = DatabaseRanker(config, pg_store.search_index, ns)
        for description, context in _queries():
            for floor in (False, True):
                hits = ranker.search(
                    description,
                    context,
                    20,
                    EpisodeFilters(),
                    include_below_floor=floor,
                    now=NOW.timestamp(),
                )
                assert {str(h.episode_id) for h in hits} <= allowed
    # the lexemes carry their namespace's key, and the statistics are per namespace
    with pg_store.search_index.reading() as connection:
        keys = (
            connection.execute(
                text(
                    "SELECT DISTINCT left(x, 9) FROM mc_search_docs, unnest(tsvector_to_array("
                    "lexemes)) AS x WHERE namespace = :ns"
                ),
                {"ns": other},
            )
            .scalars()
            .all()
        )
        totals = pg_store.search_index.totals(connection, other)
    assert keys == [namespace_key(other)]
    assert totals is not None
    assert totals.doc_count == 100


def test_deletes_and_rewrites_keep_the_statistics_exact(
    pg_store: SQLAlchemyEpisodeStore,
) -> None:
    namespace = f"db-{uuid4().hex[:12]}"
    episodes = generate_corpus(40, seed=21)
    pg_store.write(namespace, WriteBatch(new_episodes=episodes))
    pg_store.delete_episode(namespace, episodes[0].episode_id)
    pg_store.write(namespace, WriteBatch(completed=[episodes[1]]))  # written again
    pg_store.import_records(namespace, [(e, True) for e in episodes[1:5]])  # already there
    index = pg_store.search_index
    assert index is not None
    expected = EpisodeIndex(MemoryConfig().retrieval)
    for episode in episodes[1:]:
        expected.add(episode)
    with index.reading() as connection:
        totals = index.totals(connection, namespace)
        frequencies = index.frequencies(connection, namespace, ["pars", "token", "jwt"])
    assert totals is not None
    assert totals.doc_count == 39
    for term, df in frequencies.items():
        assert df == sum(term in episode_terms(e, 2.0, 2.0) for e in episodes[1:]), term
    assert _postings(pg_store, namespace) == _expected_postings(episodes[1:], episodes)
    pg_store.delete_namespace(namespace)
    assert _postings(pg_store, namespace) == {}


def test_the_index_stores_any_text_as_given(pg_store: SQLAlchemyEpisodeStore) -> None:
    """Documents and postings travel as ``COPY`` text rows: escapes must round-trip."""
    awkward = 'parse C:\\logs\\app.log\tthen "quote" it\nand \\N, \\t\r done'
    episodes = generate_corpus(6, seed=23)
    for episode in episodes[:3]:
        episode.task_description = awkward
        episode.context = TaskContext(domain="Win\\paths\ttab", tags=["a-b"])
    namespace = f"db-{uuid4().hex[:12]}"
    pg_store.import_records(namespace, [(e, True) for e in episodes])
    with pg_store._engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT episode_id, words, other, context, domain, "
                "array_to_string(tsvector_to_array(lexemes), :sep) FROM mc_search_docs "
                "WHERE namespace = :ns"
            ),
            {"ns": namespace, "sep": "\x1e"},
        )
        docs = {r[0]: r[1:] for r in rows}
    key = namespace_key(namespace)
    for episode in episodes:
        words, other, context, domain, lexemes = docs[str(episode.episode_id)]
        fields = episode_fields(episode)
        assert words == {**fields.description, **fields.context}
        assert other == fields.other
        assert TaskContext.model_validate_json(context) == episode.context
        assert domain == episode.context.domain.lower()
        assert sorted(lexemes.split("\x1e")) == sorted(key + t for t in {*words, *other})
    assert _postings(pg_store, namespace) == _expected_postings(episodes, episodes)
    ranker = DatabaseRanker(MemoryConfig().retrieval, _index(pg_store), namespace)
    found = ranker.search(awkward, TaskContext(), 3, EpisodeFilters())
    assert {h.episode_id for h in found} == {e.episode_id for e in episodes[:3]}


def _index(store: SQLAlchemyEpisodeStore) -> Any:
    assert store.search_index is not None
    return store.search_index


def _postings(store: SQLAlchemyEpisodeStore, namespace: str) -> dict[tuple[str, str], Any]:
    """The namespace's postings: (term, episode id) -> (impact, weight)."""
    with store._engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT term, CAST(episode_id AS text), impact, weight FROM mc_search_postings "
                "WHERE namespace_key = :key"
            ),
            {"key": posting_key(namespace)},
        )
        return {(t, e): (i, pytest.approx(w, rel=1e-6)) for t, e, i, w in rows}


def _expected_postings(episodes: list, first: list) -> dict[tuple[str, str], Any]:
    """Postings as the impacts define them, ``first`` (the first batch) setting the length."""
    fields = {str(e.episode_id): episode_fields(e) for e in first}
    lengths = {
        i: 2.0 * (sum(f.description.values()) + sum(f.context.values())) + sum(f.other.values())
        for i, f in fields.items()
    }
    average = sum(lengths.values()) / len(lengths)
    expected = {}
    for episode_id in (str(e.episode_id) for e in episodes):
        f = fields[episode_id]
        words = {**f.description}
        for term, n in f.context.items():
            words[term] = words.get(term, 0.0) + n
        norm = 1.2 * (0.25 + 0.75 * lengths[episode_id] / average)
        episode = next(e for e in episodes if str(e.episode_id) == episode_id)
        reward = 0.15 * min(max(episode.reward.total / 2, 0), 1)
        for term in words.keys() | f.other.keys():
            tf = 2.0 * words.get(term, 0.0) + f.other.get(term, 0.0)
            impact = math.ceil(tf / (tf + norm) * 16) / 16
            expected[(term, episode_id)] = (impact, 0.05 * impact + reward)
    return expected


@pytest.fixture
def narrow_ranker(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list]
) -> DatabaseRanker:
    """A database ranker of the seeded namespace that reads at most 100 candidates."""
    assert pg_store.search_index is not None
    config = MemoryConfig(retrieval={"database_scan_limit": 100}).retrieval  # type: ignore[arg-type]
    return DatabaseRanker(config, pg_store.search_index, seeded[0])


def test_unread_postings_cannot_beat_the_bound(
    pg_store: SQLAlchemyEpisodeStore,
    seeded: tuple[str, EpisodeIndex, list],
    narrow_ranker: DatabaseRanker,
) -> None:
    """An episode none of whose postings a search read scores at most the bound it returns."""
    namespace, index, _ = seeded
    ranker, config, now = narrow_ranker, narrow_ranker.config, NOW.timestamp()
    checked = proven = 0
    for description, context in _queries()[:30]:
        if not description:
            continue
        found = ranker.search(description, context, 5, EpisodeFilters(), now=now)
        bound = ranker.last_bound
        assert bound is not None  # read from the postings
        proven += bound < config.min_relevance
        if bound < config.min_relevance:
            # then no episode it did not read could have been a result
            everything = index.search(
                description, context, 600, EpisodeFilters(), now=now, diversify=False
            )
            assert {h.episode_id for h in found} <= {h.episode_id for h in everything}
        with pg_store._engine.connect() as connection:
            read = set(
                connection.execute(
                    text(
                        "SELECT CAST(x.episode_id AS text) FROM unnest(CAST(:terms AS text[])) "
                        "AS q(term) CROSS JOIN LATERAL (SELECT episode_id "
                        "FROM mc_search_postings WHERE namespace_key = :key AND term = q.term "
                        "ORDER BY weight DESC, impact DESC, episode_id DESC LIMIT 100) x"
                    ),
                    {
                        "key": posting_key(namespace),
                        "terms": sorted(query_weights(tokenize(description), context, config)),
                    },
                ).scalars()
            )
        every = index.search(
            description,
            context,
            600,
            EpisodeFilters(),
            include_below_floor=True,
            now=now,
            diversify=False,
        )
        for hit in every:
            if str(hit.episode_id) not in read:
                lexical = hit.breakdown["lexical"] / config.lexical_weight
                assert lexical <= bound + 1e-6
                checked += 1
    assert checked > 100
    assert proven


def test_postings_follow_the_knobs_they_were_computed_with(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list]
) -> None:
    """Other BM25 knobs rank from the term-matching query, still as the memory index would."""
    namespace, _, episodes = seeded
    assert pg_store.search_index is not None
    config = MemoryConfig(retrieval={"bm25_b": 0.5, "description_boost": 3.0}).retrieval  # type: ignore[arg-type]
    index = EpisodeIndex(config)
    for episode in episodes:
        index.add(episode)
    ranker = DatabaseRanker(config, pg_store.search_index, namespace)
    now = NOW.timestamp()
    for description, context in _queries()[:20]:
        expected = index.search(description, context, 5, EpisodeFilters(), now=now)
        found = ranker.search(description, context, 5, EpisodeFilters(), now=now)
        assert ranker.last_bound is None
        _same(expected, found)


def test_backend_switch_and_auto(tmp_path: Path, pg_store: SQLAlchemyEpisodeStore) -> None:
    url = postgres_url()
    namespace = f"db-{uuid4().hex[:12]}"
    pg_store.write(namespace, WriteBatch(new_episodes=generate_corpus(30, seed=2)))

    def engine(**retrieval: object) -> RetrievalEngine:
        config = MemoryConfig(database_url=url, retrieval=retrieval)  # type: ignore[arg-type]
        return RetrievalEngine(config, pg_store, namespace)

    query = (held_out_queries(seed=1)[0].description, TaskContext())
    for backend, minimum, uses_database in (
        ("memory", 0, False),
        ("database", 10**6, True),
        ("auto", 31, False),
        ("auto", 30, True),
    ):
        retrieval = engine(backend=backend, database_min_episodes=minimum)
        found = retrieval.search_episodes(*query, 5, EpisodeFilters())
        assert found
        assert (retrieval._database is not None) is uses_database, (backend, minimum)
        retrieval.close()

    sqlite = SQLAlchemyEpisodeStore(f"sqlite:///{tmp_path / 'memory.db'}")
    try:
        assert sqlite.search_index is None
        with pytest.raises(ConfigurationError, match="PostgreSQL"):
            RetrievalEngine(
                MemoryConfig(retrieval={"backend": "database"}),  # type: ignore[arg-type]
                sqlite,
                namespace,
            )
        auto = RetrievalEngine(MemoryConfig(retrieval={"database_min_episodes": 0}), sqlite, "a")  # type: ignore[arg-type]
        auto.search_episodes("anything", TaskContext(), 5, EpisodeFilters())
        assert auto._database is None  # SQLite: always the in-memory index
        auto.close()
    finally:
        sqlite.close()


def test_episodes_stored_before_the_index_are_indexed_on_first_search(
    pg_store: SQLAlchemyEpisodeStore,
) -> None:
    namespace = f"db-{uuid4().hex[:12]}"
    episodes = generate_corpus(25, seed=8)
    pg_store.write(namespace, WriteBatch(new_episodes=episodes))
    with pg_store._engine.begin() as connection:  # as if stored by an older version
        connection.execute(
            text("DELETE FROM mc_search_docs WHERE namespace = :ns"), {"ns": namespace}
        )
        connection.execute(
            text("DELETE FROM mc_search_terms WHERE namespace = :ns"), {"ns": namespace}
        )
        connection.execute(
            text("DELETE FROM mc_search_stats WHERE namespace = :ns"), {"ns": namespace}
        )
        connection.execute(
            text("DELETE FROM mc_search_postings WHERE namespace_key = :key"),
            {"key": posting_key(namespace)},
        )
    config = MemoryConfig(retrieval={"backend": "database"})  # type: ignore[arg-type]
    retrieval = RetrievalEngine(config, pg_store, namespace)
    found = retrieval.search_episodes(
        episodes[0].task_description, TaskContext(), 5, EpisodeFilters()
    )
    assert episodes[0].episode_id in {r.episode.episode_id for r in found}
    assert pg_store.search_index is not None
    with pg_store.search_index.reading() as connection:
        totals = pg_store.search_index.totals(connection, namespace)
    assert totals is not None
    assert totals.doc_count == 25
    retrieval.close()


_COMPLETE_ELSEWHERE = textwrap.dedent(
    """
    import json, sys
    from memory_core import MemoryConfig, SyncSelfLearningMemory
    url, namespace, description = sys.argv[1:4]
    config = MemoryConfig(database_url=url, load_plugins=False)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        episode_id = memory.start_episode(description, {"domain": "payments"})
        memory.log_step(episode_id, {"tool": "stripe-cli", "action": "replay the webhook"})
        memory.complete_episode(episode_id, {"kind": "success", "verdict": "done"})
    print(json.dumps({"episode_id": str(episode_id)}))
    """
)


def test_an_episode_completed_in_another_process_is_searchable_at_once() -> None:
    url = postgres_url()
    namespace = f"db-{uuid4().hex[:12]}"
    config = MemoryConfig(
        database_url=url,
        load_plugins=False,
        retrieval={"backend": "database", "refresh_interval_seconds": 3600},  # type: ignore[arg-type]
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        first = memory.start_episode("Rotate the signing keys of the vault", {"domain": "ops"})
        memory.log_step(first, ExecutionStep(tool="vault", action="rotate"))
        memory.complete_episode(first, TaskOutcome.success("rotated"))
        assert memory.search_episodes("rotate vault signing keys")  # searched before
        description = "Replay the failed stripe webhook for invoice 4711"
        done = subprocess.run(
            [sys.executable, "-c", _COMPLETE_ELSEWHERE, url, namespace, description],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        episode_id = json.loads(done.stdout)["episode_id"]
        found = memory.search_episodes("replay the stripe webhook", {"domain": "payments"})
        assert [str(r.episode.episode_id) for r in found][:1] == [episode_id]


def test_reused_statistics_still_find_new_episodes_at_once(
    pg_store: SQLAlchemyEpisodeStore,
) -> None:
    """With a large namespace's statistics reused, a new episode (new terms or not) is found."""
    namespace = f"db-{uuid4().hex[:12]}"
    episodes = generate_corpus(80, seed=41)
    pg_store.write(namespace, WriteBatch(new_episodes=episodes[:70]))
    config = MemoryConfig().retrieval
    index = _index(pg_store)
    reusing = DatabaseRanker(config, index, namespace, 60.0, statistics_cached_from=1)
    fresh = DatabaseRanker(config, index, namespace, statistics_ttl_s=0)
    known = episodes[75]  # a family the first 70 hold: its terms are all cached below
    novel = generate_corpus(1, seed=42)[0]
    novel.task_description = "Defragment the zyxwvut ledger shards"
    for ranker in (reusing, fresh):
        ranker.search(known.task_description, TaskContext(), 5, EpisodeFilters())
        assert not ranker.search(novel.task_description, TaskContext(), 5, EpisodeFilters())
    pg_store.write(namespace, WriteBatch(new_episodes=[*episodes[70:], novel]))
    # the reused statistics take "zyxwvut" for absent: the candidate query finds it is not
    found = reusing.search(novel.task_description, TaskContext(), 5, EpisodeFilters())
    assert found[0].episode_id == novel.episode_id
    found = reusing.search(known.task_description, TaskContext(), 20, EpisodeFilters())
    assert known.episode_id in {h.episode_id for h in found}
    stale = {h.episode_id: h.score for h in found}
    exact = {
        h.episode_id: h.score
        for h in fresh.search(known.task_description, TaskContext(), 20, EpisodeFilters())
    }
    assert known.episode_id in exact
    assert stale != exact  # the idf of 70 episodes, not 81: the bounded lag
    assert stale.keys() & exact.keys()


def test_reused_statistics_keep_the_candidates_terms_longer_than_the_query_terms(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list]
) -> None:
    """Once the query terms' figures are stale, a search reads them again (with the
    candidates), but not the frequencies of the candidates' terms: only diversity reads
    those, and they are reused for `DIVERSITY_TTL_S`."""
    namespace, _, _ = seeded
    config = MemoryConfig().retrieval
    ranker = DatabaseRanker(config, _index(pg_store), namespace, 0.05, statistics_cached_from=1)
    description, context = _queries()[0]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    first = ranker.search(description, context, 5, EpisodeFilters(), now=NOW.timestamp())
    assert first
    time.sleep(0.1)  # the query terms' figures (reused for 0.05 s) are stale now
    event.listen(pg_store._engine, "before_cursor_execute", count)
    try:
        again = ranker.search(description, context, 5, EpisodeFilters(), now=NOW.timestamp())
    finally:
        event.remove(pg_store._engine, "before_cursor_execute", count)
    assert [h.episode_id for h in again] == [h.episode_id for h in first]
    assert len(statements) == 2, statements  # the statistics, then the candidates
    assert "mc_search_postings" in statements[1]


def test_common_words_narrow_the_candidates_to_episodes_sharing_several(
    seeded: tuple[str, EpisodeIndex, list], narrow_ranker: DatabaseRanker
) -> None:
    _, index, _ = seeded
    ranker, config, now = narrow_ranker, narrow_ranker.config, NOW.timestamp()
    agree = total = 0
    for description, context in _queries()[:40]:
        memory = index.search(description, context, 5, EpisodeFilters(), now=now)
        found = ranker.search(description, context, 5, EpisodeFilters(), now=now)
        assert len({h.episode_id for h in found}) == len(found)
        # what it returns is ranked exactly as the memory index ranks it
        for hit in found:
            assert hit.relevance >= config.min_relevance
        agree += len({h.episode_id for h in memory} & {h.episode_id for h in found})
        total += len(memory)
    assert total
    assert agree / total > 0.5


def test_narrowing_asks_for_as_few_shared_terms_as_the_limit_allows() -> None:
    df = {"a": 500, "b": 400, "c": 300, "d": 50}
    assert _narrowed(["a", "b"], df, 1_000, 10_000) == (["a", "b"], 1)
    terms, at_least = _narrowed(["a", "b", "c", "d"], df, 1_000, 100)
    assert terms == ["d", "c", "b", "a"]
    assert at_least == 3  # expected matches: 800 of one, 372 of two, 75 of three
    assert _narrowed(["a", "b", "c"], df, 1_000, 1)[1] == 3


def test_plan_evidence_agrees_with_the_memory_index(
    pg_store: SQLAlchemyEpisodeStore, seeded: tuple[str, EpisodeIndex, list]
) -> None:
    """`recommend_plan`'s evidence (best episodes of each outcome) is the same either way."""
    namespace, _, episodes = seeded
    assert {e.outcome.kind for e in episodes} >= {"success", "failure"}
    url = postgres_url()

    def engine(backend: str) -> RetrievalEngine:
        config = MemoryConfig(database_url=url, retrieval={"backend": backend})  # type: ignore[arg-type]
        return RetrievalEngine(config, pg_store, namespace)

    memory, database = engine("memory"), engine("database")
    try:
        compared = 0
        for description, context in _queries()[:20]:
            expected = memory.search_by_outcome(description, context, 5, ["success", "failure"])
            found = database.search_by_outcome(description, context, 5, ["success", "failure"])
            assert database._database is not None
            assert [(r.episode.episode_id, r.episode.outcome.kind) for r in found] == [
                (r.episode.episode_id, r.episode.outcome.kind) for r in expected
            ]
            compared += len(found)
        assert compared > 20
    finally:
        memory.close()
        database.close()


def test_the_learning_effect_is_the_same_with_either_backend() -> None:
    """The learning-effect stream's success, recall and precision do not depend on the backend.

    Each backend learns its own namespace from the same seeded stream and advises the same
    agent; the figures must agree within 0.01 (they are equal when the rankings are).
    """
    url = postgres_url()
    tasks = TaskWorld(1).tasks(60)
    reports = {}
    for backend in ("memory", "database"):
        config = MemoryConfig(
            database_url=url,
            retrieval={"backend": backend},  # type: ignore[arg-type]
            load_plugins=False,
        )
        namespace = f"db-effect-{backend}-{uuid4().hex[:8]}"
        with SyncSelfLearningMemory(config, namespace=namespace) as memory:
            reports[backend] = run_stream(tasks, MemoryCoreAdvisor(memory), ScriptedAgent(1).run)
            assert (memory.engine.retrieval._database is not None) is (backend == "database")
    memory_report, database_report = reports["memory"], reports["database"]
    assert memory_report.success > 0.5  # the stream learned something to agree on
    assert database_report.success == pytest.approx(memory_report.success, abs=0.01)
    assert database_report.recall == pytest.approx(memory_report.recall, abs=0.01)
    assert database_report.precision == pytest.approx(memory_report.precision, abs=0.01)


def test_upgrading_fills_in_the_postings_of_episodes_indexed_before() -> None:
    """A schema-5 database (documents, no postings) gets them from its documents."""
    base = postgres_url()
    schema = f"pst_{uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        rendered = url.render_as_string(hide_password=False)
        namespace = "old"
        episodes = generate_corpus(60, seed=31)
        store = SQLAlchemyEpisodeStore(rendered)
        store.write(namespace, WriteBatch(new_episodes=episodes))
        written = _postings(store, namespace)
        with store._engine.begin() as connection:  # back to schema 5
            connection.execute(text("DROP TABLE mc_search_postings"))
            connection.execute(text("ALTER TABLE mc_search_stats DROP COLUMN impact_length"))
            connection.execute(text("UPDATE mc_schema_version SET version = 5"))
            connection.execute(text("UPDATE mc_alembic_version SET version_num = '0005'"))
        store.close()
        store = SQLAlchemyEpisodeStore(rendered)
        try:
            assert store.migration.from_revision == "0005"
            with store._engine.connect() as connection:
                key = connection.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes WHERE schemaname = :schema "
                        "AND indexname = 'pk_mc_search_postings'"
                    ),
                    {"schema": schema},
                ).scalar_one()
            assert "(namespace_key, term, weight, impact, episode_id)" in key
            assert "INCLUDE (reward_total, end_us)" in key
            filled = _postings(store, namespace)
            assert filled.keys() == written.keys()
            for key, (impact, weight) in filled.items():
                assert impact == pytest.approx(written[key][0], abs=1 / 16 + 1e-9)
                assert weight == pytest.approx(written[key][1].expected, abs=0.05 / 16 + 1e-6)
            config = MemoryConfig().retrieval
            assert store.search_index is not None
            ranker = DatabaseRanker(config, store.search_index, namespace)
            found = ranker.search(episodes[0].task_description, TaskContext(), 5, EpisodeFilters())
            assert ranker.last_bound is not None
            assert episodes[0].episode_id in {h.episode_id for h in found}
        finally:
            store.close()
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
