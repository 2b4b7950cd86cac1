"""Cost of the episode lifecycle on a SQLite file: create, log steps, complete, read.

Rows:

* ``start_episode`` -- episode creation (validation + queueing the insert; durable within
  ``flush_interval_ms``). Target: p95 <= 100 µs.
* ``log_step`` -- appending a step (validation, numbering, queueing). Target: p95 <= 20 µs.
* ``log_step (dict)`` -- the same from a plain dict (includes building the model).
* ``complete_episode`` -- 10-step episodes: reward, reflection, flushing, storing; the
  background pattern extraction is waited for outside the timed region.
* ``get_episode (cached)`` / ``get_episode (store)`` -- a completed 10-step episode from the
  hot cache, and from the database with the cache off.
* ``sustained logging`` -- many steps logged back to back, timed from the first
  ``log_step`` to the flush that made the last one durable. Target: >= 20,000 steps/s.

    python benchmarks/lifecycle.py [--quick]
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from _bench import Row, measure, parse_args, print_table, summarize

from memory_core import (
    ExecutionResult,
    ExecutionStep,
    MemoryConfig,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
)

CONTEXT = TaskContext(language="python", framework="fastapi", domain="web-api", tags=["auth"])
STEP = ExecutionStep(
    tool="pytest",
    action="run the failing test",
    parameters={"path": "tests/test_login.py", "verbose": True},
    result=ExecutionResult.success("1 passed"),
    latency_ms=12.5,
)
STEP_DICT: dict[str, Any] = {
    "tool": "pytest",
    "action": "run the failing test",
    "parameters": {"path": "tests/test_login.py", "verbose": True},
    "result": {"kind": "success", "output": "1 passed"},
    "latency_ms": 12.5,
}


def _memory(path: Path, name: str, **overrides: object) -> SyncSelfLearningMemory:
    config = MemoryConfig(
        database_url=f"sqlite:///{path / (name + '.db')}", load_plugins=False, **overrides
    )
    return SyncSelfLearningMemory(config, namespace="bench")


def _logger(
    memory: SyncSelfLearningMemory, step: ExecutionStep | dict[str, Any], per_episode: int
) -> Callable[[], None]:
    """A call logging ``step``, moving to a fresh episode every ``per_episode`` steps."""
    counter = itertools.count()
    current = [memory.start_episode("Fix the failing login test", CONTEXT, TaskType.DEBUGGING)]

    def log() -> None:
        if next(counter) % per_episode == per_episode - 1:
            current[0] = memory.start_episode("Fix the login test", CONTEXT, TaskType.DEBUGGING)
        memory.log_step(current[0], step)

    return log


def _completed_episode(memory: SyncSelfLearningMemory, steps: int) -> UUID:
    eid = memory.start_episode("Fix the failing login test", CONTEXT, TaskType.DEBUGGING)
    for _ in range(steps):
        memory.log_step(eid, STEP)
    memory.complete_episode(eid, TaskOutcome.success("test passes"))
    return eid


def bench(quick: bool) -> list[Row]:
    n_create = 200 if quick else 5_000
    n_log = 1_000 if quick else 20_000
    n_complete = 20 if quick else 300
    n_get = 200 if quick else 5_000
    n_sustained = 5_000 if quick else 100_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        with _memory(path, "create") as memory:
            rows.append(
                measure(
                    "start_episode",
                    "-",
                    lambda: memory.start_episode("Fix the failing login test", CONTEXT),
                    n_create,
                )
            )
        with _memory(path, "log") as memory:
            rows.append(measure("log_step", "-", _logger(memory, STEP, 500), n_log))
            rows.append(measure("log_step (dict)", "-", _logger(memory, STEP_DICT, 500), n_log))

        with _memory(path, "complete") as memory:
            timings = []
            total = 0.0
            for _ in range(n_complete):
                eid = memory.start_episode("Fix the failing login test", CONTEXT)
                for _ in range(10):
                    memory.log_step(eid, STEP)
                t0 = time.perf_counter()
                memory.complete_episode(eid, TaskOutcome.success("test passes"))
                elapsed = time.perf_counter() - t0
                memory.wait_for_learning()
                timings.append(elapsed)
                total += elapsed
            rows.append(summarize("complete_episode", "10 steps", timings, total))

            ids = [_completed_episode(memory, 10) for _ in range(20)]
            memory.wait_for_learning()
            for eid in ids:
                memory.get_episode(eid)  # warm the cache
            cycle = itertools.cycle(ids)
            rows.append(
                measure(
                    "get_episode (cached)",
                    "10 steps",
                    lambda: memory.get_episode(next(cycle)),
                    n_get,
                )
            )
        with _memory(path, "complete", cache_max_episodes=0) as cold:
            cycle = itertools.cycle(ids)
            rows.append(
                measure(
                    "get_episode (store)",
                    "10 steps",
                    lambda: cold.get_episode(next(cycle)),
                    max(50, n_get // 10),
                )
            )

        with _memory(path, "sustained") as memory:
            per_episode = 1_000
            ids = [
                memory.start_episode("Fix the failing login test", CONTEXT)
                for _ in range(n_sustained // per_episode)
            ]
            memory.flush()
            flushes = memory.engine._buffer.flushes
            t0 = time.perf_counter()
            for eid in ids:
                for _ in range(per_episode):
                    memory.log_step(eid, STEP)
            memory.flush()  # the last logged step is durable when this returns
            elapsed = time.perf_counter() - t0
            batches = memory.engine._buffer.flushes - flushes
            stored = sum(len(e.steps) for e in memory.list_episodes(limit=None))
            assert stored == n_sustained, (stored, n_sustained)
            rows.append(
                Row(
                    "sustained logging",
                    f"{n_sustained:,} steps",
                    elapsed / n_sustained * 1e6,
                    elapsed / n_sustained * 1e6,
                    n_sustained / elapsed,
                    f"durable; {batches} flushes; p50/p95 = mean",
                )
            )
    return rows


def main() -> None:
    args = parse_args(__doc__ or "")
    print_table("Episode lifecycle (SQLite file)", bench(args.quick))


if __name__ == "__main__":
    main()
