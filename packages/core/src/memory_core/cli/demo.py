"""``memory-core demo``: the same stream of tasks, without and with memory, side by side.

A scripted agent (`memory_core.evaluation.ScriptedAgent`) works through a seeded stream of
tasks from `memory_core.evaluation.TaskWorld`: twelve kinds of task over four domains, each
solved by a fixed tool sequence the agent has to find by trial and error within a step
budget. Run once without memory and once with memory-core (through the public API:
``start_episode``, ``recommend_plan``, ``log_step``, ``complete_episode``), the learning
curve shows what memory changes: success and steps per block of tasks.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from memory_core.config import MemoryConfig
from memory_core.evaluation import (
    MemoryCoreAdvisor,
    NoMemory,
    ScriptedAgent,
    StreamReport,
    TaskWorld,
    run_stream,
)
from memory_core.formatting import format_pattern, format_plan
from memory_core.memory import SyncSelfLearningMemory

__all__ = ["DEMO_TASKS", "run_demo"]

DEMO_TASKS = 120
"""Tasks in the demo's stream."""
_BLOCK = 20
_SEED = 7


def _bar(value: float, width: int = 10) -> str:
    filled = round(value * width)
    return "█" * filled + "·" * (width - filled)


def _free_namespace(config: MemoryConfig, namespace: str, explicit: bool) -> str:
    """``namespace``, or the next empty ``demo-N`` when the default one is already used."""
    if explicit:
        return namespace
    candidate, number = namespace, 1
    while True:
        with SyncSelfLearningMemory(config, namespace=candidate) as memory:
            if memory.stats().episodes_total == 0:
                return candidate
        number += 1
        candidate = f"{namespace}-{number}"


def _curve(without: StreamReport, with_memory: StreamReport) -> Table:
    table = Table(title=f"Learning curve: success and steps per block of {_BLOCK} tasks")
    for column in ("tasks", "without memory", "steps", "with memory-core", "steps"):
        table.add_column(column, justify="right" if column in ("steps", "tasks") else "left")
    for before, after in zip(without.curve, with_memory.curve, strict=True):
        table.add_row(
            f"{after.end - _BLOCK + 1}-{after.end}",
            f"{_bar(before.success)} {before.success:4.0%}",
            f"{before.steps:.1f}",
            f"{_bar(after.success)} {after.success:4.0%}",
            f"{after.steps:.1f}",
        )
    return table


def run_demo(
    database_url: str | None = None,
    console: Console | None = None,
    *,
    namespace: str = "demo",
    config: MemoryConfig | None = None,
    explicit_namespace: bool = False,
) -> int:
    """Run the stream without and with memory, print the learning curve and what was learned.

    Args:
        database_url: Database to use (ignored when ``config`` is given).
        console: Where to print (default: standard output).
        namespace: Namespace the demo writes to. Unless ``explicit_namespace``, a used
            namespace is not reused: the demo takes the next empty ``<namespace>-N``, so the
            curve always starts from an empty memory.
        config: Full configuration (default: defaults with ``database_url``).
        explicit_namespace: The user chose ``namespace``: write there even if it is used.

    Returns:
        The process exit code (0).
    """
    console = console or Console()
    if config is None:
        config = MemoryConfig(database_url=database_url) if database_url else MemoryConfig()
    namespace = _free_namespace(config, namespace, explicit_namespace)
    tasks = TaskWorld(_SEED).tasks(DEMO_TASKS)
    agent = ScriptedAgent(_SEED)
    console.print(
        f"[bold]memory-core demo[/bold] — database: {escape(config.resolved_database_url)}, "
        f"namespace {escape(namespace)!r}\n"
        f"A scripted agent works through {DEMO_TASKS} tasks (12 kinds over 4 domains, each "
        f"solved by a fixed tool sequence it must find by trial and error within "
        f"{agent.budget} steps), first without memory, then with memory-core."
    )
    without = run_stream(tasks, NoMemory(), agent.run, block=_BLOCK)
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        with_memory = run_stream(tasks, MemoryCoreAdvisor(memory), agent.run, block=_BLOCK)
        console.print(_curve(without, with_memory))
        console.print(
            f"Second half: success {without.success:.0%} → {with_memory.success:.0%}, "
            f"steps per task {without.mean_steps:.1f} → {with_memory.mean_steps:.1f}. "
            f"Plans suggested: {with_memory.suggested}, {with_memory.precision:.0%} of them "
            f"right; no plan for {with_memory.abstention:.0%} of the tasks of a kind never "
            f"solved before (a wrong lesson is worse than none)."
        )
        memory.wait_for_learning()
        patterns = [
            *memory.list_patterns(kind="tool_sequence", limit=5),
            *memory.list_patterns(kind="context_pattern", limit=2),
        ]
        ptable = Table(title="Some learned patterns")
        ptable.add_column("kind")
        ptable.add_column("pattern")
        for pattern in patterns:
            ptable.add_row(pattern.kind, Text(format_pattern(pattern)))
        console.print(ptable)

        # a new task of the most frequent kind, about a name never seen before
        counts = Counter(t.family.name for t in tasks)
        last = max(tasks, key=lambda t: (counts[t.family.name], t.index))
        query = last.family.phrasings[0].format(x="ledger")
        console.print(f"\n[bold]New task:[/bold] {escape(query)}")
        plan = memory.recommend_plan(query, last.context)
        console.print("  " + escape(format_plan(plan) if plan else "no relevant lesson"))
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
                f"  {prefix} episodes list --outcome failure\n"
                f"  {prefix} search '{query}' --domain {last.context.domain}\n"
                f"  {prefix} report memory-report.html"
            )
        )
    return 0
