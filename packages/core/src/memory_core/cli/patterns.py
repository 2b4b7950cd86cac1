"""``memory-core patterns list|show``: browse learned patterns."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from memory_core.cli._common import console, open_memory, parse_id, print_json
from memory_core.cli.episodes import episode_row, episode_table, with_id
from memory_core.formatting import format_pattern
from memory_core.models import Pattern, PatternKind

__all__ = ["app", "list_command", "show_command"]

app = typer.Typer(help="Browse learned patterns.", no_args_is_help=True)


class Kind(StrEnum):
    """Pattern kinds accepted by ``--kind``."""

    TOOL_SEQUENCE = "tool_sequence"
    DECISION_POINT = "decision_point"
    ERROR_RECOVERY = "error_recovery"
    CONTEXT_PATTERN = "context_pattern"


def _pattern_json(pattern: Pattern) -> dict[str, object]:
    data: dict[str, object] = pattern.model_dump(mode="json")
    data["success_rate"] = pattern.success_rate
    data["sample_size"] = pattern.sample_size
    data["effectiveness_score"] = pattern.effectiveness.effectiveness_score
    return data


@app.command("list")
def list_command(
    ctx: typer.Context,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List patterns, most recently updated first."""
    pattern_kind: PatternKind | None = None if kind is None else kind.value
    with open_memory(ctx) as memory:
        found = memory.list_patterns(kind=pattern_kind, domain=domain, limit=limit)
    if as_json:
        print_json([_pattern_json(p) for p in found])
        return
    table = Table(title=f"Patterns ({len(found)} shown, most recently updated first)")
    table.add_column("kind")
    table.add_column("domain")
    table.add_column("support", justify="right")
    table.add_column("success", justify="right")
    table.add_column("applied", justify="right")
    table.add_column("pattern and id", min_width=36)
    for pattern in found:
        eff = pattern.effectiveness
        table.add_row(
            pattern.kind,
            pattern.domain or "-",
            str(pattern.sample_size),
            f"{pattern.success_rate:.0%}",
            f"{eff.success_when_applied}/{eff.times_applied}",
            with_id(format_pattern(pattern), pattern.pattern_id),
        )
    console.print(table)
    if not found:
        console.print("No pattern yet: patterns are learned as episodes complete.")


@app.command("show")
def show_command(
    ctx: typer.Context,
    pattern_id: Annotated[str, typer.Argument(metavar="ID", help="Pattern id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show one pattern: what it says, its effectiveness and its evidence episodes."""
    key = parse_id(pattern_id, "pattern")
    with open_memory(ctx) as memory:
        pattern = memory.get_pattern(key)
        linked = memory.engine.store.pattern_episode_ids(memory.namespace, key)
        evidence_ids = list(dict.fromkeys([*pattern.evidence, *linked]))
        evidence = memory.engine.store.get_episodes(memory.namespace, evidence_ids)
    evidence.sort(key=lambda e: e.start_time, reverse=True)
    if as_json:
        data = _pattern_json(pattern)
        data["evidence_episode_ids"] = [str(i) for i in evidence_ids]
        print_json(data)
        return
    eff = pattern.effectiveness
    text = Text()
    text.append(format_pattern(pattern) + "\n", style="bold")
    text.append(f"kind {pattern.kind} · domain {pattern.domain or '-'}")
    text.append(f" · support {pattern.sample_size} · success rate {pattern.success_rate:.0%}")
    text.append(f" · confidence {pattern.confidence:.2f}\n")
    text.append(
        f"effectiveness {eff.effectiveness_score:.2f}: retrieved {eff.times_retrieved} times, "
        f"applied {eff.times_applied} ({eff.success_when_applied} helped, "
        f"{eff.failure_when_applied} did not), avg reward delta {eff.avg_reward_delta:+.3f}\n"
    )
    text.append(
        f"created {pattern.created_at:%Y-%m-%d %H:%M} · "
        f"updated {pattern.updated_at:%Y-%m-%d %H:%M} UTC"
    )
    console.print(Panel(text, title=f"Pattern {pattern.pattern_id}", expand=False))
    table = episode_table(
        f"Evidence episodes ({len(evidence)} of {len(evidence_ids)} still stored)"
    )
    for episode in evidence:
        table.add_row(*episode_row(episode))
    console.print(table)
