"""The learning effect on small seeded streams: lift, precision and abstention (counts only).

A regression in ranking, the relevance floor or recommend_plan shows here as fewer
successes, more wrong plans or fewer abstentions on never-seen tasks.
"""

from __future__ import annotations

import pytest

from memory_core import MemoryConfig, SyncSelfLearningMemory
from memory_core.evaluation import (
    BM25Advisor,
    MemoryCoreAdvisor,
    NoMemory,
    ScriptedAgent,
    TaskWorld,
    run_stream,
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    seed = 1
    tasks = TaskWorld(seed).tasks(120)
    agent = ScriptedAgent(seed)
    folder = tmp_path_factory.mktemp("learning-effect")
    config = MemoryConfig(database_url=f"sqlite:///{folder / 'm.db'}", load_plugins=False)
    with SyncSelfLearningMemory(config, namespace="le") as memory:
        return {
            name: run_stream(tasks, advisor, agent.run)
            for name, advisor in (
                ("none", NoMemory()),
                ("bm25", BM25Advisor()),
                ("memory-core", MemoryCoreAdvisor(memory)),
            )
        }


def test_memory_lifts_success_well_above_no_memory(reports):
    assert reports["memory-core"].success >= reports["none"].success + 0.25


def test_plans_are_more_precise_than_the_bm25_peer(reports):
    assert reports["memory-core"].precision >= reports["bm25"].precision + 0.05
    assert reports["memory-core"].precision >= 0.65


def test_success_at_least_the_bm25_peer(reports):
    assert reports["memory-core"].success >= reports["bm25"].success


def test_abstains_on_most_never_seen_tasks(reports):
    assert reports["memory-core"].abstention >= 0.6
    assert reports["memory-core"].abstention > reports["bm25"].abstention


def test_recall_on_kinds_solved_before(reports):
    assert reports["memory-core"].recall >= 0.85


def test_the_world_is_deterministic():
    first = [(t.description, t.context, t.family.name) for t in TaskWorld(7).tasks(50)]
    again = [(t.description, t.context, t.family.name) for t in TaskWorld(7).tasks(50)]
    assert first == again
    agent = ScriptedAgent(7)
    task = TaskWorld(7).tasks(1)[0]
    assert agent.run(task) == agent.run(task)
    assert agent.run(task, task.sequence).plan_correct
