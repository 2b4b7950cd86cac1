"""Run a stream of tasks with an advisor (a memory, or a peer) and measure the effect.

For every task the runner asks the advisor for a plan, lets the agent act (following the
plan where it helps), and hands the run back to the advisor to remember. It measures what
a user feels: how often the agent succeeds, how often a suggested plan was right
(precision), how often a task whose kind was solved before got the right plan (recall), how
often the advisor stayed silent on a task of a kind never solved before (abstention), the
steps taken, and how long the advisor took to answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from memory_core.evaluation.agent import AgentRun
from memory_core.evaluation.world import Task

__all__ = ["Advisor", "CurvePoint", "StreamReport", "percentile", "run_stream"]


class Advisor(Protocol):
    """What the runner needs from a memory or a peer."""

    name: str

    def advise(self, task: Task) -> tuple[str, ...] | None:
        """The tool plan to follow for ``task``, or None to let the agent explore."""
        ...

    def record(self, task: Task, run: AgentRun) -> None:
        """Remember how ``task`` went."""
        ...


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Success rate and mean steps over one block of consecutive tasks."""

    end: int
    success: float
    steps: float


@dataclass(slots=True)
class StreamReport:
    """What one advisor achieved on one stream.

    Attributes:
        advisor: The advisor's name.
        tasks: Tasks run.
        success: Success rate over the second half of the stream.
        recall: Correct plans / tasks whose kind had been solved before.
        precision: Correct plans / plans suggested (1.0 when none was suggested).
        abstention: Tasks of a kind never solved before that got no plan / such tasks.
        mean_steps: Steps per task over the second half.
        advice_ms: Time the advisor took to answer, per task (milliseconds).
        curve: Success and steps per block of tasks (the learning curve).
    """

    advisor: str
    tasks: int
    success: float
    recall: float
    precision: float
    abstention: float
    mean_steps: float
    suggested: int
    advice_ms: list[float] = field(default_factory=list, repr=False)
    curve: list[CurvePoint] = field(default_factory=list)

    @property
    def advice_p50_ms(self) -> float:
        """Median answer time."""
        return percentile(self.advice_ms, 50)

    @property
    def advice_p95_ms(self) -> float:
        """95th percentile answer time."""
        return percentile(self.advice_ms, 95)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


AgentFn = Callable[[Task, tuple[str, ...] | None], AgentRun]


def run_stream(
    tasks: Sequence[Task], advisor: Advisor, agent: AgentFn, *, block: int = 25
) -> StreamReport:
    """Run every task through ``advisor`` and ``agent``, in order; return the measurements."""
    half = len(tasks) // 2
    solved: set[str] = set()
    late_success = late_steps = late = 0
    answerable = correct = suggested = unseen = silent = 0
    advice_ms: list[float] = []
    curve: list[CurvePoint] = []
    block_success = block_steps = block_count = 0
    for task in tasks:
        started = time.perf_counter()
        plan = advisor.advise(task)
        advice_ms.append((time.perf_counter() - started) * 1000)
        run = agent(task, plan)
        advisor.record(task, run)
        known = task.family.name in solved
        if plan is not None:
            suggested += 1
            correct += run.plan_correct
        if known:
            answerable += 1
        else:
            unseen += 1
            silent += plan is None
        if run.success:
            solved.add(task.family.name)
        if task.index >= half:
            late += 1
            late_success += run.success
            late_steps += len(run.steps)
        block_count += 1
        block_success += run.success
        block_steps += len(run.steps)
        if block_count == block:
            curve.append(CurvePoint(task.index + 1, block_success / block, block_steps / block))
            block_success = block_steps = block_count = 0
    return StreamReport(
        advisor=advisor.name,
        tasks=len(tasks),
        success=late_success / late if late else 0.0,
        recall=correct / answerable if answerable else 0.0,
        precision=correct / suggested if suggested else 1.0,
        abstention=silent / unseen if unseen else 1.0,
        mean_steps=late_steps / late if late else 0.0,
        suggested=suggested,
        advice_ms=advice_ms,
        curve=curve,
    )
