"""Learning what is pending in the database: the report and the ``--follow`` loop.

`LearningService.learn_pending` claims batches of completed, unlearned episodes, learns them
and marks them learned, one transaction per batch, until none is left. Any number of
processes may run it against one database: PostgreSQL hands each batch to one learner
(``FOR UPDATE SKIP LOCKED``), SQLite serialises learners on its write lock, and an episode is
never counted twice in a pattern or heuristic either way. `follow` keeps doing it, polling,
until asked to stop (``memory-core learn --follow``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from memory_core.errors import StorageError

__all__ = ["LearnReport", "follow"]

logger = logging.getLogger("memory_core.learning")


class LearnReport(BaseModel):
    """What a run of `learn_pending` (or of a follower) did in one namespace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str
    episodes_learned: int = Field(default=0, ge=0)
    """Episodes learned and marked learned by this run."""
    episodes_failed: int = Field(default=0, ge=0)
    """Episodes whose learning failed (logged; they stay unlearned)."""
    batches: int = Field(default=0, ge=0)
    """Transactions that learned at least one episode."""
    seconds: float = Field(default=0.0, ge=0)
    """Wall time of the run."""

    @property
    def episodes_per_second(self) -> float:
        """Learned episodes per second of the run (0 when nothing was learned)."""
        return self.episodes_learned / self.seconds if self.seconds > 0 else 0.0

    def plus(self, other: LearnReport) -> LearnReport:
        """The totals of two runs of the same namespace."""
        return LearnReport(
            namespace=self.namespace,
            episodes_learned=self.episodes_learned + other.episodes_learned,
            episodes_failed=self.episodes_failed + other.episodes_failed,
            batches=self.batches + other.batches,
            seconds=self.seconds + other.seconds,
        )


def follow(
    learn: Callable[[], LearnReport],
    *,
    namespace: str,
    stop: threading.Event,
    interval: float = 1.0,
    on_report: Callable[[LearnReport], None] | None = None,
) -> LearnReport:
    """Call ``learn`` until ``stop`` is set, waiting ``interval`` seconds when idle.

    ``learn`` should return once nothing is pending (or ``stop`` is set); work it started
    is finished before this returns. A database error is logged and retried after
    ``interval``, so a follower outlives a database restart.

    Returns:
        The totals over every call (``seconds`` is the time spent learning).
    """
    total = LearnReport(namespace=namespace)
    while not stop.is_set():
        try:
            report = learn()
        except StorageError as exc:
            logger.warning("learning failed (%s); retrying in %g s", exc, interval)
            stop.wait(interval)
            continue
        total = total.plus(report)
        if on_report is not None and report.episodes_learned + report.episodes_failed:
            on_report(report)
        if report.episodes_learned == 0:
            stop.wait(interval)
    return total
