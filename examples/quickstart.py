"""memory-core in one file: record a few agent runs, learn from them, use what was learned.

    python examples/quickstart.py [DATABASE_URL]

Runs offline on a throwaway SQLite file unless a database URL is given.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
    format_lessons,
)

CONTEXT = TaskContext(language="python", framework="fastapi", domain="web-api", tags=["auth"])

# (task, [(tool, action, error or None)], succeeded)
RUNS = [
    (
        "Fix the failing login test",
        [
            ("pytest", "run the failing test", "AssertionError: expected 200, got 401"),
            ("grep", "search for the token check", None),
            ("editor", "fix the expiry comparison", None),
            ("pytest", "verify the test passes", None),
        ],
        True,
    ),
    (
        "Fix the failing password reset test",
        [
            ("pytest", "run the failing test", "AssertionError: expected 200, got 400"),
            ("grep", "search for the reset handler", None),
            ("editor", "fix the token lookup", None),
            ("pytest", "verify the test passes", None),
        ],
        True,
    ),
    (
        "Fix the flaky signup test",
        [("pytest", "run the flaky test", "TimeoutError: mail server did not answer")],
        False,
    ),
]


async def main(database_url: str) -> int:
    config = MemoryConfig(database_url=database_url)
    async with SelfLearningMemory(config, namespace="quickstart") as memory:
        for task, steps, succeeded in RUNS:
            episode_id = await memory.start_episode(task, CONTEXT, TaskType.DEBUGGING)
            for tool, action, error in steps:
                result = ExecutionResult.error(error) if error else ExecutionResult.success("ok")
                await memory.log_step(
                    episode_id, ExecutionStep(tool=tool, action=action, result=result)
                )
            outcome = (
                TaskOutcome.success("the test passes")
                if succeeded
                else TaskOutcome.failure("the mail server kept timing out")
            )
            episode = await memory.complete_episode(episode_id, outcome)
            assert episode.reward is not None
            print(f"recorded: {task!r} -> {outcome.kind}, reward {episode.reward.total:.2f}")

        await memory.wait_for_learning()

        new_task = "Fix the failing logout test"
        episodes = await memory.search_episodes(new_task, CONTEXT, limit=2)
        patterns = await memory.search_patterns(CONTEXT, limit=3, task_description=new_task)
        print(f"\nWhat the memory hands an agent for {new_task!r}:\n")
        print(format_lessons(episodes, patterns))
        for found in episodes:
            parts = ", ".join(f"{name} {value:.2f}" for name, value in found.breakdown.items())
            print(f"\nwhy {found.episode.task_description!r} ranked: {parts}")
        stats = await memory.stats()
        print(
            f"\n{stats.episodes_completed} episodes, {stats.patterns_total} patterns, "
            f"{stats.heuristics_total} heuristics learned"
        )
        return 0 if episodes and patterns else 1


if __name__ == "__main__":
    if len(sys.argv) > 1:
        url = sys.argv[1]
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'quickstart.db'}"
    raise SystemExit(asyncio.run(main(url)))
