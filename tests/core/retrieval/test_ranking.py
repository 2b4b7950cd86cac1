"""Ranking quality on the seeded synthetic corpus (index level, no database)."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import numpy as np
import pytest
from tests.support.corpus import (
    FAMILIES,
    NOW,
    generate_corpus,
    held_out_queries,
    make_episode,
    unknown_queries,
)

from memory_core import RetrievalConfig, TaskContext, TaskType
from memory_core.retrieval import EpisodeFilters, EpisodeIndex
from memory_core.testing import HashingEmbedder

NOW_TS = NOW.timestamp()
LEXICAL_ONLY = RetrievalConfig(
    context_weight=0, reward_weight=0, recency_weight=0, diversity_weight=0
)


def build(config: RetrievalConfig, size: int = 600, seed: int = 0) -> tuple[EpisodeIndex, dict]:
    episodes = generate_corpus(size, seed=seed)
    index = EpisodeIndex(config)
    for episode in episodes:
        index.add(episode)
    family = {e.episode_id: FAMILIES[i % len(FAMILIES)].key for i, e in enumerate(episodes)}
    return index, family


@pytest.fixture(scope="module")
def corpus() -> tuple[EpisodeIndex, dict]:
    return build(RetrievalConfig())


def search(index: EpisodeIndex, description: str, context: TaskContext | None = None, **kw):
    return index.search(
        description,
        context or TaskContext(),
        kw.pop("limit", 5),
        EpisodeFilters(**kw.pop("filters", {})),
        now=NOW_TS,
        **kw,
    )


@pytest.mark.parametrize("config", [LEXICAL_ONLY, RetrievalConfig()], ids=["lexical", "default"])
def test_held_out_paraphrases_rank_their_family_first(config: RetrievalConfig) -> None:
    index, family = build(config)
    queries = held_out_queries()
    right = 0
    for query in queries:
        hits = search(index, query.description, include_below_floor=True)
        right += bool(hits) and family[hits[0].episode_id] == query.family
    assert right / len(queries) >= 0.9, f"{right}/{len(queries)}"


def test_unknown_families_find_nothing_above_the_floor(corpus) -> None:
    index, family = corpus
    unknown = unknown_queries()
    empty = sum(not search(index, q.description, q.context) for q in unknown)
    assert empty / len(unknown) >= 0.9, f"{empty}/{len(unknown)}"
    # without a context there is less evidence either way: the default floor is calibrated
    # with the learning-effect benchmark, whose real requests come without context and where
    # a floor as high as for stated contexts costs more recall than it buys precision (at
    # 0.12 memory-core's recall is at least bm25's on every seed, its precision 6 points
    # above; at 0.15 it was 0.009 below on one)
    bare = sum(not search(index, q.description) for q in unknown)
    assert bare / len(unknown) >= 0.45, f"{bare}/{len(unknown)}"
    # ... while held-out paraphrases of stored families still rank right, above the floor
    known = held_out_queries()
    right = 0
    for query in known:
        hits = search(index, query.description)
        right += bool(hits) and family[hits[0].episode_id] == query.family
    assert right / len(known) >= 0.9, f"{right}/{len(known)}"


def test_below_floor_results_only_when_asked_and_flagged(corpus) -> None:
    index, _ = corpus
    query = unknown_queries()[0]
    assert search(index, query.description, query.context) == []
    hits = search(index, query.description, query.context, include_below_floor=True)
    assert hits
    assert all(h.below_floor and h.relevance < index.config.min_relevance for h in hits)


def test_context_only_query_ranks_by_context(corpus) -> None:
    index, family = corpus
    for fam in FAMILIES:
        hits = search(index, "", fam.context())
        assert hits, fam.key
        assert family[hits[0].episode_id] == fam.key
        assert hits[0].relevance == pytest.approx(hits[0].breakdown["context"] / 0.7, abs=1e-6)
        assert "lexical" in hits[0].breakdown
        assert hits[0].breakdown["lexical"] == 0.0


def test_context_is_partial_credit_not_a_filter(corpus) -> None:
    index, family = corpus
    jwt = FAMILIES[0]
    other_domain = TaskContext(domain="security", language="python")
    hits = search(index, "JWT refresh token rotation", other_domain)
    assert hits
    assert family[hits[0].episode_id] == jwt.key


def test_breakdown_sums_to_score(corpus) -> None:
    index, _ = corpus
    rng = random.Random(5)
    for query in [*held_out_queries()[::7], *unknown_queries()[::5]]:
        for hit in search(
            index,
            query.description,
            query.context,
            include_below_floor=rng.random() < 0.5,
            limit=10,
        ):
            assert math.isclose(sum(hit.breakdown.values()), hit.score, abs_tol=1e-9)
            assert set(hit.breakdown) == {"lexical", "context", "reward", "recency", "diversity"}


def test_scores_are_non_increasing(corpus) -> None:
    index, _ = corpus
    for query in held_out_queries()[::5]:
        scores = [h.score for h in search(index, query.description, limit=10)]
        assert scores == sorted(scores, reverse=True)


def test_newer_equal_episode_outranks_older() -> None:
    rng = random.Random(3)
    family = FAMILIES[5]
    older = make_episode(
        family,
        random.Random(9),
        description="Fix slow orders query",
        success=True,
        end_time=NOW - timedelta(days=40),
    )
    newer = older.model_copy(
        update={
            "episode_id": make_episode(family, rng).episode_id,
            "end_time": NOW - timedelta(days=2),
            "start_time": NOW - timedelta(days=2, minutes=5),
        }
    )
    index = EpisodeIndex(RetrievalConfig())
    for episode in (older, newer, *generate_corpus(60, seed=4)):
        index.add(episode)
    hits = search(index, "slow orders query", limit=2)
    assert hits[0].episode_id == newer.episode_id
    assert hits[0].breakdown["recency"] > 0


def test_mmr_removes_near_duplicates_from_the_top_5() -> None:
    family = FAMILIES[0]
    rng = random.Random(11)
    original = make_episode(
        family,
        rng,
        description="Implement JWT refresh token rotation",
        success=True,
        end_time=NOW - timedelta(days=1),
    )
    copies = [
        original.model_copy(update={"episode_id": make_episode(family, rng).episode_id})
        for _ in range(6)
    ]
    others = [make_episode(family, rng, success=True) for _ in range(8)]
    corpus = [original, *copies, *others, *generate_corpus(60, seed=2)]
    duplicate_ids = {e.episode_id for e in (original, *copies)}

    def top5(config: RetrievalConfig) -> list:
        index = EpisodeIndex(config)
        for episode in corpus:
            index.add(episode)
        return search(index, "Implement JWT refresh token rotation")

    without = top5(RetrievalConfig(diversity_weight=0))
    assert sum(h.episode_id in duplicate_ids for h in without) == 5
    diverse = top5(RetrievalConfig())
    assert len(diverse) == 5
    assert sum(h.episode_id in duplicate_ids for h in diverse) <= 2
    assert diverse[0].episode_id in duplicate_ids
    assert any(h.breakdown["diversity"] < 0 for h in diverse)


def test_failures_are_retrievable_when_they_are_the_best_lesson() -> None:
    family = FAMILIES[8]
    failure = make_episode(
        family,
        random.Random(1),
        description="Fix a memory leak in the thumbnail worker",
        success=False,
    )
    index = EpisodeIndex(RetrievalConfig())
    index.add(failure)
    for episode in generate_corpus(60, seed=6):
        if episode.task_type != family.task_type:
            index.add(episode)
    hits = search(index, "thumbnail worker memory leak")
    assert hits[0].episode_id == failure.episode_id


def test_successful_high_reward_episode_ranks_above_failure() -> None:
    family = FAMILIES[8]
    rng = random.Random(2)
    when = NOW - timedelta(days=3)
    failure = make_episode(
        family,
        rng,
        description="Fix a memory leak in the thumbnail worker",
        success=False,
        end_time=when,
    )
    success = make_episode(
        family,
        rng,
        description="Fix a memory leak in the thumbnail worker",
        success=True,
        end_time=when,
    )
    index = EpisodeIndex(RetrievalConfig())
    index.add(failure)
    index.add(success)
    hits = search(index, "thumbnail worker memory leak")
    assert [h.episode_id for h in hits] == [success.episode_id, failure.episode_id]


def test_filters(corpus) -> None:
    index, family = corpus
    kwargs = {"include_below_floor": True, "limit": 50}
    hits = search(index, "fix the test", filters={"domain": "devops"}, **kwargs)
    assert hits
    assert all(family[h.episode_id] in {"docker_build", "k8s_deploy", "ci_cache"} for h in hits)
    assert search(index, "fix the test", filters={"domain": "nowhere"}, **kwargs) == []
    hits = search(index, "fix the test", filters={"outcome_kind": "failure"}, **kwargs)
    assert hits
    assert all(h.breakdown["reward"] < 0.15 * 0.3 / 2 + 1e-9 for h in hits)
    hits = search(index, "fix the test", filters={"min_reward": 1.5}, **kwargs)
    assert hits
    assert all(h.breakdown["reward"] >= 0.15 * 1.5 / 2 - 1e-6 for h in hits)
    since = NOW - timedelta(days=10)
    recent = search(index, "fix the test", filters={"since": since}, **kwargs)
    old = search(index, "fix the test", filters={"until": since}, **kwargs)
    assert recent
    assert old
    assert not {h.episode_id for h in recent} & {h.episode_id for h in old}
    naive = search(index, "fix the test", filters={"since": since.replace(tzinfo=None)}, **kwargs)
    assert [h.episode_id for h in naive] == [h.episode_id for h in recent]
    hits = search(index, "fix the test", filters={"task_type": TaskType.ANALYSIS}, **kwargs)
    assert hits
    assert all(family[h.episode_id] in {"model_train", "log_parse", "cpu_profile"} for h in hits)


def test_removed_and_replaced_episodes(corpus) -> None:
    index, _ = build(RetrievalConfig(), size=120)
    query = held_out_queries()[0]
    first = search(index, query.description)[0]
    assert index.remove(first.episode_id)
    assert first.episode_id not in index
    assert all(h.episode_id != first.episode_id for h in search(index, query.description, limit=50))
    assert not index.remove(first.episode_id)
    assert index.dead_slots == 1


def test_incomplete_episodes_are_not_indexed() -> None:
    episode = make_episode(FAMILIES[0], random.Random(0)).model_copy(
        update={"outcome": None, "end_time": None}
    )
    index = EpisodeIndex(RetrievalConfig())
    assert not index.add(episode)
    assert len(index) == 0
    assert search(index, "anything") == []


def test_hybrid_semantic_similarity_helps_paraphrases() -> None:
    embedder = HashingEmbedder()
    family = FAMILIES[12]  # i18n
    rng = random.Random(4)
    target = make_episode(
        family, rng, description="Internationalization of the checkout page", success=True
    )
    index = EpisodeIndex(RetrievalConfig())
    corpus = [target, *generate_corpus(60, seed=8)]
    vectors = embedder.embed([e.task_description for e in corpus])
    for episode, vector in zip(corpus, vectors, strict=True):
        index.add(episode, vector)
    query = "Internationalisation for checkout"
    lexical_only = search(index, query)
    hybrid = index.search(
        query,
        TaskContext(),
        5,
        EpisodeFilters(),
        query_vector=embedder.embed([query])[0],
        semantic_enabled=True,
        now=NOW_TS,
    )
    assert hybrid[0].episode_id == target.episode_id
    assert hybrid[0].breakdown["semantic"] > 0
    assert math.isclose(sum(hybrid[0].breakdown.values()), hybrid[0].score, abs_tol=1e-9)
    assert hybrid[0].relevance > (lexical_only[0].relevance if lexical_only else 0.0)


@pytest.mark.parametrize("with_context", [True, False])
def test_one_pass_by_outcome_equals_one_filtered_search_per_outcome(corpus, with_context) -> None:
    index, _ = corpus
    kinds = ("success", "failure", "partial_success")
    queries = [*held_out_queries(), *unknown_queries()]
    failures = 0
    for query in queries:
        context = query.context if with_context else TaskContext()
        for limit in (1, 10):
            one_pass = index.search_by_outcome(query.description, context, limit, kinds, now=NOW_TS)
            per_kind = [
                hit
                for kind in kinds
                for hit in index.search(
                    query.description,
                    context,
                    limit,
                    EpisodeFilters(outcome_kind=kind),
                    now=NOW_TS,
                    diversify=False,
                )
            ]
            assert one_pass == per_kind
            failures += len(one_pass) - len(
                index.search_by_outcome(query.description, context, limit, ("success",), now=NOW_TS)
            )
    assert failures > 0


def test_the_reward_part_is_the_reward_over_its_scale_within_zero_and_one() -> None:
    config = RetrievalConfig()
    rng = random.Random(5)
    index = EpisodeIndex(config)
    rewards = {None: 0.0, 0.0: 0.0, 0.7: 0.7 / config.reward_scale, 1.5: 0.75, 9.0: 1.0}
    ids = {}
    for total in rewards:
        episode = make_episode(FAMILIES[0], rng, description="Rotate the JWT signing keys")
        assert episode.reward is not None
        reward = None if total is None else episode.reward.model_copy(update={"total": total})
        episode = episode.model_copy(update={"reward": reward})
        index.add(episode)
        ids[episode.episode_id] = total
    hits = search(index, "rotate JWT signing keys", limit=10, include_below_floor=True)
    assert len(hits) == len(rewards)
    for hit in hits:
        expected = config.reward_weight * rewards[ids[hit.episode_id]]
        assert hit.breakdown["reward"] == pytest.approx(expected, rel=1e-6)


def test_episodes_with_tags_are_indexed_while_a_view_of_a_tag_list_is_kept() -> None:
    # The context groups' tag lists are read through numpy views too (see test_lexical).
    index = EpisodeIndex(RetrievalConfig())
    context = TaskContext(domain="web-api", tags=["auth"])
    rng = random.Random(1)
    first, second = (
        make_episode(FAMILIES[0], rng).model_copy(update={"context": c})
        for c in (context, context.model_copy(update={"language": "go"}))
    )
    index.add(first)
    kept = [np.frombuffer(tags, dtype=np.uint8) for tags in index._groups._tag_postings]
    index.add(second)
    found = {h.episode_id for h in search(index, first.task_description, context)}
    assert {first.episode_id, second.episode_id} <= found
    assert kept
