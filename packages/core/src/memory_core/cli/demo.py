"""``memory-core demo``: a scripted agent solves tasks while the memory learns."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from memory_core.config import MemoryConfig
from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import ExecutionResult, ExecutionStep, TaskContext, TaskOutcome, TaskType

__all__ = ["run_demo"]

# (task, context, task type, [(tool, action, error or None)], outcome)
_SCRIPT: list[tuple[str, TaskContext, TaskType, list[tuple[str, str, str | None]], bool]] = [
    (
        "Fix the failing login test in the auth service",
        TaskContext(language="python", framework="fastapi", domain="web-api", tags=["auth"]),
        TaskType.DEBUGGING,
        [
            ("pytest", "run the failing test", "AssertionError: expected 200, got 401"),
            ("grep", "search for the token check", None),
            ("editor", "fix the expiry comparison", None),
            ("pytest", "verify the test passes", None),
        ],
        True,
    ),
    (
        "Add input validation to the signup endpoint",
        TaskContext(language="python", framework="fastapi", domain="web-api", tags=["validation"]),
        TaskType.CODE_GENERATION,
        [
            ("editor", "write the pydantic model", None),
            ("pytest", "run the endpoint tests", None),
            ("ruff", "check the style", None),
        ],
        True,
    ),
    (
        "Debug the flaky payment webhook test",
        TaskContext(language="python", framework="fastapi", domain="web-api", tags=["payments"]),
        TaskType.DEBUGGING,
        [
            ("pytest", "run the flaky test", "TimeoutError: webhook did not arrive"),
            ("pytest", "run it again with -x", "TimeoutError: webhook did not arrive"),
        ],
        False,
    ),
    (
        "Fix the failing password reset test",
        TaskContext(language="python", framework="fastapi", domain="web-api", tags=["auth"]),
        TaskType.DEBUGGING,
        [
            ("pytest", "run the failing test", "AssertionError: expected 200, got 400"),
            ("grep", "search for the reset handler", None),
            ("editor", "fix the token lookup", None),
            ("pytest", "verify the test passes", None),
        ],
        True,
    ),
]


def run_demo(
    database_url: str | None = None,
    console: Console | None = None,
    *,
    namespace: str = "demo",
    config: MemoryConfig | None = None,
) -> int:
    """Record a few scripted agent runs, then show what the memory learned and retrieves.

    Args:
        database_url: Database to use (ignored when ``config`` is given).
        console: Where to print (default: standard output).
        namespace: Namespace the demo writes to.
        config: Full configuration (default: defaults with ``database_url``).

    Returns:
        The process exit code (0).
    """
    console = console or Console()
    if config is None:
        config = MemoryConfig(database_url=database_url) if database_url else MemoryConfig()
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        console.print(
            f"[bold]memory-core demo[/bold] — database: {escape(config.resolved_database_url)}"
        )
        table = Table(title="Recorded episodes")
        for column in ("task", "steps", "outcome", "reward"):
            table.add_column(column)
        for task, context, task_type, steps, ok in _SCRIPT:
            episode_id = memory.start_episode(task, context, task_type)
            for tool, action, error in steps:
                result = ExecutionResult.error(error) if error else ExecutionResult.success("ok")
                memory.log_step(
                    episode_id,
                    ExecutionStep(tool=tool, action=action, result=result, latency_ms=120),
                )
            outcome = (
                TaskOutcome.success("task done")
                if ok
                else TaskOutcome.failure("gave up after repeated timeouts")
            )
            episode = memory.complete_episode(episode_id, outcome)
            reward = f"{episode.reward.total:.2f}" if episode.reward else "-"
            table.add_row(Text(task), str(len(episode.steps)), outcome.kind, reward)
        console.print(table)
        memory.wait_for_learning()

        patterns = memory.list_patterns(limit=10)
        ptable = Table(title=f"Learned patterns ({len(patterns)})")
        ptable.add_column("kind")
        ptable.add_column("pattern")
        from memory_core.formatting import format_pattern

        for pattern in patterns:
            ptable.add_row(pattern.kind, Text(format_pattern(pattern)))
        console.print(ptable)

        query = "Fix the failing logout test"
        context = TaskContext(
            language="python", framework="fastapi", domain="web-api", tags=["auth"]
        )
        console.print(f"\n[bold]New task:[/bold] {query}")
        for rank, found in enumerate(memory.search_episodes(query, context, limit=3), start=1):
            outcome_kind = found.episode.outcome.kind if found.episode.outcome else "-"
            console.print(
                f"  {rank}. {escape(found.episode.task_description)} "
                f"(score {found.score:.2f}, outcome {outcome_kind})"
            )
        stats = memory.stats()
        console.print(
            f"\nStored {stats.episodes_completed} episodes and {stats.patterns_total} patterns "
            f"in namespace {stats.namespace!r}."
        )
        prefix = f"memory-core --namespace {namespace}"
        if config.database_url is not None:
            prefix = f"memory-core --database-url '{stats.database_url}' --namespace {namespace}"
        console.print(
            escape(
                "Explore it:\n"
                f"  {prefix} episodes list\n"
                f"  {prefix} search 'Fix the failing logout test' --domain web-api --tags auth\n"
                f"  {prefix} report memory-report.html"
            )
        )
    return 0
