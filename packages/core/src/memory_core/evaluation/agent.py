"""A scripted agent for the task world: explores tool by tool, or follows a plan.

Without a plan the agent tries the tools it has one by one (in a seeded random order) until
one does the next part of the task; every wrong tool costs a step that ends in an error.
With a plan it tries the planned tool first at each position and explores only where the
plan is wrong or runs out. Now and then the right tool fails transiently and a retry works
(an error recovery). A run fails when it would need more than ``budget`` steps.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from memory_core.evaluation.world import Task

__all__ = ["AgentRun", "AgentStep", "ScriptedAgent"]


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One tool call: the tool, what it was asked to do, and the error if it failed."""

    tool: str
    action: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AgentRun:
    """What the agent did for one task."""

    steps: tuple[AgentStep, ...]
    success: bool
    plan: tuple[str, ...] | None
    plan_correct: bool = False
    """True when a plan was followed and it was exactly the task's solution."""


_VERBS = ("inspect", "run", "apply", "check")


@dataclass(frozen=True, slots=True)
class ScriptedAgent:
    """Runs tasks of a `TaskWorld` deterministically (per seed and task).

    Args:
        seed: Seeds exploration order and transient failures.
        budget: Most steps a run may take before it counts as failed.
        transient_rate: Chance that the right tool fails once before it works.
    """

    seed: int
    budget: int = 24
    transient_rate: float = 0.08

    def run(self, task: Task, plan: Sequence[str] | None = None) -> AgentRun:
        """Solve ``task``, following ``plan`` where it helps; return the steps taken."""
        rng = random.Random(f"{self.seed}:{task.index}")
        steps: list[AgentStep] = []
        needed = task.sequence
        correct = plan is not None and tuple(plan) == tuple(needed)
        for position, target in enumerate(needed):
            verb = _VERBS[position % len(_VERBS)]
            tried: set[str] = set()
            if plan is not None and position < len(plan):
                guess = plan[position]
                tried.add(guess)
                if guess != target:
                    steps.append(_wrong(guess, verb))
            order = [t for t in task.tool_pool if t not in tried]
            rng.shuffle(order)
            if target not in tried:
                for tool in order:
                    if tool == target:
                        break
                    steps.append(_wrong(tool, verb))
            if rng.random() < self.transient_rate:
                steps.append(
                    AgentStep(target, f"{verb} with {target}", "TimeoutError: no reply in 30 s")
                )
            steps.append(AgentStep(target, f"{verb} with {target}"))
            if len(steps) > self.budget:
                return AgentRun(tuple(steps[: self.budget]), False, _as_plan(plan), correct)
        return AgentRun(tuple(steps), True, _as_plan(plan), correct)


def _wrong(tool: str, verb: str) -> AgentStep:
    return AgentStep(tool, f"{verb} with {tool}", f"ToolError: {tool} cannot do this step")


def _as_plan(plan: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if plan is None else tuple(plan)
