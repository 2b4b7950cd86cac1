"""Seed data for the web UI tests and benchmarks: a database filled through the real memory API.

Episodes are recorded, scored, reflected on and learned from by the memory itself (inline
learning), so the pages show what a real memory holds: rewards, reflections, patterns
with evidence and heuristics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
)

NAMESPACE = "ui-test"
OTHER_NAMESPACE = "ui-other"
FAMILIES = [
    ("Fix the failing login test", "web-api", ["auth", "jwt"], TaskType.DEBUGGING),
    ("Add pagination to the orders endpoint", "web-api", ["orders"], TaskType.CODE_GENERATION),
    ("Repair the nightly CSV import", "data-pipeline", ["etl", "csv"], TaskType.DEBUGGING),
    ("Write tests for the retry helper", "cli-tools", ["retry"], TaskType.TESTING),
]


@dataclass
class Seeded:
    """What the seed wrote."""

    url: str
    namespace: str = NAMESPACE
    episode_ids: list[UUID] = field(default_factory=list)
    failed_ids: list[UUID] = field(default_factory=list)
    in_flight_id: UUID | None = None
    other_ids: list[UUID] = field(default_factory=list)


def config_for(url: str) -> MemoryConfig:
    """Inline learning, no plugins from the environment, no retrieval bookkeeping."""
    return MemoryConfig.model_validate(
        {
            "database_url": url,
            "load_plugins": False,
            "learning": {"background": False},
            "retrieval": {"record_retrievals": False},
        }
    )


def _record(memory: SyncSelfLearningMemory, index: int) -> tuple[UUID, bool]:
    task, domain, tags, task_type = FAMILIES[index % len(FAMILIES)]
    ok = index % 5 != 0
    episode_id = memory.start_episode(
        f"{task} (run {index})",
        TaskContext(language="python", framework="fastapi", domain=domain, tags=tags),
        task_type,
    )
    memory.log_step(
        episode_id,
        ExecutionStep(
            tool="pytest",
            action="check if the suite passes",
            parameters={"path": f"tests/test_{index}.py", "flags": ["-x"]},
            result=ExecutionResult.error("AssertionError: expected 200, got 401 <b>bold</b>"),
            latency_ms=812.5,
        ),
    )
    memory.log_step(
        episode_id,
        ExecutionStep(
            tool="editor",
            action="fix the token check",
            result=ExecutionResult.success("patched auth.py"),
            latency_ms=95.0,
        ),
    )
    memory.log_step(
        episode_id,
        ExecutionStep(
            tool="ruff", action="lint the change", result=ExecutionResult.success("All checks")
        ),
    )
    memory.log_step(
        episode_id,
        ExecutionStep(
            tool="pytest",
            action="verify the fix",
            result=ExecutionResult.success("1 passed") if ok else ExecutionResult.timeout(),
            latency_ms=640.0,
        ),
    )
    outcome = (
        TaskOutcome.success("the test passes", artifacts=["tests/test_auth.py"])
        if ok
        else TaskOutcome.failure("verification timed out", error_details="TimeoutError")
    )
    memory.complete_episode(episode_id, outcome)
    return episode_id, ok


def seed_ui_database(url: str, count: int = 24) -> Seeded:
    """Record ``count`` episodes (every fifth fails), one in flight, and another namespace."""
    seeded = Seeded(url=url)
    config = config_for(url)
    with SyncSelfLearningMemory(config, namespace=NAMESPACE) as memory:
        for index in range(count):
            episode_id, ok = _record(memory, index)
            seeded.episode_ids.append(episode_id)
            if not ok:
                seeded.failed_ids.append(episode_id)
        seeded.in_flight_id = memory.start_episode("Refactor the settings loader")
        memory.log_step(seeded.in_flight_id, ExecutionStep(tool="grep", action="find the loader"))
        memory.flush()
    with SyncSelfLearningMemory(config, namespace=OTHER_NAMESPACE) as other:
        for index in range(2):
            seeded.other_ids.append(_record(other, index + 1)[0])
    return seeded
