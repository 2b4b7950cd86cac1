"""An incremental BM25 index: inverted postings for scoring, forward vectors for diversity.

Documents are added one at a time (slots 0, 1, 2 ...) and removed by slot (tombstoned:
their postings stay but no longer count in document frequencies or lengths). Postings are
``array.array`` buffers read as numpy arrays without copying, so a query costs
O(postings of its terms), not O(documents).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memory_core.retrieval.columns import Column, extended

__all__ = ["FIELD_MARK", "CorpusStats", "LexicalIndex"]

FIELD_MARK = "\x1f"
"""First character of field terms (e.g. context terms): they score like any term but are
left out of the diversity similarity, which compares what the documents say."""

FloatArray = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(slots=True)
class CorpusStats:
    """Statistics of a whole corpus, for an index that holds only some of its documents.

    A `LexicalIndex` given these ranks its documents exactly as an index of the whole corpus
    would: idf, average length and the diversity similarity use the corpus's figures, not
    the figures of the documents it holds.

    Attributes:
        doc_count: Documents in the corpus.
        total_length: Sum of their lengths (weighted term counts).
        df: Document frequency per term (terms missing here are looked up with ``fetch``).
        fetch: Returns the document frequencies of terms not in ``df`` (0 for unknown terms).
    """

    doc_count: int
    total_length: float
    df: dict[str, int] = field(default_factory=dict)
    fetch: Callable[[Sequence[str]], Mapping[str, int]] | None = None

    def frequencies(self, terms: Sequence[str]) -> list[int]:
        """Document frequencies of ``terms`` (fetching the missing ones in one call)."""
        missing = [t for t in terms if t not in self.df]
        if missing:
            found = self.fetch(missing) if self.fetch is not None else {}
            for term in missing:
                self.df[term] = int(found.get(term, 0))
        return [self.df[t] for t in terms]


class LexicalIndex:
    """BM25 (Lucene idf) over weighted term counts.

    Args:
        k1: Term-frequency saturation.
        b: Length normalisation.
        min_corpus: Document count the idf assumes at least. In a memory of a handful of
            episodes every shared word ("fix", "test") would get an idf near zero and one
            unseen word would swamp the score; counting as if the corpus held at least this
            many documents keeps small memories' relevance meaningful and changes nothing
            once they are larger.
        corpus: Statistics of the whole corpus when this index holds only some of its
            documents.
        postings: Keep inverted postings. Without them (for a few hundred candidate
            documents, indexed once and queried once) a query finds its terms' documents
            in the forward vectors: adding a document costs less, querying a little more.
    """

    def __init__(
        self,
        k1: float = 1.2,
        b: float = 0.75,
        min_corpus: int = 0,
        corpus: CorpusStats | None = None,
        *,
        postings: bool = True,
    ) -> None:
        self.k1 = k1
        self.b = b
        self.min_corpus = min_corpus
        self.corpus = corpus
        """Statistics of the whole corpus when this index holds only some of its documents."""
        self._vocab: dict[str, int] = {}
        self._names: list[str] = []
        self._docs: list[array[int]] = []
        self._tfs: list[array[float]] = []
        self._df: array[int] = array("i")
        self._in_similarity: array[int] = array("b")
        self._length = Column(np.float32)
        self._live = Column(np.bool_, False)
        self._fwd_start = array("q", [0])
        self._fwd_terms: array[int] = array("i")
        self._fwd_tfs: array[float] = array("f")
        self._total_length = 0.0
        self.live_count = 0
        self._postings = postings

    # ------------------------------------------------------------ building

    @property
    def size(self) -> int:
        """Number of slots (live and removed documents)."""
        return self._length.size

    def add(self, counts: Mapping[str, float]) -> int:
        """Index one document given its term counts; return its slot."""
        slot = self._length.size
        vocab, df = self._vocab, self._df
        ids = []
        for term in counts:
            term_id = vocab.get(term)
            if term_id is None:
                term_id = len(df)
                vocab[term] = term_id
                self._names.append(term)
                self._docs.append(array("i"))
                self._tfs.append(array("f"))
                df = self._df = extended(df, (0,))
                similar = not term.startswith(FIELD_MARK)
                self._in_similarity = extended(self._in_similarity, (similar,))
            df[term_id] += 1
            ids.append(term_id)
        tfs = list(counts.values())
        if self._postings:
            self._post(slot, ids, tfs)
        self._fwd_terms = extended(self._fwd_terms, ids)
        self._fwd_tfs = extended(self._fwd_tfs, tfs)
        length = sum(tfs, 0.0)
        self._fwd_start = extended(self._fwd_start, (len(self._fwd_terms),))
        self._length.append(length)
        self._live.append(True)
        self._total_length += length
        self.live_count += 1
        return slot

    def _post(self, slot: int, ids: Sequence[int], tfs: Sequence[float]) -> None:
        """Append ``slot`` (with its counts) to the postings of its terms."""
        docs, doc_tfs = self._docs, self._tfs
        done = 0
        try:  # plain appends; `extended` only for a buffer a numpy view pins
            for term_id, tf in zip(ids, tfs, strict=True):
                docs[term_id].append(slot)
                doc_tfs[term_id].append(tf)
                done += 1
        except BufferError:
            for term_id, tf in zip(ids[done:], tfs[done:], strict=True):
                if len(docs[term_id]) == len(doc_tfs[term_id]):  # slot not appended yet
                    docs[term_id] = extended(docs[term_id], (slot,))
                doc_tfs[term_id] = extended(doc_tfs[term_id], (tf,))

    def remove(self, slot: int) -> None:
        """Stop counting a document (its slot is never reused)."""
        if not self._live.values[slot]:
            return
        self._live.values[slot] = False
        start, end = self._fwd_start[slot], self._fwd_start[slot + 1]
        for term_id in self._fwd_terms[start:end]:
            self._df[term_id] -= 1
        self._total_length -= float(self._length.values[slot])
        self.live_count -= 1

    @property
    def live(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Mask of slots still indexed."""
        return self._live.values

    # ------------------------------------------------------------- queries

    def idf(self, term: str) -> float:
        """Lucene BM25 idf; unseen terms get the idf of a term in no document.

        Field terms (`FIELD_MARK`) count the real corpus size, not ``min_corpus``: a tag
        that every episode of a young memory carries is no evidence at all.
        """
        corpus = self.corpus
        if corpus is None:
            term_id = self._vocab.get(term)
            df = 0 if term_id is None else self._df[term_id]
            count = self.live_count
        else:
            df, count = corpus.frequencies([term])[0], corpus.doc_count
        return self._idf(term, df, count)

    def _idf(self, term: str, df: int, count: int) -> float:
        """`idf` of a term found in ``df`` of ``count`` documents."""
        n = count if term.startswith(FIELD_MARK) else max(count, self.min_corpus)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    @property
    def average_length(self) -> float:
        """Average document length (of the corpus, when the index holds only part of it)."""
        corpus = self.corpus
        total, count = (
            (self._total_length, self.live_count)
            if corpus is None
            else (corpus.total_length, corpus.doc_count)
        )
        return total / count if total > 0 and count > 0 else 1.0

    def saturation(self, tf: float) -> float:
        """BM25's term-frequency factor for a document of average length."""
        return tf * (self.k1 + 1.0) / (tf + self.k1)

    def scores(
        self, terms: Iterable[str] | Mapping[str, float], reference_tf: float = 1.0
    ) -> tuple[FloatArray, float]:
        """BM25 scores of every slot, divided by the score a reference document would get.

        The reference document has average length and holds every query term
        ``reference_tf`` times (or, when ``terms`` maps each term to a count, that many
        times), so 1.0 means "matches the whole query well"; results are clipped to [0, 1].
        Unknown query terms count in the reference (a query mostly made of words never seen
        scores low everywhere).

        Returns:
            (scores per slot, the reference score).
        """
        wanted = dict(terms) if isinstance(terms, Mapping) else dict.fromkeys(terms, reference_tf)
        unique = list(wanted)
        out = np.zeros(self.size, np.float32)
        if not unique or self.live_count == 0:
            return out, 0.0
        reference = 0.0
        docs_of: list[np.ndarray[Any, Any]] = []
        tfs_of: list[FloatArray] = []
        weights: list[float] = []
        vocab, df_of, corpus = self._vocab, self._df, self.corpus
        count = self.live_count if corpus is None else corpus.doc_count
        found = corpus.frequencies(unique) if corpus is not None else None
        for number, term in enumerate(unique):
            term_id = vocab.get(term)
            held = 0 if term_id is None else df_of[term_id]  # documents here holding it
            idf = self._idf(term, held if found is None else found[number], count)
            reference += idf * self.saturation(wanted[term])
            if held == 0:
                continue
            assert term_id is not None
            docs, tfs = self._postings_of(term_id)
            docs_of.append(docs)
            tfs_of.append(tfs)
            weights.append(idf * (self.k1 + 1.0))
        if docs_of:  # all terms at once: a few array operations per query, not per term
            docs = np.concatenate(docs_of)
            tfs = np.concatenate(tfs_of)
            weight = np.repeat(np.asarray(weights, np.float32), [len(d) for d in docs_of])
            norm = (
                self.k1 * (1.0 - self.b)
                + (self.k1 * self.b / self.average_length) * (self._length.values[docs])
            )
            # unbuffered, in term order: each slot sums its terms as a loop over terms would
            np.add.at(out, docs, weight * tfs / (tfs + norm))
        if reference > 0:
            out *= np.float32(1.0 / reference)
            np.minimum(out, 1.0, out=out)
        return out, reference

    def _postings_of(self, term_id: int) -> tuple[np.ndarray[Any, Any], FloatArray]:
        """The slots holding a term (ascending) and its counts there."""
        if self._postings:
            docs = np.frombuffer(self._docs[term_id], dtype=np.int32)
            return docs, np.frombuffer(self._tfs[term_id], dtype=np.float32)
        positions = np.flatnonzero(np.frombuffer(self._fwd_terms, dtype=np.int32) == term_id)
        bounds = np.frombuffer(self._fwd_start, dtype=np.int64)
        slots = np.searchsorted(bounds, positions, side="right") - 1
        return slots, np.frombuffer(self._fwd_tfs, dtype=np.float32)[positions]

    def cosine_matrix(self, slots: np.ndarray[Any, np.dtype[np.int64]]) -> FloatArray:
        """Pairwise cosine similarity of the slots' tf-idf vectors (for diversity)."""
        k = len(slots)
        bounds = np.frombuffer(self._fwd_start, dtype=np.int64)
        starts, ends = bounds[slots], bounds[slots + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros((k, k), np.float32)
        rows = np.repeat(np.arange(k), lengths)
        first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        positions = first + np.arange(total)
        terms = np.frombuffer(self._fwd_terms, dtype=np.int32)[positions]
        tfs = np.frombuffer(self._fwd_tfs, dtype=np.float32)[positions]
        tfs = tfs * np.frombuffer(self._in_similarity, dtype=np.int8)[terms]
        vocab, cols = _distinct(terms, len(self._df))
        if self.corpus is None:
            n = max(self.live_count, 1)
            counts = np.frombuffer(self._df, dtype=np.int32)[vocab]
        else:
            n = max(self.corpus.doc_count, 1)
            names = [self._names[i] for i in vocab.tolist()]
            counts = np.asarray(self.corpus.frequencies(names), np.int32)
        df = np.maximum(counts, 1).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        dense = np.zeros((k, len(vocab)), np.float32)
        dense[rows, cols] = np.log1p(tfs) * idf[cols]
        norms = np.linalg.norm(dense, axis=1)
        norms[norms == 0] = 1.0
        dense /= norms[:, None]
        sims: FloatArray = dense @ dense.T
        return sims

    @property
    def nbytes(self) -> int:
        """Approximate bytes held by postings, forward vectors and columns."""
        postings = sum(a.buffer_info()[1] * a.itemsize for a in self._docs)
        postings += sum(a.buffer_info()[1] * a.itemsize for a in self._tfs)
        postings += len(self._df) * 4
        forward = (len(self._fwd_terms) + len(self._fwd_tfs)) * 4 + len(self._fwd_start) * 8
        return postings + forward + self._length.nbytes + self._live.nbytes


def _distinct(
    values: np.ndarray[Any, np.dtype[np.int32]], bound: int
) -> tuple[np.ndarray[Any, np.dtype[np.int32]], np.ndarray[Any, np.dtype[np.int32]]]:
    """The sorted distinct ``values`` (all in ``[0, bound)``) and each value's position there.

    The same as ``np.unique(values, return_inverse=True)``, with scatters into a scratch
    table of ``bound`` entries (only the entries of ``values`` are ever read) instead of
    sorting all the values: only the distinct ones are sorted.
    """
    table = np.empty(bound, np.int32)
    order = np.arange(len(values), dtype=np.int32)
    table[values] = order
    distinct = np.sort(values[table[values] == order])
    table[distinct] = np.arange(len(distinct), dtype=np.int32)
    return distinct, table[values]
