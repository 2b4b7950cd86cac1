"""Write a namespace's episodes, patterns and heuristics to a JSON Lines export file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from memory_core.errors import InvalidInputError
from memory_core.memory import SyncSelfLearningMemory
from memory_core.portability._gc import paused_gc
from memory_core.portability.format import (
    EpisodeRecord,
    ExportCounts,
    ExportHeader,
    HeuristicRecord,
    PatternRecord,
)

__all__ = ["ExportSummary", "export_jsonl", "write_export"]

ProgressCallback = Callable[[int], None]
"""Called with the number of records written so far."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote."""

    path: Path | None
    counts: ExportCounts
    seconds: float

    @property
    def records_per_second(self) -> float:
        """Records written per second."""
        return self.counts.total / self.seconds if self.seconds > 0 else float("inf")


def write_export(
    memory: SyncSelfLearningMemory,
    out: TextIO,
    *,
    on_start: Callable[[ExportCounts], None] | None = None,
    on_progress: ProgressCallback | None = None,
    batch_size: int = 1000,
    exported_at: datetime | None = None,
) -> ExportCounts:
    """Write the memory's namespace to ``out`` as an export (header line, then records).

    Queued learning work is finished first, so the snapshot is consistent.

    Args:
        memory: The memory to export (its namespace only).
        out: A text stream opened for writing.
        on_start: Called once with the record counts, before any record is written.
        on_progress: Called with the number of records written so far, once per batch.
        batch_size: Episodes read from the database per query.
        exported_at: The header's timestamp (default: now).

    Returns:
        The number of records written, per type.
    """
    memory.wait_for_learning()  # a consistent snapshot: no extraction half-way
    memory.flush()
    store = memory.engine.store
    namespace = memory.namespace
    patterns = sorted(store.list_patterns(namespace), key=lambda p: str(p.pattern_id))
    heuristics = sorted(store.list_heuristics(namespace), key=lambda h: str(h.heuristic_id))
    counts = ExportCounts(
        episodes=store.count_episodes(namespace),
        patterns=len(patterns),
        heuristics=len(heuristics),
    )
    header = ExportHeader(
        namespace=namespace, counts=counts, exported_at=exported_at or datetime.now(UTC)
    )
    if on_start is not None:
        on_start(counts)
    out.write(header.model_dump_json() + "\n")

    written = episodes = 0
    cursor = None
    while True:
        page = store.export_episodes(namespace, after=cursor, limit=batch_size)
        if not page:
            break
        out.write(
            "".join(
                EpisodeRecord(learned=learned, episode=episode).model_dump_json() + "\n"
                for episode, learned in page
            )
        )
        last = page[-1][0]
        cursor = (last.start_time, last.episode_id)
        episodes += len(page)
        written += len(page)
        if on_progress is not None:
            on_progress(written)

    links: dict[str, list[str]] = {}
    for pattern_id, episode_id in store.pattern_links(namespace):
        links.setdefault(str(pattern_id), []).append(str(episode_id))
    for pattern in patterns:
        record = PatternRecord.model_validate(
            {"pattern": pattern, "episode_ids": sorted(links.get(str(pattern.pattern_id), []))}
        )
        out.write(record.model_dump_json() + "\n")
    for heuristic in heuristics:
        out.write(HeuristicRecord(heuristic=heuristic).model_dump_json() + "\n")
    written += len(patterns) + len(heuristics)
    if on_progress is not None:
        on_progress(written)
    return ExportCounts(episodes=episodes, patterns=len(patterns), heuristics=len(heuristics))


def export_jsonl(
    memory: SyncSelfLearningMemory,
    path: str | os.PathLike[str],
    *,
    on_start: Callable[[ExportCounts], None] | None = None,
    on_progress: ProgressCallback | None = None,
    batch_size: int = 1000,
) -> ExportSummary:
    """Export the memory's namespace to a JSON Lines file (written atomically).

    The file is written next to its destination and renamed into place when complete, so a
    failed export never leaves a truncated file behind.

    Raises:
        InvalidInputError: If the file cannot be written (the message says why).
        StorageError: If the database fails.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    started = time.perf_counter()
    try:
        with paused_gc(), partial.open("w", encoding="utf-8", newline="\n") as out:
            counts = write_export(
                memory,
                out,
                on_start=on_start,
                on_progress=on_progress,
                batch_size=batch_size,
            )
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInputError(
            f"cannot write export file {str(target)!r}: {exc.strerror}"
        ) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportSummary(path=target, counts=counts, seconds=time.perf_counter() - started)
