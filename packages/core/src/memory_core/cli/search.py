"""``memory-core search "task"``: what the memory would hand an agent, and why."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from memory_core.cli._common import console, open_memory, print_json
from memory_core.cli.episodes import outcome_text
from memory_core.errors import InvalidInputError
from memory_core.formatting import episode_metadata, format_pattern, pattern_metadata
from memory_core.models import TaskType, normalize_tags

__all__ = ["search_command"]


def _breakdown(parts: dict[str, float]) -> str:
    ordered = sorted(parts.items(), key=lambda kv: -abs(kv[1]))
    return " · ".join(f"{name} {_signed(value)}" for name, value in ordered) or "-"


def _signed(value: float) -> str:
    return "0.00" if abs(value) < 0.005 else f"{value:.2f}"


def search_command(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="The new task, in words.")],
    domain: Annotated[str | None, typer.Option(help="Domain of the new task.")] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tags", "--tag", help="Tags of the new task (repeat, or comma-separate)."),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Programming language.")] = None,
    framework: Annotated[str | None, typer.Option(help="Framework.")] = None,
    task_type: Annotated[TaskType | None, typer.Option(help="Only this task type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Episodes to return.")] = 5,
    patterns: Annotated[int, typer.Option(min=0, max=1000, help="Patterns to return.")] = 5,
    include_below_floor: Annotated[
        bool, typer.Option(help="Also show weakly related episodes (flagged).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Rank past episodes and patterns for a new task, with score breakdowns.

    Shows what the memory would hand an agent starting this task, and why: each result's
    score is the sum of the weighted components listed under it.
    """
    if not task.strip():
        raise InvalidInputError(
            "the task is empty; describe the new task in words, e.g. "
            "memory-core search 'Fix the failing login test'"
        )
    try:
        tag_list = normalize_tags([t for raw in tags or [] for t in raw.split(",") if t.strip()])
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    context: dict[str, Any] = {"tags": tag_list}
    if domain:
        context["domain"] = domain
    if language:
        context["language"] = language
    if framework:
        context["framework"] = framework
    with open_memory(ctx) as memory:
        found = memory.search_episodes(
            task,
            context,
            limit,
            task_type=task_type,
            include_below_floor=include_below_floor,
        )
        ranked_patterns = (
            memory.search_patterns(context, patterns, task_description=task) if patterns else []
        )
    if as_json:
        print_json(
            {
                "episodes": [
                    {
                        **episode_metadata(r),
                        "relevance": r.relevance,
                        "below_floor": r.below_floor,
                        "task_description": r.episode.task_description,
                    }
                    for r in found
                ],
                "patterns": [
                    {**pattern_metadata(r), "text": format_pattern(r.pattern)}
                    for r in ranked_patterns
                ],
            }
        )
        return
    console.print(f"[bold]Episodes for:[/bold] {escape(task)}")
    for rank, result in enumerate(found, start=1):
        line = Text(f"{rank:>2}. ")
        line.append(f"{result.score:.3f}  ", style="bold")
        line.append_text(outcome_text(result.episode))
        line.append("  " + result.episode.task_description)
        if result.below_floor:
            line.append("  (below the relevance floor)", style="dim")
        console.print(line)
        console.print(f"    {result.episode.episode_id}", style="dim", highlight=False)
        console.print(f"    {_breakdown(result.breakdown)}", highlight=False)
    if not found:
        console.print(
            "  No related episode found (--include-below-floor shows weakly related ones)."
        )
    if patterns:
        console.print("\n[bold]Patterns[/bold]")
        for rank, item in enumerate(ranked_patterns, start=1):
            line = Text(f"{rank:>2}. ")
            line.append(f"{item.score:.3f}  ", style="bold")
            line.append(format_pattern(item.pattern))
            console.print(line)
            console.print(f"    {item.pattern.pattern_id}", style="dim", highlight=False)
            console.print(f"    {_breakdown(item.breakdown)}", highlight=False)
        if not ranked_patterns:
            console.print("  No pattern for this context yet.")
