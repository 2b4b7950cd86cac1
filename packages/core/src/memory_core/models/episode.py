"""One run of an agent: its steps, outcome and what was learned from it."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from memory_core.models.context import TaskContext, TaskType
from memory_core.models.scores import Reflection, RewardScore

__all__ = [
    "Episode",
    "ExecutionResult",
    "ExecutionStep",
    "OutcomeKind",
    "ResultKind",
    "TaskOutcome",
    "TokenUsage",
    "utcnow",
]

ResultKind = Literal["success", "error", "timeout"]
OutcomeKind = Literal["success", "partial_success", "failure", "abstained"]


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


_id_source = random.Random()  # seeded from the system's random source
_id_bits = _id_source.getrandbits
os.register_at_fork(after_in_child=_id_source.seed)  # a forked child draws its own ids


def new_id() -> UUID:
    """A random version-4 UUID, drawn without a system call.

    `uuid.uuid4` reads the operating system's random source, which releases the GIL: the
    thread starting an episode then waits for background threads (learning, flushing) to
    hand the interpreter back, for up to the switch interval (5 ms). Ids must be unique,
    not secret: this generator is seeded from the system source at import and again in a
    forked child, and 122 random bits do not collide in practice.
    """
    return UUID(int=_id_bits(128), version=4)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ExecutionResult(BaseModel):
    """What one step produced: an output, an error, or a timeout.

    Build one with :meth:`success`, :meth:`error` or :meth:`timeout`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ResultKind
    output: str | None = None
    message: str | None = None

    @classmethod
    def success(cls, output: str = "") -> ExecutionResult:
        """A step that worked, with its (textual) output."""
        return cls(kind="success", output=output)

    @classmethod
    def error(cls, message: str) -> ExecutionResult:
        """A step that failed with an error message."""
        return cls(kind="error", message=message)

    @classmethod
    def timeout(cls) -> ExecutionResult:
        """A step that did not finish in time."""
        return cls(kind="timeout")

    @property
    def is_success(self) -> bool:
        """True for a successful result."""
        return self.kind == "success"


class ExecutionStep(BaseModel):
    """One tool call (or other action) inside an episode.

    ``step_number`` is assigned by the memory when omitted; explicit numbers must be >= 1
    and increase within an episode. A step without a result counts as *not* successful.
    """

    model_config = ConfigDict(extra="forbid")

    step_number: int | None = Field(default=None, ge=1)
    timestamp: datetime = Field(default_factory=utcnow)
    tool: str = Field(min_length=1, max_length=500)
    action: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    result: ExecutionResult | None = None
    latency_ms: float = Field(default=0.0, ge=0)
    tokens_used: int | None = Field(default=None, ge=0)
    metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware(value)

    @field_validator("tool", "action")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def is_success(self) -> bool:
        """True only when the step has a successful result."""
        return self.result is not None and self.result.kind == "success"

    @property
    def error_message(self) -> str | None:
        """The error text of a failed step (``"timeout"`` for timeouts), else None."""
        if self.result is None or self.result.kind == "success":
            return None
        if self.result.kind == "timeout":
            return "timeout"
        return self.result.message or "unknown error"


class TaskOutcome(BaseModel):
    """How an episode ended.

    Build one with :meth:`success`, :meth:`partial_success`, :meth:`failure` or
    :meth:`abstained`; ``kind`` tells them apart.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: OutcomeKind
    verdict: str | None = None
    artifacts: list[str] = Field(default_factory=list)
    completed: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    reason: str | None = None
    error_details: str | None = None
    stopped_at_step: int | None = Field(default=None, ge=0)
    infeasibility_signals: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Self:
        required = {
            "success": ("verdict",),
            "partial_success": ("verdict",),
            "failure": ("reason",),
            "abstained": ("reason", "stopped_at_step"),
        }[self.kind]
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"a {self.kind!r} outcome needs {', '.join(missing)}; "
                f"use TaskOutcome.{self.kind}(...) to build it"
            )
        return self

    @classmethod
    def success(cls, verdict: str, artifacts: list[str] | None = None) -> TaskOutcome:
        """The task was done; ``artifacts`` names what it produced (files, reports...)."""
        return cls(kind="success", verdict=verdict, artifacts=list(artifacts or []))

    @classmethod
    def partial_success(cls, verdict: str, completed: list[str], failed: list[str]) -> TaskOutcome:
        """Some sub-tasks were done (``completed``) and some were not (``failed``)."""
        return cls(
            kind="partial_success", verdict=verdict, completed=list(completed), failed=list(failed)
        )

    @classmethod
    def failure(cls, reason: str, error_details: str | None = None) -> TaskOutcome:
        """The task was not done."""
        return cls(kind="failure", reason=reason, error_details=error_details)

    @classmethod
    def abstained(
        cls, reason: str, stopped_at_step: int, infeasibility_signals: list[str] | None = None
    ) -> TaskOutcome:
        """The agent correctly gave up (the task was infeasible) at ``stopped_at_step``."""
        return cls(
            kind="abstained",
            reason=reason,
            stopped_at_step=stopped_at_step,
            infeasibility_signals=list(infeasibility_signals or []),
        )

    @property
    def summary(self) -> str:
        """A one-line human description of the outcome."""
        if self.kind in ("success", "partial_success"):
            return f"{self.kind}: {self.verdict}"
        return f"{self.kind}: {self.reason}"


class TokenUsage(BaseModel):
    """Model token usage accumulated over an episode (from framework callbacks)."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)
    llm_calls: int = Field(default=0, ge=0)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            llm_calls=self.llm_calls + other.llm_calls,
        )


class Episode(BaseModel):
    """A recorded task run: task, context, steps, outcome and what was learned from it.

    An episode is *complete* once it has an ``outcome`` and an ``end_time``; only then is it
    scored (``reward``), reflected on (``reflection``) and mined for patterns
    (``pattern_ids``).
    """

    model_config = ConfigDict(extra="forbid")

    episode_id: UUID = Field(default_factory=new_id)
    task_type: TaskType = TaskType.OTHER
    task_description: str
    context: TaskContext = Field(default_factory=TaskContext)
    start_time: datetime = Field(default_factory=utcnow)
    end_time: datetime | None = None
    steps: list[ExecutionStep] = Field(default_factory=list)
    outcome: TaskOutcome | None = None
    reward: RewardScore | None = None
    reflection: Reflection | None = None
    pattern_ids: list[UUID] = Field(default_factory=list)
    heuristic_ids: list[UUID] = Field(default_factory=list)
    retrieved_pattern_ids: list[UUID] = Field(default_factory=list)
    followed_plan: list[str] = Field(default_factory=list)
    """Tools of the plan `recommend_plan` gave this run (when asked with its episode id)."""
    token_usage: TokenUsage | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("start_time", "end_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value)

    @property
    def is_complete(self) -> bool:
        """True once the episode has an outcome and an end time."""
        return self.outcome is not None and self.end_time is not None

    @property
    def duration_seconds(self) -> float | None:
        """Wall-clock duration, or None while the episode is running."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def successful_steps(self) -> int:
        """Number of steps with a successful result."""
        return sum(1 for step in self.steps if step.is_success)

    @property
    def failed_steps(self) -> int:
        """Number of steps without a successful result (no result counts as failed)."""
        return len(self.steps) - self.successful_steps

    @property
    def step_success_rate(self) -> float:
        """Successful steps / steps (0.0 for an episode with no steps)."""
        return self.successful_steps / len(self.steps) if self.steps else 0.0
