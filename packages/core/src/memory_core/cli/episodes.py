"""``memory-core episodes list|show``: browse recorded episodes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from memory_core.cli._common import (
    console,
    open_memory,
    parse_id,
    parse_when,
    print_json,
)
from memory_core.errors import PatternNotFoundError
from memory_core.formatting import format_pattern
from memory_core.models import Episode, OutcomeKind, Pattern, TaskType

__all__ = [
    "app",
    "episode_row",
    "episode_table",
    "list_command",
    "outcome_text",
    "show_command",
    "with_id",
]

app = typer.Typer(help="Browse recorded episodes.", no_args_is_help=True)


class Outcome(StrEnum):
    """Outcome kinds accepted by ``--outcome``."""

    SUCCESS = "success"
    PARTIAL_SUCCESS = "partial_success"
    FAILURE = "failure"
    ABSTAINED = "abstained"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def outcome_text(episode: Episode) -> Text:
    """The episode's outcome kind, coloured (``in flight`` while it runs)."""
    if episode.outcome is None:
        return Text("in flight", style="yellow")
    style = {"success": "green", "failure": "red", "partial_success": "yellow"}.get(
        episode.outcome.kind, "cyan"
    )
    return Text(episode.outcome.kind, style=style)


def with_id(text: str, item_id: object) -> Text:
    """A cell holding ``text`` with the (dimmed) id to pass to ``show`` below it."""
    cell = Text(text)
    cell.append(f"\n{item_id}", style="dim")
    return cell


def episode_table(title: str) -> Table:
    """An empty episode listing whose rows come from `episode_row`."""
    table = Table(title=title)
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("type")
    table.add_column("domain")
    table.add_column("outcome")
    table.add_column("reward", justify="right")
    table.add_column("steps", justify="right")
    table.add_column("task and id", min_width=36)
    return table


def episode_row(episode: Episode) -> list[Text | str]:
    """The cells of one episode in a listing made by `episode_table`."""
    reward = f"{episode.reward.total:.2f}" if episode.reward else "-"
    return [
        episode.start_time.strftime("%Y-%m-%d %H:%M"),
        episode.task_type.value,
        episode.context.domain,
        outcome_text(episode),
        reward,
        str(len(episode.steps)),
        with_id(_clip(episode.task_description, 90), episode.episode_id),
    ]


