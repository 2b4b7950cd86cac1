"""Read a JSON Lines export file into a memory: validated, batched and idempotent."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from memory_core.errors import InvalidInputError
from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import Episode, Heuristic, Pattern
from memory_core.portability._gc import paused_gc
from memory_core.portability.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    EpisodeRecord,
    ExportCounts,
    ExportHeader,
    HeuristicRecord,
    PatternRecord,
    RecordAdapter,
)

__all__ = ["ImportFileError", "ImportReport", "LineError", "import_jsonl", "read_header"]

_MAX_ERRORS_IN_MESSAGE = 3
_RECORD_TYPES = ("episode", "pattern", "heuristic")


@dataclass(frozen=True, slots=True)
class LineError:
    """A line of an import file that failed validation."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportFileError(InvalidInputError):
    """Raised when an import file cannot be used; nothing is imported.

    The file is unreadable, not an export, written by a newer format version, or (with
    ``strict=True``) holds invalid records.

    Attributes:
        errors: The invalid lines, when the file itself is readable.
    """

    def __init__(self, message: str, errors: Sequence[LineError] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


@dataclass(slots=True)
class ImportReport:
    """What an import did.

    Attributes:
        path: The file read.
        header: Its header line.
        imported: Records inserted, per type.
        skipped: Valid records left alone because their id was already stored.
        errors: Invalid lines (not imported), with their line numbers.
        seconds: Wall time of the import.
    """

    path: Path
    header: ExportHeader
    imported: ExportCounts = field(default_factory=ExportCounts)
    skipped: ExportCounts = field(default_factory=ExportCounts)
    errors: list[LineError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def episodes_per_second(self) -> float:
        """Episodes read (imported or skipped) per second."""
        done = self.imported.episodes + self.skipped.episodes
        return done / self.seconds if self.seconds > 0 else float("inf")


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:_MAX_ERRORS_IN_MESSAGE]:
        loc = error["loc"]
        if len(loc) > 1 and loc[0] in _RECORD_TYPES:
            loc = loc[1:]  # the union tag pydantic puts first
        where = ".".join(str(p) for p in loc)
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    more = len(exc.errors()) - _MAX_ERRORS_IN_MESSAGE
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _open(path: Path) -> Iterator[str]:
    try:
        with path.open("r", encoding="utf-8", newline="\n") as lines:
            yield from lines
    except OSError as exc:
        raise ImportFileError(f"cannot read import file {str(path)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{str(path)!r} is not UTF-8 text (byte {exc.start}); is it a memory-core export?"
        ) from exc


def read_header(path: str | os.PathLike[str]) -> ExportHeader:
    """Read and check the header line of an export file.

    Raises:
        ImportFileError: If the file is unreadable, empty, not an export, or written by a
            newer format version than this memory-core reads.
    """
    source = Path(path)
    first = next(iter(_open(source)), None)
    if first is None or not first.strip():
        raise ImportFileError(
            f"{str(source)!r} is empty or starts with a blank line; expected a memory-core "
            "export whose first line is its header"
        )
    try:
        data: Any = json.loads(first)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ImportFileError(
            f"{str(source)!r} is not a memory-core export: line 1 must be a header like "
            f'{{"format": "{FORMAT_NAME}", "version": {FORMAT_VERSION}, ...}} '
            "(write one with `memory-core export`)"
        )
    version = data.get("version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ImportFileError(
            f"{str(source)!r} uses export format version {version}, newer than this "
            f"memory-core reads ({FORMAT_VERSION}); upgrade memory-core to import it"
        )
    try:
        return ExportHeader.model_validate(data)
    except ValidationError as exc:
        raise ImportFileError(f"{str(source)!r} line 1: bad header: {_describe(exc)}") from exc


def _records(
    path: Path,
) -> Iterator[tuple[int, EpisodeRecord | PatternRecord | HeuristicRecord | LineError]]:
    """Yield (line number, record or error) for every non-blank line after the header."""
    for number, line in enumerate(_open(path), start=1):
        if number == 1 or not line.strip():
            continue
        try:
            yield number, RecordAdapter.validate_json(line)
        except ValidationError as exc:
            yield number, LineError(number, _describe(exc))


class _Batch:
    """Records waiting to be written in one transaction."""

    def __init__(self) -> None:
        self.episodes: list[tuple[Episode, bool]] = []
        self.patterns: list[tuple[Pattern, Sequence[UUID]]] = []
        self.heuristics: list[Heuristic] = []

    def add(self, record: EpisodeRecord | PatternRecord | HeuristicRecord) -> None:
        if isinstance(record, EpisodeRecord):
            self.episodes.append((record.episode, record.learned))
        elif isinstance(record, PatternRecord):
            self.patterns.append((record.pattern, record.episode_ids))
        else:
            self.heuristics.append(record.heuristic)

    def __len__(self) -> int:
        return len(self.episodes) + len(self.patterns) + len(self.heuristics)


def import_jsonl(
    memory: SyncSelfLearningMemory,
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    batch_size: int = 1000,
    on_start: Callable[[ExportHeader], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import an export file into the memory's namespace.

    Every record is validated. Invalid lines are reported in ``ImportReport.errors`` (with
    their line numbers) while the valid ones are imported; with ``strict=True`` the whole
    file is checked first and nothing is written if any line is invalid. Records whose id is
    already stored are skipped, so importing the same file twice adds nothing.

    Args:
        memory: Where to import (its namespace; the header's namespace is informational).
        path: The export file.
        strict: All or nothing: raise `ImportFileError` before writing if a line is bad.
        batch_size: Records written per transaction.
        on_start: Called with the header once it has been checked.
        on_progress: Called with the number of record lines processed so far.

    Raises:
        ImportFileError: Unreadable file, not an export, newer format version, or (strict)
            invalid records.
        StorageError: If the database fails (batches already written stay written).
    """
    source = Path(path)
    started = time.perf_counter()
    header = read_header(source)
    if strict:
        with paused_gc():
            errors = [item for _, item in _records(source) if isinstance(item, LineError)]
        if errors:
            shown = "; ".join(str(e) for e in errors[:_MAX_ERRORS_IN_MESSAGE])
            more = f" (and {len(errors) - _MAX_ERRORS_IN_MESSAGE} more)" if len(errors) > 3 else ""
            raise ImportFileError(
                f"{len(errors)} invalid line(s) in {str(source)!r}, nothing was imported: "
                f"{shown}{more}",
                errors,
            )
    if on_start is not None:
        on_start(header)
    memory.flush()
    store = memory.engine.store
    report = ImportReport(path=source, header=header)
    imported = {"episodes": 0, "patterns": 0, "heuristics": 0}
    offered = {"episodes": 0, "patterns": 0, "heuristics": 0}
    batch = _Batch()
    processed = 0

    def write() -> None:
        nonlocal batch
        added = store.import_records(
            memory.namespace, batch.episodes, batch.patterns, batch.heuristics
        )
        sizes = (len(batch.episodes), len(batch.patterns), len(batch.heuristics))
        for key, count, given in zip(
            ("episodes", "patterns", "heuristics"), added, sizes, strict=True
        ):
            imported[key] += count
            offered[key] += given
        batch = _Batch()
        if on_progress is not None:
            on_progress(processed)

    with paused_gc():
        for _, item in _records(source):
            processed += 1
            if isinstance(item, LineError):
                report.errors.append(item)
            else:
                batch.add(item)
                if len(batch) >= batch_size:
                    write()
        write()
    report.imported = ExportCounts(**imported)
    report.skipped = ExportCounts(**{k: offered[k] - imported[k] for k in offered})
    report.seconds = time.perf_counter() - started
    return report
