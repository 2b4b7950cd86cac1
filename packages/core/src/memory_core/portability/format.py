"""The export file format: versioned JSON Lines.

The first line is an `ExportHeader` (format name, version, namespace, record counts and
the export time, last); every other line is one record, told apart by ``type``:

* ``{"type": "episode", "learned": true, "episode": {...}}``: an episode with its steps,
  reward, reflection and the ids of the patterns it fed; ``learned`` says whether pattern
  extraction already ran for it (if not, the memory learns from it when next opened);
* ``{"type": "pattern", "pattern": {...}, "episode_ids": [...]}``: a pattern with its
  effectiveness and the episodes linked to it as evidence;
* ``{"type": "heuristic", "heuristic": {...}}``: a learned heuristic.

Records are written in a stable order (episodes oldest first, then patterns and heuristics
by id), so exporting the same data twice gives the same bytes apart from ``exported_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from memory_core.models import Episode, Heuristic, Pattern

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "EpisodeRecord",
    "ExportCounts",
    "ExportHeader",
    "HeuristicRecord",
    "PatternRecord",
    "Record",
    "RecordAdapter",
]

FORMAT_NAME = "memory-core-export"
"""The ``format`` value of every export header."""

FORMAT_VERSION = 1
"""The format version this memory-core writes (and the newest it reads)."""


class ExportCounts(BaseModel):
    """How many records of each type follow the header."""

    model_config = ConfigDict(extra="forbid")

    episodes: int = Field(default=0, ge=0)
    patterns: int = Field(default=0, ge=0)
    heuristics: int = Field(default=0, ge=0)

    @property
    def total(self) -> int:
        """All records."""
        return self.episodes + self.patterns + self.heuristics


class ExportHeader(BaseModel):
    """The first line of an export file."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["memory-core-export"] = "memory-core-export"
    version: int = Field(default=FORMAT_VERSION, ge=1)
    namespace: str
    counts: ExportCounts = Field(default_factory=ExportCounts)
    exported_at: datetime


class EpisodeRecord(BaseModel):
    """An episode (with steps) and whether pattern extraction already ran for it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["episode"] = "episode"
    learned: bool = False
    episode: Episode

    @model_validator(mode="after")
    def _numbered_steps(self) -> Self:
        last = 0
        for index, step in enumerate(self.episode.steps):
            if step.step_number is None:
                raise ValueError(f"episode.steps.{index}.step_number is required in an export")
            if step.step_number <= last:
                raise ValueError(
                    f"episode.steps.{index}.step_number {step.step_number} is not above the "
                    f"previous step's ({last})"
                )
            last = step.step_number
        return self


class PatternRecord(BaseModel):
    """A pattern (with its effectiveness) and its evidence episode links."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["pattern"] = "pattern"
    pattern: Pattern
    episode_ids: list[UUID] = Field(default_factory=list)


class HeuristicRecord(BaseModel):
    """A learned heuristic."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["heuristic"] = "heuristic"
    heuristic: Heuristic


Record = Annotated[EpisodeRecord | PatternRecord | HeuristicRecord, Field(discriminator="type")]
"""Any record line; ``type`` tells which."""

RecordAdapter: TypeAdapter[EpisodeRecord | PatternRecord | HeuristicRecord] = TypeAdapter(Record)
"""Validates one record line (``RecordAdapter.validate_json(line)``)."""
