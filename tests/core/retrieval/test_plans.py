"""recommend_plan: relevance-weighted votes of successful episodes, feedback, abstention."""

from __future__ import annotations

import pytest

from memory_core import (
    EpisodeNotFoundError,
    ExecutionResult,
    ExecutionStep,
    InvalidInputError,
    MemoryConfig,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    format_plan,
)
from memory_core.evaluation import MemoryCoreAdvisor, ScriptedAgent, TaskWorld
from memory_core.retrieval import EpisodeFilters, plans

CTX = TaskContext(domain="web-api", language="python", tags=["auth"])


@pytest.fixture
def memory(tmp_path):
    config = MemoryConfig(database_url=f"sqlite:///{tmp_path / 'plans.db'}", load_plugins=False)
    with SyncSelfLearningMemory(config, namespace="plans") as mem:
        yield mem


def record(memory, task, tools, *, ok=True, context=CTX, errors=()):
    episode_id = memory.start_episode(task, context)
    plan = memory.recommend_plan(task, context, episode_id=episode_id)
    for tool in tools:
        result = ExecutionResult.error("boom") if tool in errors else ExecutionResult.success("ok")
        memory.log_step(episode_id, ExecutionStep(tool=tool, action=f"use {tool}", result=result))
    outcome = TaskOutcome.success("done") if ok else TaskOutcome.failure("gave up")
    memory.complete_episode(episode_id, outcome)
    return plan


def test_no_plan_from_an_empty_memory(memory):
    assert memory.recommend_plan("Fix the failing login test", CTX) is None


def test_the_tools_of_successful_steps_of_similar_tasks(memory):
    record(memory, "Fix the failing login test", ["pytest", "grep", "editor", "pytest"])
    record(
        memory,
        "Fix the failing login test again",
        ["curl", "pytest", "grep", "editor", "pytest"],
        errors={"curl"},
    )
    plan = memory.recommend_plan("Fix the failing logout test", CTX)
    assert plan is not None
    assert plan.tools == ["pytest", "grep", "editor", "pytest"]
    assert plan.support == 2
    assert len(plan.evidence) == 2
    assert [s.tool for s in plan.steps] == plan.tools
    assert 0 < plan.confidence <= 1
    assert plan.success_rate == 1.0


def test_abstains_on_a_task_unlike_anything_stored(memory):
    record(memory, "Fix the failing login test", ["pytest", "grep", "editor"])
    other = TaskContext(domain="infra", language="hcl", tags=["tls"])
    assert memory.recommend_plan("Renew the TLS certificate of the load balancer", other) is None


def test_a_failed_episode_gives_the_steps_it_got_right_as_a_partial_plan(memory):
    record(
        memory,
        "Fix the failing login test",
        ["curl", "pytest", "editor"],
        ok=False,
        errors={"curl"},
    )
    plan = memory.recommend_plan("Fix the failing login test", CTX)
    assert plan is not None
    assert plan.tools == ["pytest", "editor"]
    assert plan.success_rate == 0.0  # nothing solved a task like this yet
    assert plan.support == 1
    assert format_plan(plan).startswith("Partial plan: pytest -> editor, then explore")


def test_a_failed_episode_supports_the_plan_that_goes_on_from_its_steps(memory):
    record(memory, "Fix the failing login test", ["pytest", "grep"], ok=False)
    record(memory, "Fix the failing login test", ["pytest", "grep", "editor", "pytest"])
    plan = memory.recommend_plan("Fix the failing login test", CTX)
    assert plan is not None
    assert plan.tools == ["pytest", "grep", "editor", "pytest"]
    assert plan.support == 2
    assert plan.success_rate == 1.0


def test_failed_episodes_without_a_successful_step_give_no_plan(memory):
    record(
        memory,
        "Fix the failing login test",
        ["pytest", "editor"],
        ok=False,
        errors={"pytest", "editor"},
    )
    assert memory.recommend_plan("Fix the failing login test", CTX) is None


