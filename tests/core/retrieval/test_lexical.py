"""The BM25 index: its scores and diversity similarities against plain reference loops."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from memory_core.retrieval.lexical import CorpusStats, LexicalIndex

_WORDS = [f"w{i}" for i in range(60)]


def _index(postings: bool, seed: int = 3) -> tuple[LexicalIndex, list[dict[str, float]]]:
    rng = random.Random(seed)
    index = LexicalIndex(min_corpus=10, postings=postings)
    docs = []
    for _ in range(200):
        counts = {w: float(rng.randint(1, 3)) for w in rng.sample(_WORDS, rng.randint(1, 12))}
        index.add(counts)
        docs.append(counts)
    for slot in range(0, 200, 7):  # removed documents stop counting
        index.remove(slot)
    return index, docs


def _reference_scores(index: LexicalIndex, docs: list[dict[str, float]], query: list[str]):
    """BM25 term by term in float32, as a loop over the query's terms would sum it."""
    out = np.zeros(len(docs), np.float32)
    live = index.live
    lengths = [sum(d.values()) for d, alive in zip(docs, live, strict=True) if alive]
    avg = float(sum(lengths)) / len(lengths)
    reference = 0.0
    for term in dict.fromkeys(query):
        idf = index.idf(term)
        reference += idf * index.saturation(1.0)
        for slot, doc in enumerate(docs):
            if term in doc:
                tf = np.float32(doc[term])
                norm = index.k1 * (1 - index.b) + index.k1 * index.b / avg * np.float32(
                    sum(doc.values())
                )
                out[slot] += np.float32(idf * (index.k1 + 1)) * tf / (tf + np.float32(norm))
    out *= np.float32(1.0 / reference)
    return np.minimum(out, 1.0), reference


@pytest.mark.parametrize("postings", [True, False])
def test_scores_equal_a_term_by_term_loop(postings: bool) -> None:
    index, docs = _index(postings)
    rng = random.Random(9)
    for _ in range(20):
        query = [*rng.sample(_WORDS, rng.randint(1, 8)), "never-seen"]
        scores, reference = index.scores(query)
        expected, expected_reference = _reference_scores(index, docs, query)
        assert math.isclose(reference, expected_reference, rel_tol=1e-12)
        np.testing.assert_allclose(scores, expected, rtol=2e-6, atol=1e-7)


def test_cosine_matrix_equals_a_dense_reference() -> None:
    index, docs = _index(postings=True)
    slots = np.array([1, 5, 8, 13, 22, 40, 41, 99, 150], np.int64)
    sims = index.cosine_matrix(slots)
    live = int(index.live.sum())
    vocab = sorted({t for s in slots for t in docs[s]})
    holders = [d for d, alive in zip(docs, index.live, strict=True) if alive]
    dense = np.zeros((len(slots), len(vocab)), np.float64)
    for row, slot in enumerate(slots):
        for col, term in enumerate(vocab):
            if term in docs[slot]:
                df = sum(1 for d in holders if term in d)
                idf = math.log1p((live - df + 0.5) / (df + 0.5))
                dense[row, col] = math.log1p(docs[slot][term]) * idf
    dense /= np.linalg.norm(dense, axis=1)[:, None]
    np.testing.assert_allclose(sims, dense @ dense.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("postings", [True, False])
def test_indexing_goes_on_while_a_view_of_its_buffers_is_kept(postings: bool) -> None:
    # Searches read the buffers through numpy views; one kept past its search (a traceback
    # kept after an exception, a debugger) must not stop the index from growing.
    index, docs = _index(postings)
    buffers = [index._fwd_start, index._fwd_terms, index._fwd_tfs, index._df]
    buffers += [index._in_similarity, *index._docs, *index._tfs]
    kept = [np.frombuffer(buffer, dtype=np.uint8) for buffer in buffers if len(buffer)]
    for counts in ({"w1": 2.0, "fresh": 1.0}, {"fresh": 3.0, "w2": 1.0}):
        index.add(counts)
        docs.append(counts)
    query = ["w1", "fresh", "w2"]
    scores, _ = index.scores(query)
    np.testing.assert_allclose(scores, _reference_scores(index, docs, query)[0], rtol=2e-6)
    assert kept  # what the views saw is still there


def test_indexing_goes_on_while_a_view_of_one_posting_list_is_kept() -> None:
    # A view may pin a term's counts but not its documents: the document is then posted
    # once, with its count, and the terms after it too.
    index, docs = _index(postings=True)
    term_id = index._vocab["w1"]
    kept = np.frombuffer(index._tfs[term_id], dtype=np.uint8)
    counts = {"w0": 1.0, "w1": 2.0, "w2": 3.0}
    index.add(counts)
    docs.append(counts)
    assert all(len(d) == len(t) for d, t in zip(index._docs, index._tfs, strict=True))
    query = ["w0", "w1", "w2"]
    scores, _ = index.scores(query)
    np.testing.assert_allclose(scores, _reference_scores(index, docs, query)[0], rtol=2e-6)
    assert len(kept)


def test_an_index_of_part_of_a_corpus_scores_as_the_whole_corpus_does() -> None:
    whole, docs = _index(postings=True)
    live = [d for d, alive in zip(docs, whole.live, strict=True) if alive]
    df = {t: sum(1 for d in live if t in d) for t in _WORDS}
    fetched: list[list[str]] = []

    def fetch(terms):
        fetched.append(list(terms))
        return {t: df.get(t, 0) for t in terms}

    corpus = CorpusStats(
        doc_count=len(live), total_length=sum(sum(d.values()) for d in live), fetch=fetch
    )
    part = LexicalIndex(min_corpus=10, corpus=corpus, postings=False)
    chosen = [slot for slot in range(0, 200, 3) if whole.live[slot]]
    for slot in chosen:
        part.add(docs[slot])
    query = ["w3", "w8", "w21", "w40", "never-seen"]
    scores, reference = part.scores(query)
    expected, expected_reference = whole.scores(query)
    assert fetched == [query]  # the corpus is asked once, for every query term
    assert reference == pytest.approx(expected_reference, rel=1e-12)
    np.testing.assert_allclose(scores, expected[chosen], rtol=2e-6, atol=1e-7)
