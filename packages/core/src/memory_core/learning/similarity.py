"""How alike two patterns are: exact similarity keys and graded similarity in [0, 1].

Formulas follow the reference: sequence similarity is ``1 - levenshtein / max_len`` over
tokens, string similarity the same over characters; context similarity is
``0.4 * [same domain] + 0.3 * language + 0.3 * jaccard(tags)``; pattern similarity
combines them per kind (tool sequences ``0.7 * tools + 0.3 * context``, decision points
``0.4 * condition + 0.4 * action + 0.2 * context``, error recoveries
``0.4 * error + 0.4 * steps + 0.2 * context``, context patterns
``0.6 * features + 0.4 * approach``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import cast

from memory_core.learning.text import normalize_text
from memory_core.models import (
    ContextPattern,
    DecisionPoint,
    ErrorRecovery,
    Pattern,
    TaskContext,
    ToolSequence,
)

__all__ = [
    "context_similarity",
    "jaccard",
    "levenshtein",
    "pattern_shape",
    "pattern_similarity",
    "sequence_similarity",
    "Shape",
    "shape_bound",
    "similarity_key",
    "string_similarity",
]


_EXACT_BELOW = 64
"""Strings at most this long skip the upper bound in `_bounded`."""


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Edit distance between two sequences (insertions, deletions, substitutions).

    Bit-parallel (Myers 1999, Hyyrö 2001): one pass over ``b`` with integer operations on
    bit vectors as long as ``a``, instead of filling the whole distance table.
    """
    if len(a) < len(b):
        a, b = b, a
    m = len(a)
    if not b:
        return m
    masks: dict[Hashable, int] = {}
    for i, item in enumerate(a):
        masks[item] = masks.get(item, 0) | (1 << i)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    plus, minus, distance = full, 0, m
    for item in b:
        eq = masks.get(item, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        hp = minus | (~(xh | plus) & full)
        hm = plus & xh
        if hp & last:
            distance += 1
        elif hm & last:
            distance -= 1
        hp = ((hp << 1) | 1) & full
        hm = (hm << 1) & full
        plus = hm | (~(xv | hp) & full)
        minus = hp & xv
    return distance


def sequence_similarity(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """``1 - levenshtein(a, b) / max(len)``; 1.0 when both are empty, 0.0 when one is."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


_MEMO_SIZE = 65_536
_string_similarities: dict[tuple[str, str], float] = {}


def string_similarity(a: str, b: str) -> float:
    """Character-level `sequence_similarity` of two strings.

    Memoised: merging compares the same short conditions, actions and approaches many times.
    """
    key = (a, b)
    found = _string_similarities.get(key)
    if found is None:
        if len(_string_similarities) >= _MEMO_SIZE:
            _string_similarities.clear()
        found = _string_similarities[key] = sequence_similarity(a, b)
    return found


def _string_upper_bound(a: str, b: str) -> float:
    """A cheap upper bound of `string_similarity`.

    The edit distance is at least the size of the character multiset difference.
    """
    if not a or not b:
        return 1.0 if a == b else 0.0
    ca, cb = Counter(a), Counter(b)
    distance = max(sum((ca - cb).values()), sum((cb - ca).values()))
    return 1.0 - distance / max(len(a), len(b))


def _bounded(a: str, b: str, needed: float) -> float:
    """`string_similarity`, or a cheap upper bound when it is already below ``needed``.

    Short strings are compared exactly unless a similarity of 1.0 or their lengths alone
    stay below ``needed``: the character-count bound costs as much as the distance.
    """
    if needed > 1.0:
        return 1.0
    if min(len(a), len(b)) <= _EXACT_BELOW:
        longest = max(len(a), len(b))
        by_length = 1.0 - abs(len(a) - len(b)) / longest if longest else 1.0
        return by_length if by_length < needed else string_similarity(a, b)
    bound = _string_upper_bound(a, b)
    return bound if bound < needed else string_similarity(a, b)


def jaccard(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """``|A & B| / |A | B|`` of two collections as sets (1.0 when both are empty)."""
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def context_similarity(a: TaskContext | None, b: TaskContext | None) -> float:
    """``0.4 * [same domain] + 0.3 * language + 0.3 * jaccard(tags)``.

    Language credit is 0.3 when both name the same language and 0.15 when neither names one.
    Two missing contexts are identical (1.0); one missing context scores 0.0.
    """
    if a is None or b is None:
        return 1.0 if a is b else 0.0
    score = 0.4 if a.domain.lower() == b.domain.lower() else 0.0
    if a.language and b.language:
        score += 0.3 if a.language.lower() == b.language.lower() else 0.0
    elif not a.language and not b.language:
        score += 0.15
    return score + 0.3 * jaccard(a.tags, b.tags)


def _domain(pattern: Pattern) -> str:
    return (pattern.domain or "").lower()


def similarity_key(pattern: Pattern) -> str:
    """The exact-duplicate key: patterns with equal keys in one namespace are merged.

    Tool sequences: tools + domain; decision points: normalised condition + action + domain;
    error recoveries: error signature + domain (so recoveries of one error group together);
    context patterns: features + approach.
    """
    if isinstance(pattern, ToolSequence):
        tools = "→".join(normalize_text(t) for t in pattern.tools)
        return f"tool_seq:{tools}:{_domain(pattern)}"
    if isinstance(pattern, DecisionPoint):
        return (
            f"decision:{normalize_text(pattern.condition)}:{normalize_text(pattern.action)}"
            f":{_domain(pattern)}"
        )
    if isinstance(pattern, ErrorRecovery):
        return f"error_recovery:{pattern.error_type}:{_domain(pattern)}"
    features = ",".join(sorted(pattern.context_features))
    return f"context:{features}:{normalize_text(pattern.recommended_approach)}"


def pattern_similarity(a: Pattern, b: Pattern, *, floor: float = 0.0) -> float:
    """Graded similarity of two patterns of the same kind (0.0 across kinds).

    Args:
        a: One pattern.
        b: The other.
        floor: When the similarity is certainly below ``floor``, an upper bound below
            ``floor`` may be returned instead of the exact value (skips costly edit
            distances of long strings that cannot reach a merge threshold).
    """
    if isinstance(a, ToolSequence) and isinstance(b, ToolSequence):
        tools = sequence_similarity(
            [normalize_text(t) for t in a.tools], [normalize_text(t) for t in b.tools]
        )
        return 0.7 * tools + 0.3 * context_similarity(a.context, b.context)
    if isinstance(a, DecisionPoint) and isinstance(b, DecisionPoint):
        rest = 0.2 * context_similarity(a.context, b.context)
        action = 0.4 * _bounded(
            normalize_text(a.action), normalize_text(b.action), (floor - rest - 0.4) / 0.4
        )
        condition = 0.4 * _bounded(
            normalize_text(a.condition),
            normalize_text(b.condition),
            (floor - rest - action) / 0.4,
        )
        return condition + action + rest
    if isinstance(a, ErrorRecovery) and isinstance(b, ErrorRecovery):
        rest = 0.2 * context_similarity(a.context, b.context) + 0.4 * sequence_similarity(
            a.recovery_steps, b.recovery_steps
        )
        return 0.4 * _bounded(a.error_type, b.error_type, (floor - rest) / 0.4) + rest
    if isinstance(a, ContextPattern) and isinstance(b, ContextPattern):
        features = 0.6 * jaccard(a.context_features, b.context_features)
        approach = _bounded(
            normalize_text(a.recommended_approach),
            normalize_text(b.recommended_approach),
            (floor - features) / 0.4,
        )
        return features + 0.4 * approach
    return 0.0


Shape = tuple[object, ...]
"""What `shape_bound` compares of a pattern (see `pattern_shape`)."""


def pattern_shape(pattern: Pattern) -> Shape:
    """The parts of a pattern `shape_bound` compares.

    Strings and tuples of strings only: cheap to keep per stored pattern, and nothing the
    garbage collector has to track. Tool sequences: normalised tools; decision points:
    normalised condition and action; context patterns: sorted distinct features and
    normalised approach; error recoveries: nothing (they are few, and compared in full).
    """
    if isinstance(pattern, ToolSequence):
        return (tuple(normalize_text(t) for t in pattern.tools),)
    if isinstance(pattern, DecisionPoint):
        return (normalize_text(pattern.condition), normalize_text(pattern.action))
    if isinstance(pattern, ContextPattern):
        return (
            tuple(sorted(set(pattern.context_features))),
            normalize_text(pattern.recommended_approach),
        )
    return ()


def _length_bound(a: int, b: int, differ: bool = False) -> float:
    """Upper bound of a sequence similarity from the two lengths alone.

    The edit distance is at least the length difference, and at least 1 when the
    sequences are known to differ.
    """
    longest, distance = (a, a - b) if a >= b else (b, b - a)
    if not longest:
        return 1.0
    if differ and not distance:
        distance = 1
    return 1.0 - distance / longest


def shape_bound(
    kind: str, a: Shape, b: Shape, *, keys_differ: bool = False, floor: float = 0.0
) -> float:
    """An upper bound of `pattern_similarity` from two `pattern_shape` values.

    Exact but for the context part, which is taken as a full match. When lengths alone
    show the bound is below ``floor``, that cheaper bound is returned instead.
    ``keys_differ`` says the two patterns have different `similarity_key` values and the
    same domain, so what the key holds (tools, condition or action) cannot be identical. A
    pattern whose bound is below the merge threshold need not be compared (or parsed).
    """
    if kind == "tool_sequence":
        tools_a, tools_b = cast(tuple[str, ...], a[0]), cast(tuple[str, ...], b[0])
        quick = 0.7 * _length_bound(len(tools_a), len(tools_b), keys_differ) + 0.3
        return quick if quick < floor else 0.7 * sequence_similarity(tools_a, tools_b) + 0.3
    if kind == "decision_point":
        cond_a, action_a = cast(tuple[str, str], a)
        cond_b, action_b = cast(tuple[str, str], b)
        condition = _length_bound(len(cond_a), len(cond_b))
        action = _length_bound(len(action_a), len(action_b))
        both = condition + action
        if keys_differ:  # the condition or the action differs: the better case of the two
            both = max(
                _length_bound(len(cond_a), len(cond_b), True) + action,
                condition + _length_bound(len(action_a), len(action_b), True),
            )
        quick = 0.4 * both + 0.2
        if quick < floor:
            return quick
        return (
            0.4 * (string_similarity(cond_a, cond_b) + string_similarity(action_a, action_b)) + 0.2
        )
    if kind == "context_pattern":
        features_a, approach_a = cast(tuple[tuple[str, ...], str], a)
        features_b, approach_b = cast(tuple[tuple[str, ...], str], b)
        fewer, more = sorted((len(features_a), len(features_b)))
        quick = 0.6 * (fewer / more if more else 1.0) + 0.4 * _length_bound(
            len(approach_a), len(approach_b)
        )
        if quick < floor:
            return quick
        return 0.6 * jaccard(features_a, features_b) + 0.4 * string_similarity(
            approach_a, approach_b
        )
    return 1.0