def test_a_plan_that_failed_for_this_kind_of_task_ranks_lower(memory):
    for _ in range(2):
        record(memory, "Fix the failing login test", ["pytest", "grep", "editor"])
    plan = memory.recommend_plan("Fix the failing login test", CTX)
    assert plan is not None
    assert plan.tools == ["pytest", "grep", "editor"]
    # the plan is followed and fails, again and again: feedback against it
    given = [
        record(memory, "Fix the failing login test", ["pytest"], ok=False, errors={"pytest"})
        for _ in range(3)
    ]
    assert given[0] is not None
    assert given[0].tools == plan.tools
    assert given[-1] is None
    assert memory.recommend_plan("Fix the failing login test", CTX) is None


def test_a_partial_plan_that_was_carried_out_is_not_held_against_it(memory):
    record(memory, "Fix the failing login test", ["pytest", "grep"], ok=False)
    given = record(memory, "Fix the failing login test", ["pytest", "grep", "editor"], ok=False)
    assert given is not None
    assert given.tools == ["pytest", "grep"]
    # the partial plan was right as far as it went: the next attempt starts further on
    plan = memory.recommend_plan("Fix the failing login test", CTX)
    assert plan is not None
    assert plan.tools == ["pytest", "grep", "editor"]


def test_the_plan_is_recorded_on_the_episode_it_was_asked_for(memory):
    record(memory, "Fix the failing login test", ["pytest", "editor"])
    episode_id = memory.start_episode("Fix the failing logout test", CTX)
    plan = memory.recommend_plan("Fix the failing logout test", CTX, episode_id=episode_id)
    assert plan is not None
    memory.log_step(episode_id, ExecutionStep(tool="pytest", action="run"))
    episode = memory.complete_episode(episode_id, TaskOutcome.success("done"))
    assert episode.followed_plan == plan.tools
    assert memory.get_episode(episode_id).followed_plan == plan.tools


def test_bad_input(memory):
    with pytest.raises(InvalidInputError):
        memory.recommend_plan("  ", CTX)
    with pytest.raises(InvalidInputError):
        memory.recommend_plan("Fix it", {"complexity": "enormous"})
    record(memory, "Fix the failing login test", ["pytest"])
    from uuid import uuid4

    with pytest.raises(EpisodeNotFoundError):
        memory.recommend_plan("Fix the failing login test", CTX, episode_id=uuid4())


async def test_the_async_facade_answers_the_same(tmp_path):
    from memory_core import SelfLearningMemory

    config = MemoryConfig(database_url=f"sqlite:///{tmp_path / 'a.db'}", load_plugins=False)
    async with SelfLearningMemory(config, namespace="plans") as memory:
        record(memory.sync, "Fix the failing login test", ["pytest", "editor"])
        plan = await memory.recommend_plan("Fix the failing logout test", CTX)
        assert plan is not None
        assert plan.tools == ["pytest", "editor"]


def test_one_ranking_pass_gives_the_plans_of_one_ranking_per_outcome(tmp_path):
    # recommend_plan ranks once and keeps the best of each outcome; it must answer exactly
    # as with one filtered ranking for the successes and one for the failures
    seed = 3
    tasks = TaskWorld(seed).tasks(80)
    agent = ScriptedAgent(seed)
    config = MemoryConfig(database_url=f"sqlite:///{tmp_path / 'same.db'}", load_plugins=False)
    with SyncSelfLearningMemory(config, namespace="same") as memory:
        advisor = MemoryCoreAdvisor(memory)
        retrieval = memory._engine.retrieval
        compared = partial = 0
        for task in tasks:
            found = [
                hit
                for kind in ("success", "failure")
                for hit in retrieval.search_episodes(
                    task.description,
                    task.context,
                    memory.config.retrieval.plan_candidates,
                    EpisodeFilters(outcome_kind=kind),
                    diversify=False,
                )
            ]
            expected = plans.recommend_plan(found)
            assert memory.recommend_plan(task.description, task.context) == expected
            compared += expected is not None
            partial += expected is not None and expected.success_rate == 0
            advisor.advise(task)
            advisor.record(task, agent.run(task, None if task.index % 3 else task.sequence[:2]))
        assert compared > 40
        assert partial > 0