@app.command("list")
def list_command(
    ctx: typer.Context,
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    task_type: Annotated[TaskType | None, typer.Option(help="Only this task type.")] = None,
    outcome: Annotated[Outcome | None, typer.Option(help="Only this outcome kind.")] = None,
    completed: Annotated[
        bool | None,
        typer.Option("--completed/--in-flight", help="Only completed / only in-flight episodes."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Started at or after (ISO date, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Started before (ISO date, UTC).")] = None,
    min_reward: Annotated[float | None, typer.Option(help="Reward at least this.")] = None,
    limit: Annotated[int, typer.Option(min=0, max=10_000, help="At most this many.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (paging).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List episodes, newest first, filtered by domain, type, outcome, dates or reward."""
    since_at = parse_when(since, "--since")
    until_at = parse_when(until, "--until")
    kind: OutcomeKind | None = None if outcome is None else outcome.value
    with open_memory(ctx) as memory:
        found = memory.list_episodes(
            domain=domain,
            task_type=task_type,
            outcome_kind=kind,
            completed=completed,
            since=since_at,
            until=until_at,
            min_reward=min_reward,
            limit=limit,
            offset=offset,
        )
    if as_json:
        print_json([e.model_dump(mode="json") for e in found])
        return
    table = episode_table(f"Episodes ({len(found)} shown, newest first)")
    for episode in found:
        table.add_row(*episode_row(episode))
    console.print(table)
    if not found:
        console.print("No episode matches; loosen the filters or check --namespace.")


def _steps_table(episode: Episode) -> Table:
    table = Table(title=f"Steps ({len(episode.steps)})", expand=False)
    table.add_column("#", justify="right")
    table.add_column("tool")
    table.add_column("action")
    table.add_column("result")
    table.add_column("latency", justify="right")
    for step in episode.steps:
        if step.result is None:
            result = Text("no result", style="dim")
        elif step.is_success:
            result = Text("ok " + _clip(step.result.output or "", 60), style="green")
        else:
            result = Text(_clip(step.error_message or "error", 70), style="red")
        table.add_row(
            str(step.step_number),
            step.tool,
            _clip(step.action, 60),
            result,
            f"{step.latency_ms:,.0f} ms",
        )
    return table


def _reward_table(episode: Episode) -> Table | None:
    reward = episode.reward
    if reward is None:
        return None
    table = Table(title=f"Reward {reward.total:.3f}", show_header=False)
    table.add_column("component", style="bold")
    table.add_column("value", justify="right")
    for name in (
        "base",
        "abstention_score",
        "efficiency",
        "complexity_bonus",
        "quality_multiplier",
        "learning_bonus",
        "effective_reward",
    ):
        table.add_row(name.replace("_", " "), f"{getattr(reward, name):.3f}")
    return table


def _reflection_text(episode: Episode) -> Text | None:
    reflection = episode.reflection
    if reflection is None or reflection.item_count == 0:
        return None
    text = Text()
    for title, items, style in (
        ("What went well", reflection.successes, "green"),
        ("To improve", reflection.improvements, "yellow"),
        ("Insights", reflection.insights, "cyan"),
    ):
        if items:
            text.append(f"{title}\n", style=f"bold {style}")
            for item in items:
                text.append(f"  • {item}\n")
    text.rstrip()
    return text


@app.command("show")
def show_command(
    ctx: typer.Context,
    episode_id: Annotated[str, typer.Argument(metavar="ID", help="Episode id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show one episode: context, steps, outcome, reward breakdown, reflection, patterns."""
    key = parse_id(episode_id, "episode")
    with open_memory(ctx) as memory:
        episode = memory.get_episode(key)
        patterns: list[Pattern] = []
        for pattern_id in episode.pattern_ids:
            try:
                patterns.append(memory.get_pattern(pattern_id))
            except PatternNotFoundError:
                continue  # deleted since; the id is still listed in the JSON
    if as_json:
        print_json(episode.model_dump(mode="json"))
        return
    ctx_bits = [f"domain {episode.context.domain}", f"complexity {episode.context.complexity}"]
    if episode.context.language:
        ctx_bits.append(f"language {episode.context.language}")
    if episode.context.framework:
        ctx_bits.append(f"framework {episode.context.framework}")
    if episode.context.tags:
        ctx_bits.append("tags " + ", ".join(episode.context.tags))
    head = Text()
    head.append(episode.task_description + "\n", style="bold")
    head.append(f"{episode.task_type.value} · " + " · ".join(ctx_bits) + "\n")
    head.append(f"started {episode.start_time:%Y-%m-%d %H:%M:%S} UTC")
    if episode.duration_seconds is not None:
        head.append(f" · took {episode.duration_seconds:,.1f} s")
    head.append("\noutcome: ")
    head.append_text(outcome_text(episode))
    if episode.outcome is not None:
        head.append(" — " + episode.outcome.summary.split(": ", 1)[-1])
    if episode.token_usage is not None:
        head.append(f"\ntokens: {episode.token_usage.total_tokens:,}")
    console.print(Panel(head, title=f"Episode {episode.episode_id}", expand=False))
    console.print(_steps_table(episode))
    reward = _reward_table(episode)
    if reward is not None:
        console.print(reward)
    reflection = _reflection_text(episode)
    if reflection is not None:
        console.print(Panel(reflection, title="Reflection", expand=False))
    if patterns:
        table = Table(title=f"Patterns learned from it ({len(patterns)})")
        table.add_column("kind")
        table.add_column("pattern and id")
        for pattern in patterns:
            table.add_row(pattern.kind, with_id(format_pattern(pattern), pattern.pattern_id))
        console.print(table)
    elif episode.is_complete:
        console.print("No pattern was learned from this episode (yet).")
