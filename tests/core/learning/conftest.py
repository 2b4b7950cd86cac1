"""Fixtures of the learning tests: an episode builder and a blocking test extractor."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

import pytest

from memory_core import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    LearningConfig,
    Pattern,
    TaskContext,
    TaskOutcome,
    TaskType,
)
from memory_core.models import utcnow

StepSpec = tuple[str, str, bool | None]
"""(tool, action, succeeded) -- None: a step without result."""


def build_episode(
    steps: Sequence[StepSpec] = (),
    outcome: TaskOutcome | None = None,
    *,
    context: TaskContext | None = None,
    seconds: float = 0.0,
    task_type: TaskType = TaskType.DEBUGGING,
    description: str = "fix the login test",
    errors: Sequence[str] | None = None,
) -> Episode:
    """A completed episode with the given steps (errors cycle through ``errors``)."""
    start = utcnow()
    built: list[ExecutionStep] = []
    failures = 0
    for number, (tool, action, ok) in enumerate(steps, 1):
        if ok is None:
            result = None
        elif ok:
            result = ExecutionResult.success("ok")
        else:
            message = errors[failures % len(errors)] if errors else "RuntimeError: boom"
            failures += 1
            result = ExecutionResult.error(message)
        built.append(ExecutionStep(step_number=number, tool=tool, action=action, result=result))
    return Episode(
        task_description=description,
        task_type=task_type,
        context=context or TaskContext(language="python", domain="web-api", tags=["auth"]),
        start_time=start,
        end_time=start + timedelta(seconds=seconds),
        steps=built,
        outcome=outcome or TaskOutcome.success("done"),
    )


@pytest.fixture
def build() -> Callable[..., Episode]:
    """Build completed episodes from (tool, action, ok) triples."""
    return build_episode


class GateExtractor:
    """A test extractor that holds the first episode it sees until released, or raises for
    episodes whose description contains ``fail_on``."""

    name = "gate"

    def __init__(self, *, fail_on: str | None = None, hold: bool = False) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.fail_on = fail_on
        if not hold:
            self.release.set()

    def extract(self, episode: Episode, config: LearningConfig) -> list[Pattern]:
        first = not self.entered.is_set()
        self.entered.set()
        if self.fail_on is not None and self.fail_on in episode.task_description:
            raise RuntimeError(f"extractor failure for {episode.task_description!r}")
        if first:
            assert self.release.wait(30), "test never released the extractor"
        return []


@pytest.fixture
def gate_factory() -> Iterator[Callable[..., GateExtractor]]:
    """Make `GateExtractor` instances (released at teardown so no worker stays blocked)."""
    made: list[GateExtractor] = []

    def make(**kwargs: object) -> GateExtractor:
        gate = GateExtractor(**kwargs)  # type: ignore[arg-type]
        made.append(gate)
        return gate

    yield make
    for gate in made:
        gate.release.set()
