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


def _run(seed: int, folder) -> dict:
    tasks = TaskWorld(seed).tasks(120)
    agent = ScriptedAgent(seed)
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


@pytest.fixture(scope="module")
def streams(tmp_path_factory):
    done: dict[int, dict] = {}

    def run(seed: int) -> dict:
        if seed not in done:
            done[seed] = _run(seed, tmp_path_factory.mktemp(f"learning-effect-{seed}"))
        return done[seed]

    return run


@pytest.fixture(scope="module")
def reports(streams):
    return streams(1)


def test_memory_lifts_success_well_above_no_memory(reports):
    assert reports["memory-core"].success >= reports["none"].success + 0.5


def test_plans_are_more_precise_than_the_bm25_peer(reports):
    assert reports["memory-core"].precision >= reports["bm25"].precision + 0.15
    assert reports["memory-core"].precision >= 0.7


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_never_below_the_bm25_peer_on_success_and_precision(seed, streams):
    found = streams(seed)
    mine, peer = found["memory-core"], found["bm25"]
    assert mine.success >= peer.success, (mine.success, peer.success)
    assert mine.precision >= peer.precision, (mine.precision, peer.precision)
    assert mine.success >= 0.85


def test_stays_silent_on_some_never_solved_kinds(reports):
    # a kind tried and failed before gets the steps that worked (a partial plan), so only
    # the first tasks of a kind can get silence: measured 0.16 (bm25: 0.48, whose wrong
    # plans on new kinds solve them as fast as partial plans do)
    assert reports["memory-core"].abstention >= 0.12


def test_recall_on_kinds_solved_before(reports):
    assert reports["memory-core"].recall >= 0.95


def test_the_world_is_deterministic():
    first = [(t.description, t.context, t.family.name) for t in TaskWorld(7).tasks(50)]
    again = [(t.description, t.context, t.family.name) for t in TaskWorld(7).tasks(50)]
    assert first == again
    agent = ScriptedAgent(7)
    task = TaskWorld(7).tasks(1)[0]
    assert agent.run(task) == agent.run(task)
    assert agent.run(task, task.sequence).plan_correct
