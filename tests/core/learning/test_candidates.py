"""The merge-candidate index holds stored patterns as JSON, a bounded few of them parsed."""

from __future__ import annotations

from cachetools import LRUCache

from memory_core import TaskContext, ToolSequence
from memory_core.learning import similarity_key
from memory_core.learning.candidates import PatternGroup
from memory_core.models import pattern_from_json, pattern_json


def _sequence(number: int) -> ToolSequence:
    return ToolSequence(
        tools=[f"tool-{number}", "pytest", f"deploy-{number}"],
        success_rate=0.5 + number / 100,
        occurrence_count=number + 1,
        context=TaskContext(domain="payments"),
    )


def test_patterns_come_back_equal_from_json_with_only_a_few_kept_parsed() -> None:
    parsed: LRUCache = LRUCache(2)
    group = PatternGroup(parsed=parsed)
    stored = [_sequence(n) for n in range(6)]
    made = [group.put(p) for p in stored]
    assert made == [pattern_json(p) for p in stored]  # the JSON the store writes
    assert len(group) == 6
    assert len(parsed) == 2
    for pattern in stored:
        again = group.get(pattern.pattern_id)
        assert again == pattern
        assert pattern_from_json(pattern_json(pattern)) == pattern
    assert len(parsed) == 2


def test_a_match_is_found_among_patterns_no_longer_parsed() -> None:
    parsed: LRUCache = LRUCache(1)
    group = PatternGroup([_sequence(n) for n in range(5)], parsed)
    new = _sequence(2).model_copy(update={"pattern_id": _sequence(9).pattern_id})
    match = group.find_match(new, 0.9)
    assert match is not None
    assert similarity_key(match) == similarity_key(new)
    assert match.occurrence_count == 3
    near = new.model_copy(update={"tools": ["tool-2", "pytest", "deploy-2", "notify"]})
    found = group.find_match(near, 0.7, similarity_key(near))  # compared, not looked up
    assert found is not None
    assert found.tools == ["tool-2", "pytest", "deploy-2"]


def test_removing_a_pattern_forgets_its_parsed_copy() -> None:
    parsed: LRUCache = LRUCache(4)
    first, second = _sequence(1), _sequence(2)
    group = PatternGroup([first, second], parsed)
    group.remove(first.pattern_id)
    assert first.pattern_id not in group
    assert first.pattern_id not in parsed
    assert group.get(first.pattern_id) is None
    assert group.find_match(_sequence(1), 0.99) is None
    assert group.ids() == [second.pattern_id]
