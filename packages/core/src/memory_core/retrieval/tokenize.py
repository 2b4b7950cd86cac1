"""Tokenisation for lexical retrieval: words, code identifiers and a light stemmer.

``tokenize("Fix parse_config in utils.yaml_loader (camelCase)")`` yields the parts of every
identifier (``parse``, ``config``, ``util``, ``yaml``, ``loader``, ``camel``, ``case``) and
the whole identifiers (``parse_config``, ``utils.yaml_loader``, ``camelcase``), lowercased
and stemmed, without English stop words. Deterministic and dependency-free.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["STOP_WORDS", "stem", "term_counts", "tokenize"]

_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:[._:/-][A-Za-z0-9]+)*|[A-Za-z0-9_]+")
_IDENT_SPLIT_RE = re.compile(r"[._:/\-]+|_+")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i
    if in into is it its itself me my of on or our so some such than that the their them then
    there these they this those to too up us was we were what when where which while who will
    with would you your""".split()  # noqa: SIM905
)
"""Words too common to say anything about a task."""

_SUFFIXES = (
    "ations",
    "ation",
    "ings",
    "ing",
    "edly",
    "ly",
    "ies",
    "ied",
    "ers",
    "er",
    "ed",
    "es",
    "s",
)
_NO_DOUBLE = frozenset("lsz")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Reduce an English word to a crude stem so inflections match (``fixes`` -> ``fix``).

    Only words of letters longer than three characters are stemmed; numbers and short
    words are kept as they are.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    base = word
    for suffix in _SUFFIXES:
        if base.endswith(suffix) and len(base) - len(suffix) >= 3:
            if suffix == "s" and base.endswith(("ss", "us", "is")):
                break
            base = base[: -len(suffix)]
            if suffix in ("ies", "ied"):
                base += "y"
            break
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in _NO_DOUBLE | set("aeiou"):
        base = base[:-1]  # running -> runn -> run
    if len(base) > 3 and base.endswith("e"):
        base = base[:-1]  # parse / parsing -> pars
    return base


def _parts(identifier: str) -> list[str]:
    parts: list[str] = []
    for chunk in _IDENT_SPLIT_RE.split(identifier):
        if chunk:
            parts.extend(_CAMEL_RE.findall(chunk))
    return parts


def tokenize(text: str) -> list[str]:
    """Split text into search terms (lowercased, stemmed, without stop words).

    Identifiers such as ``snake_case``, ``camelCase``, ``dotted.names`` or ``kebab-case``
    give both their parts and the whole identifier, so a query for either matches.
    """
    if len(text) <= _CACHED_LENGTH:
        return list(_tokenize_cached(text))
    return _tokenize(text)


_CACHED_LENGTH = 200


@lru_cache(maxsize=32_768)
def _tokenize_cached(text: str) -> tuple[str, ...]:
    # tool names, actions and reflection sentences repeat a lot across episodes
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[str]:
    terms: list[str] = []
    for match in _WORD_RE.finditer(text):
        raw = match.group(0).strip("._:/-")
        if not raw:
            continue
        parts = _parts(raw)
        for part in parts:
            lowered = part.lower()
            if lowered not in STOP_WORDS and (len(lowered) > 1 or lowered.isdigit()):
                terms.append(stem(lowered))
        if len(parts) > 1:
            terms.append(raw.lower())
    return terms


def term_counts(
    text: str, weight: float = 1.0, into: dict[str, float] | None = None
) -> dict[str, float]:
    """Term frequencies of ``text``, each occurrence counting ``weight`` (added to ``into``)."""
    counts: dict[str, float] = {} if into is None else into
    for term in tokenize(text):
        counts[term] = counts.get(term, 0.0) + weight
    return counts
